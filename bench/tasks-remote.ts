/**
 * tasks-remote: 100,000 trivial tasks, map + gather; scheduler (`--threads 0`), 2 worker processes of one
 * thread each and this client process over WebSocket on loopback. Besides tasks/s it reports the CPU time
 * each process spent per task (µs, all its threads), whose sum bounds the rate a machine's cores allow.
 */
import { Client, type Future } from '../scheduler';
import { median, report } from './report';
import { cpuMs, startScheduler, startWorker, stopAll, TOKEN } from './ws-helpers/processes';
import { waitUntil } from '../test/support/wait';

export async function run(): Promise<void> {
  const n = Number(process.env.SF_BENCH_TASKS ?? 100_000);
  const rounds = Number(process.env.SF_BENCH_ROUNDS ?? 3);
  try {
    const { address, proc: scheduler } = await startScheduler(0);
    const workers = await Promise.all([startWorker(address, 1), startWorker(address, 1)]);
    const client = await Client.connect(address, { token: TOKEN, reconnect: false });
    await waitUntil('the two workers to join', async () => (await client.schedulerInfo()).workers.length >= 2);
    const items = Array.from({ length: n }, (_, i) => i);
    // Warm up: sockets, worker threads, the function compiled on both workers.
    await client.gather(client.map((x: number) => x + 1, items.slice(0, 5000), { pure: false }));
    const pids = { client: undefined, scheduler: scheduler.proc.pid, worker1: workers[0].proc.pid, worker2: workers[1].proc.pid };
    const cpu = () => Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuMs(pid)]));
    const rates: number[] = [];
    const perTask: Record<string, number>[] = [];
    for (let round = 0; round < rounds; round++) {
      const c0 = cpu();
      const t0 = performance.now();
      const futures: Future[] = client.map((x: number) => x + 1, items, { pure: false });
      const results = (await client.gather(futures)) as number[];
      const seconds = (performance.now() - t0) / 1000;
      const c1 = cpu();
      for (let i = 0; i < n; i++) if (results[i] !== i + 1) throw new Error(`wrong result for task ${i}: ${String(results[i])}`);
      rates.push(n / seconds);
      perTask.push(Object.fromEntries(Object.keys(c0).map((k) => [k, ((c1[k] - c0[k]) * 1000) / n])));
      for (const f of futures) f.release();
    }
    const cpuUsPerTask = Object.fromEntries(Object.keys(perTask[0]).map((k) => [k, Math.round(median(perTask.map((p) => p[k])) * 10) / 10]));
    const total = Object.values(cpuUsPerTask).reduce((a, b) => a + b, 0);
    report('tasks-remote', median(rates), 'tasks/s', {
      tasks: n,
      workers: 2,
      threadsPerWorker: 1,
      runs: rates.map(Math.round),
      cpuUsPerTask: { ...cpuUsPerTask, total: Math.round(total * 10) / 10 },
      target: 60_000,
    });
    await client.close();
  } finally {
    await stopAll();
  }
}
