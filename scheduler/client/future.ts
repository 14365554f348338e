/** Futures: handles on tasks held by the scheduler. */
import { inspect } from 'node:util';
import {
  CancelledError,
  ClientClosedError,
  FutureLostError,
  InvalidArgumentError,
  FutureReleasedError,
  TaskError,
  TimeoutError,
  type ErrorInfo,
} from '../protocol/errors';
import type { FutureStatus } from '../protocol/messages';
import { FUTURE_BRAND, isFuture as isBranded } from './future-brand';

/** Something to dispose of: what `onStatus` returns. */
export interface Disposable {
  dispose(): void;
}

const TERMINAL = new Set<FutureStatus>(['finished', 'error', 'cancelled', 'lost']);

export function isTerminal(s: FutureStatus): boolean {
  return TERMINAL.has(s);
}

/** What a client knows of one key, shared by every Future handle on it. */
export class FutureState {
  status: FutureStatus;
  error: ErrorInfo | undefined;
  /** Holders: Future handles and channel windows. At zero the client releases the key. */
  refs = 0;
  /**
   * How many wants of this key the scheduler counts for this client because of this state (one per submit,
   * want, scatter or channel delivery attributed to it); released all at once when `refs` reaches zero.
   */
  acquired = 0;
  /** This client cancelled the key (without force): it no longer follows the scheduler's status. */
  cancelledHere = false;
  /** Known only by key (`client.future(key)`): a submit of the key from this client must still be sent. */
  byKeyOnly = false;
  /** In the registry's table (from creation until its last holder let go): the key's current state. */
  listed = false;
  /** A gather asked before this key finished waits at the scheduler (see resultsOf): at most one per key. */
  earlyGather = false;
  listeners: Set<(status: FutureStatus) => void> | undefined;
  /** Who waits for a terminal status: one function (nearly always: a gather waits once on each of its states), or several. */
  waiters: (() => void) | (() => void)[] | undefined;
  /** The registry's table links (states in the order their keys were made): see util/key-table.ts. */
  newer: FutureState | undefined;
  older: FutureState | undefined;
  indexed = false;
  constructor(
    readonly key: string,
    status: FutureStatus = 'pending',
  ) {
    this.status = status;
  }

  update(status: FutureStatus, error: ErrorInfo | undefined): void {
    if (this.cancelledHere || (status === this.status && !error)) return;
    this.status = status;
    if (error) this.error = error;
    if (this.listeners) for (const cb of [...this.listeners]) cb(status);
    if (isTerminal(status)) this.wake();
  }

  wake(): void {
    const ws = this.waiters;
    if (ws === undefined) return;
    this.waiters = undefined;
    if (typeof ws === 'function') ws();
    else for (const w of ws) w();
  }
}

/** Keeps the process alive while something waits on the scheduler; the returned function lets go. */
export interface KeepAlive {
  hold(): () => void;
}

/** The part of Client a Future needs. */
export interface FutureHost extends KeepAlive {
  readonly closed: boolean;
  /** `wait`: keys may still be running; the scheduler answers once they all settled. */
  gatherKeys(keys: string[], wait?: boolean): Promise<unknown[]>;
  cancelKeys(keys: string[], force: boolean): Promise<void>;
  releaseHandle(state: FutureState): void;
  /** Watches the handle for garbage collection; returns its slot, which `unregisterHandle` takes. */
  registerHandle(future: Future, state: FutureState): number;
  unregisterHandle(slot: number): void;
}

/**
 * A handle on a task's result, typed by that result (`T`: the awaited return type of the submitted
 * function). Every handle owns its key, however it was obtained (submit, map, scatter,
 * `client.future`, a channel): the scheduler keeps the key until `release()`, the client's `close()`, or the
 * handle's garbage collection, and its status keeps updating.
 */
export class Future<T = unknown> {
  private released = false;
  /** Where the host watches this handle for garbage collection. */
  private readonly slot: number;

  /** @internal */
  constructor(
    private readonly host: FutureHost,
    /** @internal */ readonly state: FutureState,
  ) {
    state.refs++;
    this.slot = host.registerHandle(this, state);
  }

  /** The task's key: the same key is the same task for every client of the scheduler. */
  get key(): string {
    return this.state.key;
  }

  /** Where the task is: `'pending' | 'processing' | 'finished' | 'error' | 'cancelled' | 'lost'`. */
  get status(): FutureStatus {
    return this.state.status;
  }

