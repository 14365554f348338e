/**
 * Rate limiting for the live views: changes are collected as they arrive and handed on at most once per
 * interval (10 per second by default), so a scheduler reporting 100,000 status changes a second costs the
 * views a handful of refreshes. No `vscode` import; the clock and timer are injectable for tests.
 */

import type { Disposable } from '../scheduler';

/** The clock and one-shot timer a batcher uses. */
export interface Timers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The real clock and timers. */
export const realTimers: Timers = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const handle = setTimeout(fn, ms);
    // A pending UI refresh must not keep a process (a test, the bench) alive.
    (handle as { unref?: () => void }).unref?.();
    return handle;
  },
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** Default: at most 10 updates per second. */
export const DEFAULT_MIN_INTERVAL_MS = 100;

/**
 * Collects items of type T and calls `emit` with all of them, no sooner than `minIntervalMs` after the
 * previous emit. The first change after a quiet spell is emitted on the next timer turn, not synchronously,
 * so a burst of synchronous changes ends up in one emit.
 */
export class Batcher<T> implements Disposable {
  private pending = new Set<T>();
  private timer: unknown;
  private lastEmit = Number.NEGATIVE_INFINITY;
  private disposed = false;

  constructor(
    private readonly emit: (batch: Set<T>) => void,
    private readonly minIntervalMs = DEFAULT_MIN_INTERVAL_MS,
    private readonly timers: Timers = realTimers,
  ) {}

  /** Adds `item` to the next batch. */
  add(item: T): void {
    if (this.disposed) return;
    this.pending.add(item);
    this.schedule();
  }

  /** True when a batch is waiting to be emitted. */
  get waiting(): boolean {
    return this.pending.size > 0;
  }

  /** Emits what is pending now, ignoring the interval (tests, and a view that was just shown). */
  flushNow(): void {
    if (this.timer !== undefined) {
      this.timers.clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.pending.size === 0 || this.disposed) return;
    const batch = this.pending;
    this.pending = new Set();
    this.lastEmit = this.timers.now();
    this.emit(batch);
  }

  dispose(): void {
    this.disposed = true;
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
    this.pending.clear();
  }

  private schedule(): void {
    if (this.timer !== undefined) return;
    const wait = Math.max(0, this.lastEmit + this.minIntervalMs - this.timers.now());
    this.timer = this.timers.setTimeout(() => {
      this.timer = undefined;
      this.flushNow();
    }, wait);
  }
}

/** A value preview of at most `max` characters, for labels and tooltips. */
export function previewOf(value: unknown, max = 60): string {
  let text: string;
  if (typeof value === 'string') text = JSON.stringify(value);
  else if (value === undefined) text = 'undefined';
  else if (typeof value === 'bigint') text = `${value}n`;
  else if (typeof value === 'function') text = '[function]';
  else {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      text = String(value);
    }
  }
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** "3s", "4m", "2h", "5d": how long ago `since` was. */
export function ageOf(since: number, now: number): string {
  const s = Math.max(0, Math.floor((now - since) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86_400)}d`;
}
