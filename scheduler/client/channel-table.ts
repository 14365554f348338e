/**
 * The channels a client has open: opening (one Channel per name), the scheduler's channel messages routed
 * to them, and their subscriptions renewed after a reconnect. It is the Channel's host.
 */
import { InvalidArgumentError } from '../protocol/errors';
import { MAX_CHANNEL_NAME, type ClientMessage, type SchedulerMessage, type WireItem } from '../protocol/messages';
import { Channel, type ChannelHost } from './channel';
import type { Connection } from './connection';
import type { Future, FutureState } from './future';
import type { FutureRegistry } from './future-registry';
import { describeType } from './options';
import type { RequestMessage } from './requests';

/** Options of `client.channel`. */
export interface ChannelOptions {
  maxlen?: number | null;
  create?: boolean;
}

type ChannelMessage = Extract<SchedulerMessage, { op: 'items' | 'replay' | 'chan-stop' | 'chan-deleted' }>;

export class ChannelTable implements ChannelHost {
  private readonly chans = new Map<string, Channel>();

  constructor(
    private readonly conn: Connection,
    private readonly futures: FutureRegistry,
  ) {}

  /** The open channel `name`, or a new subscription to it. */
  open(name: string, opts: ChannelOptions): Channel {
    if (typeof name !== 'string') throw new InvalidArgumentError(`a channel name must be a string, got ${describeType(name)}`);
    if (name.length === 0) throw new InvalidArgumentError('a channel name must not be empty');
    if (name.length > MAX_CHANNEL_NAME) throw new InvalidArgumentError(`a channel name is at most ${MAX_CHANNEL_NAME} characters, got ${name.length}`);
    const maxlen = opts?.maxlen ?? null;
    if (maxlen !== null && (typeof maxlen !== 'number' || !Number.isInteger(maxlen) || maxlen < 1)) {
      throw new InvalidArgumentError(`maxlen must be a positive integer (or null for unbounded), got ${String(maxlen)}`);
    }
    const open = this.chans.get(name);
    if (open) return open;
    const chan = new Channel(this, name, maxlen);
    chan.observeOnly = opts?.create === false;
    this.chans.set(name, chan);
    this.conn.post(opts?.create === false ? { op: 'sub', channel: name, maxlen, create: false } : { op: 'sub', channel: name, maxlen });
    return chan;
  }

  receive(msg: ChannelMessage): void {
    switch (msg.op) {
      case 'items':
        this.chans.get(msg.channel)?.receiveItems(msg.start, msg.items);
        break;
      case 'replay':
        this.chans.get(msg.channel)?.receiveReplay(msg.start, msg.items, msg.stopped, msg.maxlen, msg.epoch);
        break;
      case 'chan-stop':
        this.chans.get(msg.channel)?.receiveStop();
        break;
      case 'chan-deleted': {
        const chan = this.chans.get(msg.channel);
        this.chans.delete(msg.channel);
        chan?.receiveDeleted();
        break;
      }
    }
  }

  /**
   * After a reconnect: every channel resumes after the last item this client saw, in the incarnation it
   * followed, so a channel deleted meanwhile stays deleted.
   */
  resubscriptions(): ClientMessage[] {
    const out: ClientMessage[] = [];
    for (const chan of this.chans.values()) {
      const where = chan.epoch !== undefined ? { from: chan.count, epoch: chan.epoch } : {};
      out.push({ op: 'sub', channel: chan.name, maxlen: chan.requestedMaxlen, resume: true, ...where, ...(chan.observeOnly ? { create: false } : {}) });
    }
    return out;
  }

  /** The client closed: iterations end, or throw `lost`. */
  closeAll(lost: Error | undefined): void {
    for (const chan of this.chans.values()) chan.clientClosed(lost);
  }

  // ------------------------------------------------------------ ChannelHost

  get closed(): boolean {
    return this.conn.closed;
  }

  hold(): () => void {
    return this.conn.hold();
  }

  postAppend(channel: string, item: WireItem): void {
    this.conn.outbox.append(channel, item);
  }

  request(msg: Extract<RequestMessage, { op: 'flush' | 'stop' | 'delete' }>): Promise<unknown> {
    return this.conn.request(msg);
  }

  unsubscribe(channel: Channel): void {
    if (this.chans.get(channel.name) !== channel) return;
    this.chans.delete(channel.name);
    if (!this.conn.closed) this.conn.post({ op: 'unsub', channel: channel.name });
  }

  adoptItem(item: WireItem): FutureState | undefined {
    return this.futures.adoptItem(item);
  }

  dropItem(state: FutureState): void {
    this.futures.releaseHandle(state);
  }

  ownedFuture(state: FutureState): Future {
    return this.futures.ownedFuture(state);
  }
}