  /** True once the task finished, erred, was cancelled or lost. */
  done(): boolean {
    return isTerminal(this.state.status);
  }

  /** Resolves when the future is done; rejects with TimeoutError after `timeoutMs`. */
  async wait(timeoutMs?: number): Promise<void> {
    const limit = checkTimeout('wait', timeoutMs);
    await waitDone([this.state], this.host, limit, `future ${this.key} did not finish within ${limit} ms`);
  }

  /** The task's result; raises its error, CancelledError, FutureLostError or TimeoutError. */
  async result(timeoutMs?: number): Promise<T> {
    const limit = checkTimeout('result', timeoutMs);
    this.checkUsable();
    const [value] = await resultsOf([this], this.host, limit, () => `future ${this.key} did not finish within ${limit} ms`);
    return value as T;
  }

  /** The task's error once done, or undefined when it finished. */
  async exception(timeoutMs?: number): Promise<Error | undefined> {
    await this.wait(checkTimeout('exception', timeoutMs));
    return errorOf(this.state);
  }

  /**
   * Drops this client's interest in the key: the task is cancelled (with what depends on it) when nobody
   * else holds it — another client, a channel, a dependent task. `force: true` cancels it for everyone.
   */
  async cancel(opts: { force?: boolean } = {}): Promise<void> {
    if (opts === null || typeof opts !== 'object') throw new InvalidArgumentError(`cancel takes { force?: boolean }, got ${String(opts)}`);
    await this.host.cancelKeys([this.key], opts.force === true);
  }

  /** Lets go of this handle; the scheduler forgets the key once nobody holds it. */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.host.unregisterHandle(this.slot);
    this.host.releaseHandle(this.state);
  }

  /** Whether `release()` was called on this handle. */
  get isReleased(): boolean {
    return this.released;
  }

  /** Calls `cb` with every status change until disposed. */
  onStatus(cb: (status: FutureStatus) => void): Disposable {
    const listeners = (this.state.listeners ??= new Set());
    const wrapped = (s: FutureStatus) => cb(s);
    listeners.add(wrapped);
    return { dispose: () => listeners.delete(wrapped) };
  }

  /** @internal */
  checkUsable(): void {
    if (this.released) throw new FutureReleasedError(this.key, `future ${this.key} was released by this handle`);
  }

  /** `<Future key: status>`. */
  toString(): string {
    return `<Future ${this.key}: ${this.status}>`;
  }

  /** How Node's `util.inspect` (and the notebook) shows the future: as `toString()`. */
  [inspect.custom](): string {
    return this.toString();
  }

  /** `'Future'`, for `Object.prototype.toString`. */
  get [Symbol.toStringTag](): string {
    return 'Future';
  }
}
// The brand `isFuture` checks (see future-brand.ts); on the prototype, so it costs nothing per handle.
Object.defineProperty(Future.prototype, FUTURE_BRAND, { value: true });

/** True for a Future, also one made by another bundle of the runtime (where `instanceof` is false). */
export const isFuture = isBranded as (value: unknown) => value is Future;

/** At most this many futures are gathered before they finish (see resultsOf). */
const EARLY_GATHER_MAX_KEYS = 64;

/**
 * The results of `futures` in order, once all are done; raises the first error among them. A finished
 * result whose worker went away meanwhile is being recomputed by the scheduler: the gather then fails,
 * and this waits again (a few times) instead of reporting it.
 */
