/**
 * What the core knows of each client, and its interest in keys: a want-count per key (one per submit, want,
 * scatter item or channel delivery, less what the client released). A key's `wanters` lists the clients whose
 * count is above zero; the TaskMachine forgets a key once no client, channel slot or dependent holds it.
 */
import type { ErrorInfo } from '../protocol/errors';
import type { OutboxBox } from './outbox';
import { dependentsOf, type TaskRecord } from './tasks';

/**
 * A connected client. It is its own outbox box (OutboxBox: the messages waiting for the next drain), so that a
 * message, a status update or a delivery to it touches this one object, not a second one it would point to.
 */
export interface ClientState extends OutboxBox {
  /** This client's want-count of each key it wants (always > 0). */
  wants: Wants;
  channels: Set<string>;
  /**
   * Channels where an append of this client was refused since its last flush, with the reason; made when the
   * first is (most clients never have one: an idle client costs no table, a flush looks at one field).
   */
  refused: Map<string, ErrorInfo> | undefined;
  /** Channels deleted while this client was subscribed (made at the first): a resuming subscription must not bring them back. */
  deleted: Set<string> | undefined;
  observer: boolean;
}

/**
 * A client's want-counts. Most keys are wanted by one client only (a `map`'s 100,000 tasks by the client that
 * submitted them): the first client to want a key that nobody wants keeps its count on the key's record
 * (`wantOwner`, `wantN`), and the record joins this client's list of owned records — no entry in a table
 * of 100,000 keys to add, look up and delete per task. A client wanting a key someone else owns keeps its
 * count here, by key (`shared`); the owner's count stays on the record until it drops to zero.
 */
export class Wants {
  /** Counts of keys whose record another client owns (or owned when this client began to want them). */
  readonly shared = new Map<string, number>();
  /** The records this client owns, newest first, linked through `ownNext`/`ownPrev`. */
  first: TaskRecord | undefined;
  owned = 0;

  /** How many keys this client wants. */
  get size(): number {
    return this.owned + this.shared.size;
  }

  /** Every key this client wants. */
  keys(): string[] {
    const out: string[] = [];
    for (let t = this.first; t !== undefined; t = t.ownNext) out.push(t.key);
    for (const k of this.shared.keys()) out.push(k);
    return out;
  }

  /** The count of `key` (undefined when this client does not want it); walks the owned records: not for a hot path. */
  get(key: string): number | undefined {
    for (let t = this.first; t !== undefined; t = t.ownNext) if (t.key === key) return t.wantN;
    return this.shared.get(key);
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }
}

/** The state of a client that connects; the Outbox adopts it as the client's box (`Outbox.adopt`). */
export function newClientState(id: string): ClientState {
  // The box's fields first: every message to the client reads them.
  return { id, msgTurn: 0, msgAt: 0, statusTurn: 0, statusAt: 0, transient: false, closed: false, refused: undefined, wants: new Wants(), channels: new Set(), deleted: undefined, observer: false };
}

/** `c`'s want-count of `t` (0 when it does not want it). */
export function wantCount(c: ClientState, t: TaskRecord): number {
  return t.wantOwner === c ? t.wantN : (c.wants.shared.get(t.key) ?? 0);
}

/** One more want of `t` by `c`. */
export function addWant(c: ClientState, t: TaskRecord): void {
  const owner = t.wantOwner;
  if (owner === c) {
    t.wantN++;
    return;
  }
  if (owner === undefined && t.wanters === undefined) {
    // Nobody wants it (nearly always a new key): the count goes on the record.
    own(c, t, 1);
    t.wanters = c;
    return;
  }
  const shared = c.wants.shared;
  const n = shared.get(t.key) ?? 0;
  shared.set(t.key, n + 1);
  if (n === 0) addWanter(t, c);
}

/**
 * Takes `n` off `c`'s want-count of `key` (Infinity: all of it). Returns the record when this was the client's
 * last want of it (the caller makes it a collect candidate).
 */
export function dropWant(c: ClientState, key: string, n: number, tasks: ReadonlyMap<string, TaskRecord>): TaskRecord | undefined {
  const t = tasks.get(key);
  if (t !== undefined && t.wantOwner === c) {
    if (!(n > 0)) return undefined;
    if (t.wantN > n) {
      t.wantN -= n;
      return undefined;
    }
    disown(c, t);
    return removeWanter(t, c) ? t : undefined;
  }
  const shared = c.wants.shared;
  const had = shared.get(key);
  if (had === undefined || !(n > 0)) return undefined;
  if (had > n) {
    shared.set(key, had - n);
    return undefined;
  }
  shared.delete(key);
  return t && removeWanter(t, c) ? t : undefined;
}

/** Sets `c`'s want-count of `t` to exactly `n` (> 0): a resynchronising client says what it holds. */
export function setWant(c: ClientState, t: TaskRecord, n: number): void {
  if (t.wantOwner === c) {
    t.wantN = n;
    return;
  }
  if (t.wantOwner === undefined && t.wanters === undefined) {
    own(c, t, n);
    t.wanters = c;
    return;
  }
  const shared = c.wants.shared;
  const had = shared.get(t.key) ?? 0;
  shared.set(t.key, n);
  if (had === 0) addWanter(t, c);
}

/** `c` keeps its count of `t` (`n`) on the record. */
function own(c: ClientState, t: TaskRecord, n: number): void {
  const w = c.wants;
  t.wantOwner = c;
  t.wantN = n;
  t.ownPrev = undefined;
  t.ownNext = w.first;
  if (w.first !== undefined) w.first.ownPrev = t;
  w.first = t;
  w.owned++;
}

/** `c`'s count of `t` (on the record) dropped to zero. */
function disown(c: ClientState, t: TaskRecord): void {
  const w = c.wants;
  const { ownPrev: prev, ownNext: next } = t;
  if (prev === undefined) w.first = next;
  else prev.ownNext = next;
  if (next !== undefined) next.ownPrev = prev;
  t.ownPrev = t.ownNext = undefined;
  t.wantOwner = undefined;
  t.wantN = 0;
  w.owned--;
}

/**
 * Whether anyone but client `c` holds `t`: another client, a channel slot, or an unfinished dependent that
 * someone else holds (dependents only this client wants are cancelled with it, as in Dask).
 */
export function heldByOthers(t: TaskRecord, c: ClientState, seen = new Set<TaskRecord>()): boolean {
  if (seen.has(t)) return false;
  seen.add(t);
  if (t.channelRefs > 0) return true;
  const w = t.wanters;
  if (w !== undefined && (w instanceof Set ? w.size > 1 || !w.has(c) : w !== c)) return true;
  for (const d of dependentsOf(t)) {
    const active = d.state === 'released' || d.state === 'waiting' || d.state === 'queued' || d.state === 'processing';
    if (active && heldByOthers(d, c, seen)) return true;
  }
  return false;
}

function addWanter(t: TaskRecord, c: ClientState): void {
  const w = t.wanters;
  if (w === undefined) t.wanters = c;
  else if (w instanceof Set) w.add(c);
  else if (w !== c) t.wanters = new Set([w, c]);
}

/** Removes `c` from the wanters of `t`; true when it was there. */
function removeWanter(t: TaskRecord, c: ClientState): boolean {
  const w = t.wanters;
  if (w === undefined) return false;
  if (!(w instanceof Set)) {
    if (w !== c) return false;
    t.wanters = undefined;
    return true;
  }
  if (!w.delete(c)) return false;
  if (w.size === 1) t.wanters = w.values().next().value as ClientState;
  else if (w.size === 0) t.wanters = undefined;
  return true;
}
