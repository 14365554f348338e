/**
 * The scheduler's channels: one linearized log per name, each item a TaskRecord (a future: the slot holds the
 * key) or a value. Subscribing replays the retained window; an append reaches every subscriber once, in log
 * order; eviction past `maxlen` and `delete` give back the slots' holds. Each incarnation of a name has an
 * epoch, and a client is told of deletions it may have missed, so a resuming subscription never brings a
 * deleted channel back.
 */
import type { ChannelInfo, SchedulerMessage, WireItem } from '../protocol/messages';
import { ChannelLog } from './channel-log';
import { addWant, type ClientState } from './clients';
import type { Outbox } from './outbox';
import type { TaskMachine } from './task-machine';
import { TaskRecord } from './tasks';
import { publicStatus } from './transitions';

/** A channel item on the wire: a future with its status, or the value. */
function wireOf(item: unknown): WireItem {
  if (item instanceof TaskRecord) {
    const s = publicStatus(item.state);
    return item.error ? { k: item.key, s, e: item.error } : { k: item.key, s };
  }
  return { v: item };
}

export interface SubscribeRequest {
  name: string;
  maxlen: number | null;
  /** Log position to start from (a resuming client: just after the last item it saw). */
  from: number | undefined;
  /** False for observers: a missing channel is not made (nor its maxlen fixed). */
  create: boolean;
  resume: boolean;
  /** The incarnation the resuming client knew. */
  epoch: number | undefined;
}

export class Channels {
  readonly logs = new Map<string, ChannelLog>();
  private epochs = 0;

  constructor(
    private readonly machine: TaskMachine,
    private readonly outbox: Outbox,
  ) {}

  subscribe(c: ClientState, req: SubscribeRequest): void {
    const { name, maxlen, from, resume, epoch } = req;
    let ch = this.logs.get(name);
    const deletedMeanwhile = resume && (c.deleted?.has(name) === true || (epoch !== undefined && ch?.epoch !== epoch));
    if (!resume) c.deleted?.delete(name);
    if (deletedMeanwhile || (!ch && !req.create)) {
      // Resuming a channel that was deleted meanwhile (perhaps made again: another incarnation), or an
      // observer that must not bring back a deleted channel nor fix its maxlen: it is gone for them.
      c.deleted?.delete(name);
      this.outbox.sendTo(c, { op: 'chan-deleted', channel: name });
      return;
    }
    if (!ch) {
      ch = new ChannelLog(name, ++this.epochs, maxlen);
      this.logs.set(name, ch);
      this.changed(ch);
    }
    ch.subscribers.set(c.id, c);
    c.channels.add(name);
    const first = ch.count - ch.items.length;
    const start = typeof from === 'number' && from > first ? Math.min(from, ch.count) : first;
    const items: WireItem[] = [];
    for (let i = start - first; i < ch.items.length; i++) items.push(this.wireItem(c, ch.items.at(i)));
    this.outbox.sendTo(c, { op: 'replay', channel: name, start, items, stopped: ch.stopped, maxlen: ch.maxlen, epoch: ch.epoch });
  }

  unsubscribe(c: ClientState, name: string): void {
    c.channels.delete(name);
    this.logs.get(name)?.subscribers.delete(c.id);
  }