export async function resultsOf(futures: readonly Future[], host: FutureHost, timeoutMs: number | undefined, timeoutMessage: () => string): Promise<unknown[]> {
  const states = futures.map((f) => f.state);
  // Some still running: the gather goes now and waits at the scheduler, which answers in the same batch as
  // the last status, instead of leaving after that status arrives (one round trip fewer). The statuses are
  // still awaited first, so a result never comes back before its future reads finished. Only for a few keys:
  // a round trip is what `result()` of one future waits for, but little beside a large gather, whose keys
  // the scheduler would have to track one by one.
  // At most one such gather per key is outstanding: a loop of `result(timeout)` on a long task parks one
  // request at the scheduler, not one per call.
  let early: Promise<unknown[]> | undefined;
  if (!host.closed && states.length <= EARLY_GATHER_MAX_KEYS && states.some((s) => !isTerminal(s.status)) && states.every((s) => !s.earlyGather)) {
    for (const s of states) s.earlyGather = true;
    early = host.gatherKeys(
      states.map((s) => s.key),
      true,
    );
    early
      .catch(() => undefined)
      .finally(() => {
        for (const s of states) s.earlyGather = false;
      });
  }
  for (let attempt = 0; ; attempt++) {
    await waitDone(states, host, timeoutMs, timeoutMessage);
    for (let i = 0; i < states.length; i++) {
      const err = errorOf(states[i]);
      if (err) throw err;
    }
    if (early !== undefined) {
      const answer = early;
      early = undefined;
      // The answer leaves with the last status, so it is here or about to be; only a key recomputed after
      // it read finished keeps it waiting, which `timeoutMs` still bounds.
      const letGo = host.hold();
      let timer: NodeJS.Timeout | undefined;
      try {
        if (timeoutMs === undefined) return await answer;
        const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new TimeoutError(timeoutMessage())), timeoutMs)));
        return await Promise.race([answer, late]);
      } catch (err) {
        if (err instanceof TimeoutError) throw err;
        // Settled otherwise than the statuses said (e.g. recomputed meanwhile): ask again as before.
      } finally {
        if (timer) clearTimeout(timer);
        letGo();
      }
    }
    try {
      return await host.gatherKeys(states.map((s) => s.key));
    } catch (err) {
      if (attempt >= 3 || states.every((s) => s.status === 'finished')) throw err;
    }
  }
}

/** The error a done future raises, or undefined when it finished. */
export function errorOf(state: FutureState): Error | undefined {
  switch (state.status) {
    case 'error':
      return new TaskError(state.key, state.error ?? { name: 'Error', message: `task ${state.key} failed` });
    case 'cancelled':
      return new CancelledError(state.key);
    case 'lost':
      return state.error?.code === 'ERR_FUTURE_RELEASED' ? new FutureReleasedError(state.key) : new FutureLostError(state.key);
    default:
      return undefined;
  }
}

/** Waits until every state is terminal (or the client closes, or the timeout passes; `timeoutMessage` says so). */
export function waitDone(states: FutureState[], host: { readonly closed: boolean } & KeepAlive, timeoutMs: number | undefined, timeoutMessage: string | (() => string)): Promise<void> {
  let remaining = 0;
  for (let i = 0; i < states.length; i++) if (!isTerminal(states[i].status)) remaining++;
  if (remaining === 0) return Promise.resolve();
  if (host.closed) return Promise.reject(new ClientClosedError());
  return new Promise<void>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    let settled = false;
    const letGo = host.hold();
    const settle = (err?: Error) => {
      if (settled) return;
      settled = true;
      letGo();
      if (timer) clearTimeout(timer);
      if (err) reject(err);
      else resolve();
    };
    const onWake = () => {
      if (host.closed) return settle(new ClientClosedError('the client closed before the future finished'));
      if (--remaining === 0) settle();
    };
    for (let i = 0; i < states.length; i++) {
      const s = states[i];
      if (isTerminal(s.status)) continue;
      const ws = s.waiters;
      if (ws === undefined) s.waiters = onWake;
      else if (typeof ws === 'function') s.waiters = [ws, onWake];
      else ws.push(onWake);
    }
    // The message is made when the time is up (a gather's counts its futures still not done).
    if (timeoutMs !== undefined) timer = setTimeout(() => settle(new TimeoutError(typeof timeoutMessage === 'string' ? timeoutMessage : timeoutMessage())), timeoutMs);
  });
}

/**
 * Checks a `timeoutMs` argument of `where` and returns it as `waitDone` takes it: undefined (or null,
 * Infinity, or beyond what a timer can hold) waits without limit; otherwise a non-negative number.
 */
export function checkTimeout(where: string, timeoutMs: unknown): number | undefined {
  if (timeoutMs === undefined || timeoutMs === null || timeoutMs === Infinity) return undefined;
  if (typeof timeoutMs !== 'number' || !(timeoutMs >= 0)) {
    throw new InvalidArgumentError(`${where}: timeoutMs must be a non-negative number of milliseconds (or undefined for no limit), got ${describeTimeout(timeoutMs)}`);
  }
  return timeoutMs > MAX_TIMER_MS ? undefined : timeoutMs;
}

/** setTimeout fires at once beyond this (2^31 - 1 ms, about 24.8 days). */
const MAX_TIMER_MS = 2_147_483_647;

function describeTimeout(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 20 ? `${value.slice(0, 20)}…` : value);
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  return value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
}
