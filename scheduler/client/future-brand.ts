/**
 * The one "is this a Future?" check. The runtime is bundled several times (dist/runtime.js, the pool
 * worker, the kernel's worker, the extension), each with its own Future class, so `instanceof` is false for
 * a Future made by another bundle. Every Future carries a brand under a registry symbol (`Symbol.for`
 * returns the same symbol in every bundle and realm of the process); this module has no imports, so the
 * kernel and the extension can use the check without bundling the runtime.
 */

/** The brand's property key; `Future.prototype[FUTURE_BRAND]` is true. */
export const FUTURE_BRAND: unique symbol = Symbol.for('shared-futures.future');

/** True for a Future of any copy of the runtime. */
export function isFuture(value: unknown): boolean {
  return typeof value === 'object' && value !== null && (value as { [FUTURE_BRAND]?: unknown })[FUTURE_BRAND] === true;
}
