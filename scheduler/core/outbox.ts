/**
 * Messages the core produces, per client, until the server takes them (`drain`) after a stimulus. Status
 * updates are gathered per client into one `status` message that goes after the others; observers (the
 * sidebar, the dashboard) receive scheduler events, with one entry per channel however often it changed.
 * One message may be queued for many clients (an append goes to every subscriber of the channel): nothing
 * mutates a message once queued, and transports copy (clone or serialise) what they send.
 */
import type { ErrorInfo } from '../protocol/errors';
import type { FutureStatus, SchedulerEvent, SchedulerMessage } from '../protocol/messages';

/** The mark of a message queued for several clients that a transport may encode once (wire/codec.ts SHARED_MESSAGE). */
const SHARED = Symbol.for('shared-futures.shared-message');

/** Whether two status buffers say the same (same keys, statuses and errors, in the same order). */
function sameStatus(a: StatusBuffer, b: StatusBuffer): boolean {
  if (a.keys.length !== b.keys.length || (a.e === undefined) !== (b.e === undefined)) return false;
  for (let i = 0; i < a.keys.length; i++) {
    if (a.keys[i] !== b.keys[i] || a.s[i] !== b.s[i]) return false;
    if (a.e && b.e && a.e[i] !== b.e[i]) return false;
  }
  return true;
}

interface StatusBuffer {
  keys: string[];
  s: FutureStatus[];
  e: (ErrorInfo | null)[] | undefined;
}

/** One client's messages and status updates between two drains; a client keeps its box while connected. */
export interface OutboxBox {
  readonly id: string;
  msgs: SchedulerMessage[] | undefined;
  status: StatusBuffer | undefined;
  /** Made for a send to an id that has no box (not a client): dropped at the next drain. */
  transient: boolean;
  /** Its client left (`remove`): what is sent to it now is dropped. */
  closed: boolean;
}

/**
 * What one drain took: each client's messages, in the order the clients were first sent something. A list,
 * read as a map: the server only walks it, and a Map built afresh at every drain costs several times more per
 * client once thousands of clients hear of one append.
 */
export class DrainedMessages implements ReadonlyMap<string, SchedulerMessage[]> {
  private index: Map<string, SchedulerMessage[]> | undefined;

  constructor(private readonly pairs: [string, SchedulerMessage[]][]) {}

  get size(): number {
    return this.pairs.length;
  }

  get(clientId: string): SchedulerMessage[] | undefined {
    if (this.pairs.length <= 8) return this.pairs.find((p) => p[0] === clientId)?.[1];
    this.index ??= new Map(this.pairs);
    return this.index.get(clientId);
  }

  has(clientId: string): boolean {
    return this.get(clientId) !== undefined;
  }

  forEach(fn: (msgs: SchedulerMessage[], clientId: string, map: ReadonlyMap<string, SchedulerMessage[]>) => void, thisArg?: unknown): void {
    for (const [id, msgs] of this.pairs) fn.call(thisArg, msgs, id, this);
  }

  entries(): MapIterator<[string, SchedulerMessage[]]> {
    return this.pairs.values();
  }

  keys(): MapIterator<string> {
    return this.pairs.map((p) => p[0]).values();
  }

  values(): MapIterator<SchedulerMessage[]> {
    return this.pairs.map((p) => p[1]).values();
  }

  [Symbol.iterator](): MapIterator<[string, SchedulerMessage[]]> {
    return this.pairs.values();
  }
}

/** What a drain that found nothing returns (it holds no pairs: nothing can be added to it). */
const NO_MESSAGES = new DrainedMessages([]);

export class Outbox {
  /**
   * Each client's box, from `attach` to `remove`: a send finds it without adding to a map (the client's state
   * holds it), and a drain visits only the boxes that were sent something (`dirty`, `statusDirty`).
   */
  private readonly boxes = new Map<string, OutboxBox>();
  private dirty: OutboxBox[] = [];
  private statusDirty: OutboxBox[] = [];
  private events: SchedulerEvent[] = [];
  private channelEvents = new Map<string, SchedulerEvent>();
  /** The boxes of clients that asked for events; nothing is recorded for observers while there are none. */
  private readonly observerBoxes = new Set<OutboxBox>();
  get observers(): number {
    return this.observerBoxes.size;
  }

  /** The client of `box` starts (`on`) or stops receiving scheduler events. */
  observe(box: OutboxBox, on: boolean): void {
    if (on && !box.closed) this.observerBoxes.add(box);
    else this.observerBoxes.delete(box);
  }

  /** A box for a client that connected (kept until `remove`). */
  attach(clientId: string): OutboxBox {
    return this.adopt({ id: clientId, msgs: undefined, status: undefined, transient: false, closed: false });
  }

