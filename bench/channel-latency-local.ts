/** channel-latency-local: append in client A -> item yielded by B's for await, same process. */
import { Client, LocalCluster } from '../scheduler';
import { percentile, report } from './report';

export async function run(): Promise<void> {
  const n = Number(process.env.SF_BENCH_APPENDS ?? 20_000);
  const cluster = await LocalCluster.start({ threads: 1 });
  const a = await Client.connect(cluster);
  const b = await Client.connect(cluster);
  const chanA = a.channel('latency', { maxlen: 16 });
  const chanB = b.channel('latency', { maxlen: 16 });
  await Promise.all([chanA.ready, chanB.ready]);
  const it = chanB[Symbol.asyncIterator]();
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    chanA.append(i);
    const r = await it.next();
    const dt = performance.now() - t0;
    if (r.value !== i) throw new Error(`out of order: ${String(r.value)} != ${i}`);
    if (i >= 1000) samples.push(dt * 1000); // skip warm-up
  }
  report('channel-latency-local', percentile(samples, 50), 'us', { p90: Number(percentile(samples, 90).toFixed(2)), p99: Number(percentile(samples, 99).toFixed(2)), samples: samples.length });
  await it.return?.();
  await a.close();
  await b.close();
  await cluster.close();
}
