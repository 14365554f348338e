/**
 * Submitting tasks: one task (`submit`, each item of `map`) or a graph in Dask's form (`submitGraph`). A
 * task's key is its explicit key, or the function's name with a hash of function and arguments (a unique
 * token when not pure); the scheduler counts one want of this client per submitted task, which the
 * returned Future holds.
 */
import { InvalidArgumentError } from '../protocol/errors';
import type { FnSpec, TaskSpec } from '../protocol/messages';
import type { Connection } from './connection';
import { encodeArgs, encodeValue, plainArgs } from './encode';
import { fnSpec, ShippedFunctions, type NamedFnSpec, type TaskFunction } from './functions';
import type { Future } from './future';
import type { FutureRegistry } from './future-registry';
import type { SubmitOptions } from './options';
import { tokenize, uniqueKey } from './tokenize';

/** A graph in Dask's form: `{ key: [fnOrRef, ...args] }`; other values are literal data. */
export type TaskGraph = Record<string, unknown>;

export class TaskSubmitter {
  private readonly shipped = new ShippedFunctions();

  constructor(
    private readonly conn: Connection,
    private readonly futures: FutureRegistry,
  ) {}

  /** Submits `spec` with `rawArgs` (Futures among them become dependencies). */
  submit(spec: NamedFnSpec, rawArgs: unknown[], opts: Omit<SubmitOptions, 'fn' | 'args'>): Future {
    // Primitive arguments (a map over numbers or strings) go as they are, with no list of dependencies made.
    let deps: string[] | undefined;
    const args = plainArgs(rawArgs) ? rawArgs : encodeArgs(rawArgs, (deps = []));
    // A fresh unique token names no state this client follows: the lookup is skipped (it is a cost per task of a map).
    const fresh = opts.key === undefined && opts.pure === false;
    const key = opts.key ?? (fresh ? uniqueKey(spec.name) : `${spec.name}-${tokenize(spec.id, args)}`);
    if (!fresh) {
      const followed = this.futures.followed(key);
      if (followed) return followed;
    }
    const task: TaskSpec = { key, fn: spec.id, args };
    if (deps !== undefined && deps.length > 0) task.deps = deps;
    if (opts.priority) task.priority = opts.priority;
    if (opts.retries) task.retries = opts.retries;
    this.post(spec, task);
    return fresh ? this.futures.acquireNew(key) : this.futures.acquire(key, 'pending');
  }

  /** Submits a graph `{ key: [fnOrRef, ...args] }`; returns futures for `keys` (default: every key). */
  submitGraph(graph: TaskGraph, keys?: string[]): Future[] {
    if (!graph || typeof graph !== 'object' || Array.isArray(graph)) throw new InvalidArgumentError('submitGraph needs an object { key: [fnOrRef, ...args] }');
    const all = Object.keys(graph);
    const wanted = keys ?? all;
    if (!Array.isArray(wanted)) throw new InvalidArgumentError('submitGraph: keys must be an array of keys');
    for (const k of wanted) {
      if (!(k in graph) && !this.futures.has(k)) throw new InvalidArgumentError(`submitGraph: key '${k}' is not in the graph`);
    }
    for (const key of all) {
      const node = graph[key];
      if (Array.isArray(node) && (typeof node[0] === 'function' || (typeof node[0] === 'string' && node[0].includes('#')))) {
        const spec = fnSpec(node[0] as TaskFunction);
        const deps: string[] = [];
        const args = encodeArgs(node.slice(1), deps);
        const task: TaskSpec = { key, fn: spec.id, args, graph: true };
        if (deps.length > 0) task.deps = deps;
        this.post(spec, task);
      } else {
        // Literal data: a task with no function, born finished with its value.
        this.conn.outbox.submit([], { key, fn: '', args: [], value: encodeValue(node, `graph value '${key}'`) });
      }
    }
    // The scheduler counts one want per key of the graph: the wanted keys' go to their futures, the others'
    // to a state this client already holds, or straight back.
    const wantedSet = new Set(wanted);
    const futures = wanted.map((k) => (k in graph ? this.futures.acquire(k, 'pending') : this.futures.byKey(k)));
    for (const k of all) if (!wantedSet.has(k)) this.futures.absorbWant(k);
    return futures;
  }

  private post(spec: FnSpec, task: TaskSpec): void {
    this.conn.outbox.submit(this.shipped.toShip(spec), task);
  }
}
