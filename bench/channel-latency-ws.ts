/**
 * channel-latency-ws: append in client A (this process) -> item yielded by B's `for await` (another
 * process), through a scheduler process over WebSocket. B stamps arrival with the machine's monotonic
 * clock, so the one-way time is exact; B's echo paces A so appends never queue behind each other.
 */
import { Client } from '../scheduler';
import { percentile, report } from './report';
import { nowUs, peerResult, startPeer, startScheduler, stopAll, TOKEN } from './ws-helpers/processes';

export async function run(): Promise<void> {
  const n = Number(process.env.SF_BENCH_APPENDS ?? 20_000);
  const warmup = 1000;
  try {
    const { address } = await startScheduler(0);
    const b = startPeer('latency-echo', address, n);
    await b.waitFor(/^READY$/m);
    const a = await Client.connect(address, { token: TOKEN, reconnect: false });
    const ping = a.channel('lat-ping', { maxlen: 16 });
    const pong = a.channel('lat-pong', { maxlen: 16 });
    await Promise.all([ping.ready, pong.ready]);
    const it = pong[Symbol.asyncIterator]();
    const rtts: number[] = [];
    for (let i = 0; i < n; i++) {
      const t = nowUs();
      ping.append({ i, t });
      const r = await it.next();
      if (r.value !== i) throw new Error(`echo out of order: ${String(r.value)} != ${i}`);
      rtts.push(nowUs() - t);
    }
    const { samples } = await peerResult<{ samples: number[] }>(b);
    if (samples.length !== n) throw new Error(`B saw ${samples.length} of ${n} items`);
    const oneWay = samples.slice(warmup);
    report('channel-latency-ws', percentile(oneWay, 50), 'us', {
      p90: Number(percentile(oneWay, 90).toFixed(1)),
      p99: Number(percentile(oneWay, 99).toFixed(1)),
      roundTripP50: Number(percentile(rtts.slice(warmup), 50).toFixed(1)),
      samples: oneWay.length,
      target: 300,
    });
    await it.return?.();
    await a.close();
  } finally {
    await stopAll();
  }
}
