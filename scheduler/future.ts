/** Futures: handles on tasks held by the scheduler. */
import { inspect } from 'node:util';
import {
  CancelledError,
  ClientClosedError,
  FutureLostError,
  FutureReleasedError,
  TaskError,
  TimeoutError,
  type ErrorInfo,
} from './errors';
import type { FutureStatus } from './protocol';

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
  /** Holders: owned Future handles and channel windows. At zero the client releases the key. */
  refs = 0;
  listeners: Set<(status: FutureStatus) => void> | undefined;
  waiters: (() => void)[] | undefined;
  /** The handle a channel hands out for this key (it holds no reference of its own). */
  borrowed: Future | undefined;
  constructor(
    readonly key: string,
    status: FutureStatus = 'pending',
  ) {
    this.status = status;
  }

  update(status: FutureStatus, error: ErrorInfo | undefined): void {
    if (status === this.status && !error) return;
    this.status = status;
    if (error) this.error = error;
    if (this.listeners) for (const cb of [...this.listeners]) cb(status);
    if (isTerminal(status)) this.wake();
  }

  wake(): void {
    const ws = this.waiters;
    this.waiters = undefined;
    if (ws) for (const w of ws) w();
  }
}

/** Keeps the process alive while something waits on the scheduler; the returned function lets go. */
export interface KeepAlive {
  hold(): () => void;
}

/** The part of Client a Future needs. */
export interface FutureHost extends KeepAlive {
  readonly closed: boolean;
  gatherKeys(keys: string[]): Promise<unknown[]>;
  cancelKeys(keys: string[]): Promise<void>;
  releaseHandle(state: FutureState): void;
  registerHandle(future: Future, state: FutureState): void;
  unregisterHandle(future: Future): void;
}

/**
 * A handle on a task's result, typed by that result (`T`: the awaited return type of the submitted function).
 * Owned handles keep the key alive until `release()` (or garbage collection).
 */
export class Future<T = unknown> {
  private released = false;

  /** @internal */
  constructor(
    private readonly host: FutureHost,
    /** @internal */ readonly state: FutureState,
    /** Owned handles hold the key; borrowed ones (from a channel) live as long as the channel keeps it. */
    readonly owned = true,
  ) {
    if (owned) {
      state.refs++;
      host.registerHandle(this, state);
    }
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
    if (timeoutMs !== undefined && (typeof timeoutMs !== 'number' || !(timeoutMs >= 0))) {
      throw new TypeError(`timeoutMs must be a non-negative number, got ${String(timeoutMs)}`);
    }
    await waitDone([this.state], this.host, timeoutMs, `future ${this.key} did not finish within ${timeoutMs} ms`);
  }

  /** The task's result; raises its error, CancelledError, FutureLostError or TimeoutError. */
  async result(timeoutMs?: number): Promise<T> {
    this.checkUsable();
    for (let attempt = 0; ; attempt++) {
      await this.wait(timeoutMs);
      const err = errorOf(this.state);
      if (err) throw err;
      try {
        const [value] = await this.host.gatherKeys([this.key]);
        return value as T;
      } catch (fetchErr) {
        // The worker holding the result went away and the scheduler is recomputing it: wait again.
        if (attempt >= 3 || this.state.status === 'finished') throw fetchErr;
      }
    }
  }

  /** The task's error once done, or undefined when it finished. */
  async exception(timeoutMs?: number): Promise<Error | undefined> {
    await this.wait(timeoutMs);
    return errorOf(this.state);
  }

  /** Cancels the task (and tasks depending on it). */
  async cancel(): Promise<void> {
    await this.host.cancelKeys([this.key]);
  }

  /** Lets go of this handle; the scheduler forgets the key once nobody holds it. */
  release(): void {
    if (this.released || !this.owned) return;
    this.released = true;
    this.host.unregisterHandle(this);
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

/** Waits until every state is terminal (or the client closes, or the timeout passes). */
export function waitDone(states: FutureState[], host: { readonly closed: boolean } & KeepAlive, timeoutMs: number | undefined, timeoutMessage: string): Promise<void> {
  let remaining = 0;
  for (const s of states) if (!isTerminal(s.status)) remaining++;
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
    for (const s of states) {
      if (isTerminal(s.status)) continue;
      (s.waiters ??= []).push(onWake);
    }
    if (timeoutMs !== undefined) timer = setTimeout(() => settle(new TimeoutError(timeoutMessage)), timeoutMs);
  });
}
