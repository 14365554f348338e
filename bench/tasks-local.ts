/**
 * tasks-local: 100,000 trivial tasks, map + gather, in-process cluster, 2 threads. Reports every run (the
 * target holds for each), the CPU time the process spent per task (µs, all threads) and, on Linux, the
 * main thread's share of it (client, scheduler and dispatch all run there: it is what limits the rate).
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { Client, LocalCluster, type Future } from '../scheduler';
import { median, report } from './report';
import { cpuMs, mainThreadCpuMs } from './ws-helpers/processes';

export async function run(): Promise<void> {
  const n = Number(process.env.SF_BENCH_TASKS ?? 100_000);
  const cluster = await LocalCluster.start({ threads: 2 });
  const client = await Client.connect(cluster);
  const items = Array.from({ length: n }, (_, i) => i);
  // Warm the pool (threads started, function compiled).
  await client.gather(client.map((x: number) => x + 1, items.slice(0, 1000), { pure: false }));
  const rates: number[] = [];
  const cpu: number[] = [];
  const mainCpu: number[] = [];
  const gcMs: number[] = [];
  // Pauses of the main thread's garbage collector during each run (what a slow run is most often made of).
  let gcNow = 0;
  const gcObserver = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcNow += e.duration;
  });
  gcObserver.observe({ entryTypes: ['gc'] });
  for (let round = 0; round < 5; round++) {
    const c0 = cpuMs();
    const m0 = mainThreadCpuMs();
    const g0 = gcNow;
    const t0 = performance.now();
    const futures: Future[] = client.map((x: number) => x + 1, items, { pure: false });
    const results = (await client.gather(futures)) as number[];
    const seconds = (performance.now() - t0) / 1000;
    cpu.push(((cpuMs() - c0) * 1000) / n);
    mainCpu.push(((mainThreadCpuMs() - m0) * 1000) / n);
    // GC entries are delivered after the pause: let this run's last ones in before reading the sum.
    await new Promise((resolve) => setImmediate(resolve));
    gcMs.push(gcNow - g0);
    if (results.length !== n || results[n - 1] !== n) throw new Error('wrong results');
    rates.push(n / seconds);
    for (const f of futures) f.release();
  }
  report('tasks-local', median(rates), 'tasks/s', {
    tasks: n,
    threads: 2,
    runs: rates.map(Math.round),
    min: Math.round(Math.min(...rates)),
    cpuUsPerTask: Math.round(median(cpu) * 10) / 10,
    mainCpuUsPerTask: Math.round(median(mainCpu) * 10) / 10,
    mainCpuRuns: mainCpu.map((x) => Math.round(x * 10) / 10),
    gcMsRuns: gcMs.map(Math.round),
    target: 100_000,
  });
  gcObserver.disconnect();
  await client.close();
  await cluster.close();
}
