/** What a client's `gather` needs: values held here, and by remote worker the keys to fetch from it. */
import { InfoError } from '../protocol/errors';
import type { TaskRecord } from './tasks';
import { publicStatus } from './transitions';

export interface GatherPlan {
  /** By position in the request; holes where a remote worker holds the value. */
  values: unknown[];
  /** Worker id -> the keys it holds and their positions in the request. */
  remote: Map<string, { keys: string[]; index: number[] }>;
}

/** Values of `keys` held here, and which remote worker holds the others; throws on a key not finished. */
export function gatherPlan(tasks: ReadonlyMap<string, TaskRecord>, keys: string[]): GatherPlan {
  const values: unknown[] = new Array(keys.length);
  const remote = new Map<string, { keys: string[]; index: number[] }>();
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i];
    const t = tasks.get(key);
    if (!t) throw new InfoError({ name: 'FutureReleasedError', message: `future ${key} was released: the scheduler no longer holds it`, code: 'ERR_FUTURE_RELEASED', key });
    if (t.state === 'memory' && t.holder !== undefined) {
      let r = remote.get(t.holder);
      if (!r) remote.set(t.holder, (r = { keys: [], index: [] }));
      r.keys.push(key);
      r.index.push(i);
    } else if (t.state === 'memory') values[i] = t.value;
    else if (t.state === 'erred') throw new InfoError({ ...(t.error ?? { name: 'Error', message: `task ${key} failed` }), key });
    else if (t.state === 'cancelled') throw new InfoError({ name: 'CancelledError', message: `future ${key} was cancelled`, code: 'ERR_CANCELLED', key });
    else if (t.state === 'lost') throw new InfoError({ name: 'FutureLostError', message: `future ${key} was lost`, code: 'ERR_FUTURE_LOST', key });
    else throw new InfoError({ name: 'Error', message: `future ${key} is not finished (${publicStatus(t.state)})`, code: 'ERR_NOT_FINISHED', key });
  }
  return { values, remote };
}

/** A gather asked to wait (`wait`) for keys not settled yet: answered once every key is. */
interface Waiting {
  client: string;
  req: number;
  keys: string[];
  /** Its distinct keys not settled yet. */
  left: number;
}

/** True for a state a gather can be answered in: a result, an error, or the key gone. */
function settled(t: TaskRecord | undefined): boolean {
  if (t === undefined) return true;
  const s = t.state;
  return s === 'memory' || s === 'erred' || s === 'cancelled' || s === 'lost' || s === 'forgotten';
}

/**
 * Gathers that wait at the scheduler for their keys to settle, so that a client asking for results of
 * tasks still running is answered in the same turn the last one finishes, instead of asking again after
 * it hears the status (one round trip fewer per `result()` of a pending future). Bounded by the requests
 * clients have in flight; a client's are dropped when it leaves.
 */
export class WaitingGathers {
  private readonly byKey = new Map<string, Waiting | Waiting[]>();
  private ready: Waiting[] = [];
  private count = 0;

  /** Gathers waiting, or ready to be answered. */
  get size(): number {
    return this.count;
  }

  /** Parks a gather unless every key is settled already (then false: answer it now). */
  park(client: string, req: number, keys: string[], tasks: ReadonlyMap<string, TaskRecord>): boolean {
    const w: Waiting = { client, req, keys, left: 0 };
    const seen = keys.length > 1 ? new Set<string>() : undefined;
    for (const key of keys) {
      if (settled(tasks.get(key))) continue;
      if (seen) {
        if (seen.has(key)) continue;
        seen.add(key);
      }
      w.left++;
      const at = this.byKey.get(key);
      if (at === undefined) this.byKey.set(key, w);
      else if (Array.isArray(at)) at.push(w);
      else this.byKey.set(key, [at, w]);
    }
    if (w.left === 0) return false;
    this.count++;
    return true;
  }

  /** `key` settled (its task finished, erred, was cancelled, lost or forgotten). */
  settle(key: string): void {
    const at = this.byKey.get(key);
    if (at === undefined) return;
    this.byKey.delete(key);
    if (Array.isArray(at)) for (const w of at) this.one(w);
    else this.one(at);
  }

  private one(w: Waiting): void {
    if (--w.left === 0) this.ready.push(w);
  }

  /** The gathers whose keys all settled since the last call; the caller answers them (or parks them again). */
  takeReady(): { client: string; req: number; keys: string[] }[] {
    const out = this.ready;
    if (out.length === 0) return out;
    this.ready = [];
    this.count -= out.length;
    return out;
  }

  /** A client left: its waiting gathers will not be answered. */
  clientLeft(client: string): void {
    if (this.count === 0) return;
    for (const [key, at] of this.byKey) {
      const list = Array.isArray(at) ? at.filter((w) => w.client !== client) : at.client === client ? [] : [at];
      if (list.length === 0) this.byKey.delete(key);
      else if (list.length === 1) this.byKey.set(key, list[0]);
      else this.byKey.set(key, list);
    }
    this.ready = this.ready.filter((w) => w.client !== client);
    this.recount();
  }

  private recount(): void {
    const waiting = new Set<Waiting>();
    for (const at of this.byKey.values()) {
      if (Array.isArray(at)) for (const w of at) waiting.add(w);
      else waiting.add(at);
    }
    this.count = waiting.size + this.ready.length;
  }
}
