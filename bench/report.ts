/** Prints one benchmark figure as a JSON line, the form PERFORMANCE.md asks for. */
export function report(name: string, value: number, unit: string, extra: Record<string, unknown> = {}): void {
  console.log(JSON.stringify({ name, value: Number(value.toPrecision(6)), unit, ...extra }));
}

/** Median of a list of numbers. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** The p-th percentile (0..100) of a list of numbers. */
export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

/**
 * How long a latency benchmark runs its loop before it starts measuring (ms): SF_BENCH_WARMUP_MS, default
 * 5,000, and at least the benchmark's own number of iterations. On this machine kind a loop of loopback hops
 * between processes needs seconds and thousands of iterations to reach its steady state: a bare ring of six
 * Node processes (bench/loopback-ring.ts) gives a p50 about twice its later one over its first 2,000 laps, and
 * a round trip's CPU per trip falls from 2.2 ms to 0.5 ms over its first 4,000 (V8 optimizing the code on the
 * path, and the machine's wake-ups settling). The warm-up's own samples are reported apart (`cold`), so a
 * first-use figure is never hidden.
 */
export const WARMUP_MS = Number(process.env.SF_BENCH_WARMUP_MS ?? 5000);

/** True once a loop that started at `startedAt` (performance.now()) has run WARMUP_MS and `iterations` ≥ `minIterations`. */
export function warmedUp(startedAt: number, iterations: number, minIterations: number): boolean {
  return performance.now() - startedAt >= WARMUP_MS && iterations >= minIterations;
}

/** p50 and p99 of the warm-up's samples, in the benchmark's unit, and how many there were. */
export function cold(samples: number[], scale = 1): { samples: number; p50: number; p99: number } {
  if (samples.length === 0) return { samples: 0, p50: NaN, p99: NaN };
  const round = (x: number) => Number((x / scale).toPrecision(4));
  return { samples: samples.length, p50: round(percentile(samples, 50)), p99: round(percentile(samples, 99)) };
}
