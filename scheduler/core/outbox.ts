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

/**
 * A client's place in the outbox; a client keeps its box while connected. Its messages and status updates of
 * the current turn (until the next drain) are kept by the Outbox, at the positions the box holds as numbers:
 * a box never points to them. In a large cluster the boxes are old objects scattered over the heap, and every
 * young object an old one points to is a remembered-set entry that the next scavenge visits — one cache miss
 * per client that was sent something since the last scavenge, thousands of them; a number is no such entry.
 */
export interface OutboxBox {
  readonly id: string;
  /** The turn (Outbox drains) in which it was last sent a message, and where that turn's messages are. */
  msgTurn: number;
  msgAt: number;
  /** The same for status updates. */
  statusTurn: number;
  statusAt: number;
  /** Made for a send to an id that has no box (not a client): dropped at the next drain. */
  transient: boolean;
  /** Its client left (`remove`): what is sent to it now is dropped. */
  closed: boolean;
}

/** A box with nothing sent to it yet (turn 0: the Outbox's turns start at 1). */
export function emptyBox(id: string, transient: boolean): OutboxBox {
  return { id, msgTurn: 0, msgAt: 0, statusTurn: 0, statusAt: 0, transient, closed: false };
}

/** The Outbox's turn counter wraps here (a small integer), clearing every box's turns when it does. */
const LAST_TURN = 0x3fffffff;

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
  /** `lastTurn`: where the turn counter wraps (tests make it small to see the wrap). */
  constructor(private readonly lastTurn = LAST_TURN) {}

  /**
   * Each client's box, from `attach` to `remove`: a send finds it without adding to a map (the client's state
   * holds it), and a drain visits only the boxes that were sent something (`dirty`, `statusDirty`).
   */
  private readonly boxes = new Map<string, OutboxBox>();
  /** The current turn: a box whose msgTurn (statusTurn) is this has messages (statuses) at msgAt (statusAt). */
  private turn = 1;
  /** The boxes sent messages this turn, in the order of their first, and their messages (undefined: forgotten). */
  private dirty: OutboxBox[] = [];
  private dirtyMsgs: (SchedulerMessage[] | undefined)[] = [];
  /** The same for status updates. */
  private statusDirty: OutboxBox[] = [];
  private statusBufs: (StatusBuffer | undefined)[] = [];
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
    return this.adopt(emptyBox(clientId, false));
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
      if (before.msgTurn === this.turn) {
        box.msgTurn = this.turn;
        box.msgAt = before.msgAt;
        this.dirty[before.msgAt] = box;
      }
      if (before.statusTurn === this.turn) {
        box.statusTurn = this.turn;
        box.statusAt = before.statusAt;
        this.statusDirty[before.statusAt] = box;
      }
      before.msgTurn = before.statusTurn = 0;
      before.closed = true;
    }
    this.boxes.set(box.id, box);
    return box;
  }

  private box(clientId: string): OutboxBox {
    let box = this.boxes.get(clientId);
    if (!box) this.boxes.set(clientId, (box = emptyBox(clientId, true)));
    return box;
  }

  send(clientId: string, msg: SchedulerMessage): void {
    this.sendTo(this.box(clientId), msg);
  }

  /** `send` to a client whose box is at hand (its state holds it: no lookup by id on the hot paths). */
  sendTo(box: OutboxBox, msg: SchedulerMessage): void {
    const msgs = box.msgTurn === this.turn ? this.dirtyMsgs[box.msgAt] : undefined;
    if (msgs !== undefined) msgs.push(msg);
    else if (box.closed) return;
    else {
      box.msgTurn = this.turn;
      box.msgAt = this.dirty.length;
      this.dirty.push(box);
      this.dirtyMsgs.push([msg]);
    }
  }

  /** A status update for the client of `box` (its state holds it: no lookup by id). */
  sendStatus(box: OutboxBox, key: string, s: FutureStatus, e: ErrorInfo | undefined): void {
    let buf = box.statusTurn === this.turn ? this.statusBufs[box.statusAt] : undefined;
    if (!buf) {
      if (box.closed) return;
      buf = { keys: [], s: [], e: undefined };
      box.statusTurn = this.turn;
      box.statusAt = this.statusDirty.length;
      this.statusDirty.push(box);
      this.statusBufs.push(buf);
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
    if (box.msgTurn === this.turn) this.dirtyMsgs[box.msgAt] = undefined;
    if (box.statusTurn === this.turn) this.statusBufs[box.statusAt] = undefined;
    box.msgTurn = box.statusTurn = 0;
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
      const statusBufs = this.statusBufs;
      this.statusDirty = [];
      this.statusBufs = [];
      // Clients that hold the same futures get the same updates, in the same order (a task's status change
      // goes to every client that wants it): one message is made for consecutive equal buffers and marked
      // shared, so a WebSocket transport encodes it once for all of them.
      let last: { buf: StatusBuffer; msg: SchedulerMessage; copies: number } | undefined;
      for (let i = 0; i < statusDirty.length; i++) {
        const buf = statusBufs[i];
        if (!buf) continue;
        const box = statusDirty[i];
        box.statusTurn = 0;
        // Not a client's (a transient box: sent to an id that is not connected): nobody to tell.
        if (box.transient) {
          if (box.msgTurn !== this.turn) this.boxes.delete(box.id);
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
    if (this.dirty.length === 0) {
      this.nextTurn();
      return NO_MESSAGES;
    }
    const pairs: [string, SchedulerMessage[]][] = [];
    const dirty = this.dirty;
    const dirtyMsgs = this.dirtyMsgs;
    this.dirty = [];
    this.dirtyMsgs = [];
    this.nextTurn();
    for (let i = 0; i < dirty.length; i++) {
      const msgs = dirtyMsgs[i];
      if (!msgs) continue;
      const box = dirty[i];
      pairs.push([box.id, msgs]);
      if (box.transient) this.boxes.delete(box.id);
    }
    return new DrainedMessages(pairs);
  }

  /** Every box's messages of the turn were taken: what is sent now starts anew. */
  private nextTurn(): void {
    if (this.turn < this.lastTurn) {
      this.turn++;
      return;
    }
    // Once in 2^30 drains: no box may take a turn of long ago for the current one.
    for (const box of this.boxes.values()) box.msgTurn = box.statusTurn = 0;
    this.turn = 1;
  }
}
