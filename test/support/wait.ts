/**
 * The one way tests wait: poll a condition until it holds, with a timeout whose failure names what was
 * awaited (and, when given, the state that explains why, e.g. a process's output). Tests never sleep a fixed
 * time before asserting; they wait for the condition the assertion needs.
 */

export interface WaitOptions {
  /** Give up after this long (default 10 s: generous, since the machine may be busy). */
  timeoutMs?: number;
  /** Time between checks (default 10 ms). */
  intervalMs?: number;
  /** Appended to the failure message: whatever tells why the condition did not come (output, state). */
  detail?: () => string;
}

/** A check's "not yet": `undefined`, `null` or `false`. Anything else is the awaited value. */
type NotYet = undefined | null | false;

/**
 * Polls `check` until it returns something other than `undefined`, `null` or `false`, and resolves with that.
 * Rejects with "timed out after N ms waiting for <what>" when it does not come in time; an exception thrown
 * by `check` rejects at once.
 */
export async function waitUntil<T>(what: string, check: () => T | NotYet | Promise<T | NotYet>, options: WaitOptions | number = {}): Promise<T> {
  const { timeoutMs = 10_000, intervalMs = 10, detail } = typeof options === 'number' ? { timeoutMs: options } : options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() >= deadline) {
      const more = detail?.();
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${more ? `\n${more}` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