  /**
   * `box` becomes the box of its client, kept until `remove` (the core's client state is its own box: a send to a
   * client touches one object). What was sent to the id before it connected (a box made for the send) moves to it.
   */
  adopt<B extends OutboxBox>(box: B): B {
    const before = this.boxes.get(box.id);
    box.transient = false;
    box.closed = false;
    if (before !== undefined && before !== box) {
      if (before.msgs) {
        box.msgs = before.msgs;
        this.dirty[this.dirty.indexOf(before)] = box;
      }
      if (before.status) {
        box.status = before.status;
        this.statusDirty[this.statusDirty.indexOf(before)] = box;
      }
      before.msgs = undefined;
      before.status = undefined;
      before.closed = true;
    }
    this.boxes.set(box.id, box);
    return box;
  }

  private box(clientId: string): OutboxBox {
    let box = this.boxes.get(clientId);
    if (!box) this.boxes.set(clientId, (box = { id: clientId, msgs: undefined, status: undefined, transient: true, closed: false }));
    return box;
  }

  send(clientId: string, msg: SchedulerMessage): void {
    this.sendTo(this.box(clientId), msg);
  }

  /** `send` to a client whose box is at hand (its state holds it: no lookup by id on the hot paths). */
  sendTo(box: OutboxBox, msg: SchedulerMessage): void {
    if (box.msgs) box.msgs.push(msg);
    else if (box.closed) return;
    else {
      box.msgs = [msg];
      this.dirty.push(box);
    }
  }

  /** A status update for the client of `box` (its state holds it: no lookup by id). */
  sendStatus(box: OutboxBox, key: string, s: FutureStatus, e: ErrorInfo | undefined): void {
    let buf = box.status;
    if (!buf) {
      if (box.closed) return;
      box.status = buf = { keys: [], s: [], e: undefined };
      this.statusDirty.push(box);
    }
    if (e && !buf.e) buf.e = buf.keys.map(() => null);
    buf.keys.push(key);
    buf.s.push(s);
    if (buf.e) buf.e.push(e ?? null);
  }

  event(e: SchedulerEvent): void {
    if (this.observers > 0) this.events.push(e);
  }

  /** The latest state of a channel for observers (replaces an earlier one of the same tick). */
  channelEvent(name: string, e: SchedulerEvent): void {
    if (this.observers > 0) this.channelEvents.set(name, e);
  }

  /** Drops what was queued for a client that starts over: what it is sent next comes after the others'. */
  forget(clientId: string): void {
    const box = this.boxes.get(clientId);
    if (!box) return;
    if (box.msgs) this.dirty.splice(this.dirty.indexOf(box), 1);
    if (box.status) this.statusDirty.splice(this.statusDirty.indexOf(box), 1);
    box.msgs = undefined;
    box.status = undefined;
  }

  /** A client left: what was queued for it is dropped, with its box (closed: later sends to it are dropped). */
  remove(clientId: string): void {
    const box = this.boxes.get(clientId);
    this.forget(clientId);
    this.boxes.delete(clientId);
    if (box) {
      box.closed = true;
      this.observerBoxes.delete(box);
    }
  }

  /** Takes every message produced since the last call, per client; status updates go last. */
  drain(): DrainedMessages {
    if (this.statusDirty.length > 0) {
      const statusDirty = this.statusDirty;
      this.statusDirty = [];
      // Clients that hold the same futures get the same updates, in the same order (a task's status change
      // goes to every client that wants it): one message is made for consecutive equal buffers and marked
      // shared, so a WebSocket transport encodes it once for all of them.
      let last: { buf: StatusBuffer; msg: SchedulerMessage; copies: number } | undefined;
      for (const box of statusDirty) {
        const buf = box.status;
        if (!buf) continue;
        box.status = undefined;
        // Not a client's (a transient box: sent to an id that is not connected): nobody to tell.
        if (box.transient) {
          if (!box.msgs) this.boxes.delete(box.id);
          continue;
        }
        if (last && sameStatus(last.buf, buf)) {
          if (last.copies++ === 1) Object.defineProperty(last.msg, SHARED, { value: true });
          this.sendTo(box, last.msg);
          continue;
        }
        const msg: SchedulerMessage = buf.e ? { op: 'status', keys: buf.keys, s: buf.s, e: buf.e } : { op: 'status', keys: buf.keys, s: buf.s };
        last = { buf, msg, copies: 1 };
        this.sendTo(box, msg);
      }
    }
    if (this.observers > 0 && (this.events.length > 0 || this.channelEvents.size > 0)) {
      const events = [...this.events, ...this.channelEvents.values()];
      // The observers only: a drain must not cost a visit to every client.
      for (const box of this.observerBoxes) this.sendTo(box, { op: 'events', events });
    }
    if (this.events.length > 0) this.events = [];
    if (this.channelEvents.size > 0) this.channelEvents.clear();
    // Nothing for anyone (a worker's outcome that changed no wanted status): nothing is allocated.
    if (this.dirty.length === 0) return NO_MESSAGES;
    const pairs: [string, SchedulerMessage[]][] = [];
    for (const box of this.dirty) {
      if (!box.msgs) continue;
      pairs.push([box.id, box.msgs]);
      box.msgs = undefined;
      if (box.transient) this.boxes.delete(box.id);
    }
    this.dirty = [];
    return new DrainedMessages(pairs);
  }
}
