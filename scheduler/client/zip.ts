/** `zip`: several channels (or any async iterables) read in lockstep. */

/**
 * Iterates several channels (or any async iterables) in lockstep, yielding tuples typed per input
 * (`zip(a: Channel<number>, b: Channel<string>)` yields `[number, string]`); ends as soon as any input ends,
 * without waiting for the others (their pending `next()` is left to their `return()`).
 */
export async function* zip<T extends unknown[]>(...inputs: { [K in keyof T]: AsyncIterable<T[K]> }): AsyncGenerator<T, void, undefined> {
  const its: AsyncIterator<unknown>[] = inputs.map((c) => c[Symbol.asyncIterator]());
  /** Iterators with a `next()` in flight: their `return()` may wait for it, so it is never awaited. */
  const busy = new Set<AsyncIterator<unknown>>();
  try {
    while (its.length > 0) {
      const row = await new Promise<unknown[] | undefined>((resolve, reject) => {
        const values = new Array<unknown>(its.length);
        let filled = 0;
        its.forEach((it, i) => {
          busy.add(it);
          Promise.resolve()
            .then(() => it.next())
            .then(
              (r) => {
                busy.delete(it);
                if (r.done) return resolve(undefined);
                values[i] = r.value;
                if (++filled === its.length) resolve(values);
              },
              (err: unknown) => {
                busy.delete(it);
                reject(err as Error);
              },
            );
        });
      });
      if (!row) return;
      yield row as T;
    }
  } finally {
    const idle: Promise<unknown>[] = [];
    for (const it of its) {
      let ended: Promise<unknown> | undefined;
      try {
        ended = Promise.resolve(it.return?.());
      } catch (err) {
        ended = Promise.reject(err as Error);
      }
      if (busy.has(it)) ended.catch(() => undefined);
      else idle.push(ended);
    }
    await Promise.all(idle);
  }
}
