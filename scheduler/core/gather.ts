/** What a client's `gather` needs: values held here, and by remote worker the keys to fetch from it. */
import { InfoError } from './errors';
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
