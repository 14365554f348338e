/** The options of `submit` and `map`, and the checks of what a user passes to them. */
import { InvalidArgumentError } from '../protocol/errors';
import type { TaskFunction } from './functions';

/** A task described by options: `client.submit({ fn, args, key, pure, retries, priority })`. */
export interface SubmitOptions {
  /** The function to run (shipped as source), or a `'module#export'` reference. */
  fn: TaskFunction;
  /** Its arguments; Futures among them are replaced by their results on the worker. */
  args?: unknown[];
  /** Explicit key (otherwise a hash of function and arguments, or unique when `pure` is false). */
  key?: string;
  /** Identical pure submissions share one task (default true). */
  pure?: boolean;
  /** Times a failing task is run again before it errs. */
  retries?: number;
  /** Higher runs first among ready tasks. */
  priority?: number;
}

/** Options of `map`: those of `submit` but `fn`, `args` and `key` (every item gets its own key). */
export type MapOptions = Omit<SubmitOptions, 'fn' | 'args' | 'key'>;

const MAP_OPTIONS = new Set(['pure', 'retries', 'priority']);

/** Checks the options of `submit` (the function itself is checked when it is shipped). */
export function checkSubmitOptions(opts: SubmitOptions, given: unknown): void {
  if (!opts || typeof opts !== 'object' || (typeof opts.fn !== 'function' && typeof opts.fn !== 'string')) {
    throw new InvalidArgumentError(`submit needs a function or a 'module#export' reference, got ${describeType(opts?.fn ?? given)}`);
  }
  if (opts.args !== undefined && !Array.isArray(opts.args)) throw new InvalidArgumentError('submit: args must be an array');
  if (opts.key !== undefined && (typeof opts.key !== 'string' || opts.key.length === 0)) throw new InvalidArgumentError('submit: key must be a non-empty string');
  checkCount('retries', opts.retries);
  if (opts.priority !== undefined && (typeof opts.priority !== 'number' || !Number.isFinite(opts.priority))) {
    throw new InvalidArgumentError('submit: priority must be a finite number');
  }
}

/** Splits `map`'s arguments into iterables and trailing options, checking both. */
export function mapArguments(rest: unknown[]): { iterables: Iterable<unknown>[]; opts: MapOptions } {
  let opts: MapOptions = {};
  const last = rest[rest.length - 1];
  if (rest.length > 0 && !isIterable(last)) {
    if (typeof last !== 'object' || last === null || Array.isArray(last)) throw new InvalidArgumentError(`map: argument ${rest.length + 1} is not iterable (got ${describeType(last)})`);
    const proto = Object.getPrototypeOf(last) as unknown;
    if (proto !== Object.prototype && proto !== null) throw new InvalidArgumentError(`map: the last argument is neither an iterable nor a plain options object (got ${describeType(last)})`);
    opts = last as MapOptions;
    rest = rest.slice(0, -1);
    for (const k of Object.keys(opts)) {
      if (k === 'key') throw new InvalidArgumentError('map: a key cannot be given (every item gets its own key); submit each item to choose keys');
      if (!MAP_OPTIONS.has(k)) throw new InvalidArgumentError(`map: unknown option '${k}' (accepted: ${[...MAP_OPTIONS].join(', ')})`);
    }
    checkCount('retries', opts.retries, 'map');
    if (opts.priority !== undefined && (typeof opts.priority !== 'number' || !Number.isFinite(opts.priority))) throw new InvalidArgumentError('map: priority must be a finite number');
  }
  if (rest.length === 0) throw new InvalidArgumentError('map needs at least one iterable of items, e.g. client.map(fn, [1, 2, 3])');
  rest.forEach((it, i) => {
    if (isIterable(it)) return;
    const hint = typeof it === 'object' && it !== null && !Array.isArray(it) ? '; options go last' : '';
    throw new InvalidArgumentError(`map: argument ${i + 2} is not iterable (got ${describeType(it)})${hint}`);
  });
  return { iterables: rest as Iterable<unknown>[], opts };
}

function isIterable(value: unknown): value is Iterable<unknown> {
  return (typeof value === 'object' || typeof value === 'string') && value !== null && typeof (value as Iterable<unknown>)[Symbol.iterator] === 'function';
}

function checkCount(name: string, value: unknown, where = 'submit'): void {
  if (value !== undefined && (typeof value !== 'number' || !Number.isInteger(value) || value < 0)) {
    throw new InvalidArgumentError(`${where}: ${name} must be a non-negative integer`);
  }
}

export function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : typeof value;
}
