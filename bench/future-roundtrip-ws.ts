/**
 * future-roundtrip-ws: this process submits a trivial task and appends its future to a channel; another
 * process receives the future from its `for await`, awaits `result()` and stamps the time (monotonic
 * clock, shared by the processes of a machine). The figure is submit -> result in the other process.
 * The scheduler runs the task on its own pool thread (`--threads 1`).
 */
import { Client } from '../scheduler';
import { percentile, report } from './report';
import { nowUs, peerResult, startPeer, startScheduler, stopAll, TOKEN } from './ws-helpers/processes';

export async function run(): Promise<void> {
  const n = Number(process.env.SF_BENCH_ROUNDTRIPS ?? 5000);
  const warmup = 500;
  try {
    const { address } = await startScheduler(1);
    const b = startPeer('roundtrip-echo', address, n);
    await b.waitFor(/^READY$/m);
    const a = await Client.connect(address, { token: TOKEN, reconnect: false });
    const futures = a.channel('rt-futures', { maxlen: 16 });
    const acks = a.channel('rt-acks', { maxlen: 16 });
    await Promise.all([futures.ready, acks.ready]);
    const it = acks[Symbol.asyncIterator]();
    const samples: number[] = [];
    for (let i = 0; i < n; i++) {
      const t0 = nowUs();
      const f = a.submit({ fn: (x: number) => x + 1, args: [i], pure: false });
      futures.append(f);
      const r = await it.next();
      const ack = r.value as { i: number; t: number };
      if (ack.i !== i) throw new Error(`ack out of order: ${ack.i} != ${i}`);
      samples.push(ack.t - t0);
      f.release();
    }
    const { received } = await peerResult<{ received: number }>(b);
    if (received !== n) throw new Error(`the other process got ${received} of ${n} futures`);
    const kept = samples.slice(warmup);
    report('future-roundtrip-ws', percentile(kept, 50) / 1000, 'ms', {
      p90: Number((percentile(kept, 90) / 1000).toFixed(3)),
      p99: Number((percentile(kept, 99) / 1000).toFixed(3)),
      samples: kept.length,
      target: 1,
    });
    await it.return?.();
    await a.close();
  } finally {
    await stopAll();
  }
}