  /** `epoch`: the incarnation the appending handle knows (a handle of a deleted incarnation never reaches a newer one). */
  append(c: ClientState, name: string, items: WireItem[], epoch?: number): void {
    const ch = this.current(name, epoch);
    if (!ch || ch.stopped) {
      (c.refused ??= new Map()).set(name, ch
        ? { name: 'ChannelStoppedError', message: `channel '${name}' is stopped: no more appends are accepted`, code: 'ERR_CHANNEL_STOPPED', channel: name }
        : { name: 'ChannelDeletedError', message: `channel '${name}' was deleted`, code: 'ERR_CHANNEL_DELETED', channel: name });
      return;
    }
    const start = ch.count;
    const accepted: unknown[] = [];
    for (const item of items) {
      // protocol/validation.ts let through only futures {k: key} and values {v}.
      if ('k' in item && typeof item.k === 'string') {
        const key = item.k;
        const t = this.machine.tasks.get(key);
        if (!t) {
          (c.refused ??= new Map()).set(name, { name: 'FutureReleasedError', message: `future ${key} was released before it was appended to '${name}'`, code: 'ERR_FUTURE_RELEASED', key, channel: name });
          continue;
        }
        t.channelRefs++;
        accepted.push(t);
      } else {
        accepted.push((item as { v: unknown }).v);
      }
    }
    if (accepted.length === 0) return;
    for (const a of accepted) {
      if (a instanceof TaskRecord) ch.futures++;
      ch.items.push(a);
      ch.count++;
      while (ch.maxlen !== null && ch.items.length > ch.maxlen) this.evict(ch);
    }
    // Items evicted within this same append are still delivered: every subscriber sees every append once.
    // One message for all of them (what a subscriber receives does not depend on who it is; transports copy
    // what they send): per subscriber only its wants of the futures are counted.
    const futures = accepted.filter((a): a is TaskRecord => a instanceof TaskRecord);
    const msg: SchedulerMessage = { op: 'items', channel: name, start, items: accepted.map(wireOf) };
    // Marked shared (wire/codec.ts SHARED_MESSAGE, not enumerable): a WebSocket transport encodes it once for every subscriber.
    if (ch.subscribers.size > 1) Object.defineProperty(msg, Symbol.for('shared-futures.shared-message'), { value: true });
    // The appender, when it is subscribed, is sent to last: it knows what it appended, the others are waiting
    // to hear of it (a transport writes its connections in the order the core sent to them).
    let appenderSubscribed = false;
    for (const sc of ch.subscribers.values()) {
      if (sc !== c) deliverItems(sc, futures, msg, this.outbox);
      else appenderSubscribed = true;
    }
    if (appenderSubscribed) deliverItems(c, futures, msg, this.outbox);
    this.changed(ch);
  }

  /** Stops incarnation `epoch` of the channel (the current one when undefined); another incarnation is left alone. */
  stop(name: string, epoch?: number): void {
    const ch = this.current(name, epoch);
    if (!ch || ch.stopped) return;
    ch.stopped = true;
    for (const sc of ch.subscribers.values()) this.outbox.sendTo(sc, { op: 'chan-stop', channel: name });
    this.changed(ch);
  }

  /** Deletes incarnation `epoch` of the channel (the current one when undefined); another incarnation is left alone. */
  delete(name: string, epoch?: number): void {
    const ch = this.current(name, epoch);
    if (!ch) return;
    this.logs.delete(name);
    while (ch.items.length > 0) this.evict(ch);
    for (const sc of ch.subscribers.values()) {
      sc.channels.delete(name);
      // Noted in case the message is lost with a dropped connection: the client's resume is answered the same.
      (sc.deleted ??= new Set()).add(name);
      this.outbox.sendTo(sc, { op: 'chan-deleted', channel: name });
    }
    this.outbox.channelEvent(name, { type: 'channel', name, count: ch.count, length: 0, maxlen: ch.maxlen, stopped: true, deleted: true });
  }

  /** The channel's log if it is incarnation `epoch` (any when undefined: the sender had not learnt it yet). */
  private current(name: string, epoch: number | undefined): ChannelLog | undefined {
    const ch = this.logs.get(name);
    return ch !== undefined && (epoch === undefined || ch.epoch === epoch) ? ch : undefined;
  }

  infos(): ChannelInfo[] {
    return [...this.logs.values()].map((ch) => ({ name: ch.name, count: ch.count, length: ch.items.length, maxlen: ch.maxlen, stopped: ch.stopped }));
  }

  private evict(ch: ChannelLog): void {
    const old = ch.items.shift();
    // A log that holds no future (most hold values only) need not look at what it evicts: in a large
    // cluster that look is a cache miss on an item appended long ago.
    if (ch.futures > 0 && old instanceof TaskRecord) {
      ch.futures--;
      old.channelRefs--;
      this.machine.candidate(old);
    }
  }

  /** A channel item as sent to client `c`: a future carries its status, and counts as one want of `c`. */
  private wireItem(c: ClientState, item: unknown): WireItem {
    if (item instanceof TaskRecord) addWant(c, item);
    return wireOf(item);
  }

  private changed(ch: ChannelLog): void {
    if (this.outbox.observers === 0) return;
    this.outbox.channelEvent(ch.name, { type: 'channel', name: ch.name, count: ch.count, length: ch.items.length, maxlen: ch.maxlen, stopped: ch.stopped });
  }
}

/** One subscriber hears of an append: it comes to want each appended future, and is sent the items. */
function deliverItems(sc: ClientState, futures: readonly TaskRecord[], msg: SchedulerMessage, outbox: Outbox): void {
  for (const t of futures) addWant(sc, t);
  outbox.sendTo(sc, msg);
}
