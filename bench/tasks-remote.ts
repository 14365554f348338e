/** tasks-remote: 100,000 trivial tasks, map + gather; scheduler, 2 worker processes and this client process over WebSocket on loopback. */
import { Client, type Future } from '../scheduler';
import { median, report } from './report';
import { startScheduler, startWorker, stopAll, TOKEN } from './ws-helpers/processes';
import { waitUntil } from '../test/support/wait';

export async function run(): Promise<void> {
  const n = Number(process.env.SF_BENCH_TASKS ?? 100_000);
  const rounds = Number(process.env.SF_BENCH_ROUNDS ?? 3);
  try {
    const { address } = await startScheduler(0);
    await Promise.all([startWorker(address, 1), startWorker(address, 1)]);
    const client = await Client.connect(address, { token: TOKEN, reconnect: false });
    await waitUntil('the two workers to join', async () => (await client.schedulerInfo()).workers.length >= 2);
    const items = Array.from({ length: n }, (_, i) => i);
    // Warm up: sockets, worker threads, the function compiled on both workers.
    await client.gather(client.map((x: number) => x + 1, items.slice(0, 5000), { pure: false }));
    const rates: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const t0 = performance.now();
      const futures: Future[] = client.map((x: number) => x + 1, items, { pure: false });
      const results = (await client.gather(futures)) as number[];
      const seconds = (performance.now() - t0) / 1000;
      for (let i = 0; i < n; i++) if (results[i] !== i + 1) throw new Error(`wrong result for task ${i}: ${String(results[i])}`);
      rates.push(n / seconds);
      for (const f of futures) f.release();
    }
    report('tasks-remote', median(rates), 'tasks/s', { tasks: n, workers: 2, threadsPerWorker: 1, runs: rates.map(Math.round), target: 30_000 });
    await client.close();
  } finally {
    await stopAll();
  }
}
