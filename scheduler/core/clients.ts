/**
 * What the core knows of each client, and its interest in keys: a want-count per key (one per submit, want,
 * scatter item or channel delivery, less what the client released). A key's `wanters` lists the clients whose
 * count is above zero; the TaskMachine forgets a key once no client, channel slot or dependent holds it.
 */
import type { ErrorInfo } from '../protocol/errors';
import type { OutboxBox } from './outbox';
import type { TaskRecord } from './tasks';

export interface ClientState {
  id: string;
  /** This client's want-count of each key it wants (always > 0). */
  wants: Map<string, number>;
  channels: Set<string>;
  /** Channels where an append of this client was refused since its last flush, with the reason. */
  refused: Map<string, ErrorInfo>;
  /** Channels deleted while this client was subscribed: a resuming subscription must not bring them back. */
  deleted: Set<string>;
  observer: boolean;
  /** Where its messages wait for the next drain (a delivery to thousands of subscribers looks none up). */
  box: OutboxBox;
}

export function newClientState(id: string, box: OutboxBox): ClientState {
  return { id, wants: new Map(), channels: new Set(), refused: new Map(), deleted: new Set(), observer: false, box };
}

/** One more want of `t` by `c`. */
export function addWant(c: ClientState, t: TaskRecord): void {
  const n = c.wants.get(t.key) ?? 0;
  c.wants.set(t.key, n + 1);
  if (n === 0) addWanter(t, c.id);
}

/**
 * Takes `n` off `c`'s want-count of `key` (Infinity: all of it). Returns the record when this was the client's
 * last want of it (the caller makes it a collect candidate).
 */
export function dropWant(c: ClientState, key: string, n: number, tasks: ReadonlyMap<string, TaskRecord>): TaskRecord | undefined {
  const had = c.wants.get(key);
  if (had === undefined || !(n > 0)) return undefined;
  if (had > n) {
    c.wants.set(key, had - n);
    return undefined;
  }
  c.wants.delete(key);
  const t = tasks.get(key);
  return t && removeWanter(t, c.id) ? t : undefined;
}

/** Sets `c`'s want-count of `t` to exactly `n` (> 0): a resynchronising client says what it holds. */
export function setWant(c: ClientState, t: TaskRecord, n: number): void {
  const had = c.wants.get(t.key) ?? 0;
  c.wants.set(t.key, n);
  if (had === 0) addWanter(t, c.id);
}

/**
 * Whether anyone but client `id` holds `t`: another client, a channel slot, or an unfinished dependent that
 * someone else holds (dependents only this client wants are cancelled with it, as in Dask).
 */
export function heldByOthers(t: TaskRecord, id: string, seen = new Set<TaskRecord>()): boolean {
  if (seen.has(t)) return false;
  seen.add(t);
  if (t.channelRefs > 0) return true;
  if (t.wanters !== undefined && (typeof t.wanters === 'string' ? t.wanters !== id : t.wanters.size > 1 || !t.wanters.has(id))) return true;
  if (t.dependents) {
    for (const d of t.dependents) {
      const active = d.state === 'released' || d.state === 'waiting' || d.state === 'queued' || d.state === 'processing';
      if (active && heldByOthers(d, id, seen)) return true;
    }
  }
  return false;
}

function addWanter(t: TaskRecord, id: string): void {
  const w = t.wanters;
  if (w === undefined) t.wanters = id;
  else if (typeof w === 'string') {
    if (w !== id) t.wanters = new Set([w, id]);
  } else w.add(id);
}

/** Removes `id` from the wanters of `t`; true when it was there. */
function removeWanter(t: TaskRecord, id: string): boolean {
  const w = t.wanters;
  if (w === undefined) return false;
  if (typeof w === 'string') {
    if (w !== id) return false;
    t.wanters = undefined;
    return true;
  }
  if (!w.delete(id)) return false;
  if (w.size === 1) t.wanters = w.values().next().value as string;
  else if (w.size === 0) t.wanters = undefined;
  return true;
}
