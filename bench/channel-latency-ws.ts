/**
 * channel-latency-ws: append in client A -> item yielded by B's `for await`, through a scheduler process
 * over WebSocket. Two layouts, both reported: B in another process (`channel-latency-ws`), and A and B two
 * WebSocket clients of this one process (`channel-latency-ws-one-process`). B stamps arrival with the
 * machine's monotonic clock, so the one-way time is exact; B's echo paces A so appends never queue behind
 * each other. Each layout first runs for WARMUP_MS and at least 10,000 round trips (report.ts `warmedUp`);
 * those samples are reported apart as `cold`, the next SF_BENCH_APPENDS (20,000) are the figure.
 */
import { Client } from '../scheduler';
import { cold, percentile, report, warmedUp } from './report';
import { latencyEcho } from './ws-helpers/peer';
import { cpuMs, nowUs, peerResult, startPeer, startScheduler, stopAll, TOKEN } from './ws-helpers/processes';

/**
 * A's side: appends {i, t} to `pingName` and waits for B's echo of i on `pongName`, for the warm-up and then
 * `n` times, and stops `pingName` (B's loop ends); returns the round trips and how many were the warm-up's.
 * `onWarm` runs when the warm-up ends.
 */
async function pingPong(address: string, n: number, pingName: string, pongName: string, onWarm: () => void): Promise<{ rtts: number[]; warmup: number; close: () => Promise<void> }> {
  const a = await Client.connect(address, { token: TOKEN, reconnect: false });
  const ping = a.channel(pingName, { maxlen: 16 });
  const pong = a.channel(pongName, { maxlen: 16 });
  await Promise.all([ping.ready, pong.ready]);
  const it = pong[Symbol.asyncIterator]();
  const rtts: number[] = [];
  const started = performance.now();
  let warmup = -1;
  for (let i = 0; warmup < 0 || i < warmup + n; i++) {
    if (warmup < 0 && warmedUp(started, i, 10_000)) {
      warmup = i;
      onWarm();
    }
    const t = nowUs();
    ping.append({ i, t });
    const r = await it.next();
    if (r.value !== i) throw new Error(`echo out of order: ${String(r.value)} != ${i}`);
    rtts.push(nowUs() - t);
  }
  await ping.stop();
  return {
    rtts,
    warmup,
    close: async () => {
      await it.return?.();
      await a.close();
    },
  };
}

/** CPU time (µs) per round trip of the scheduler and of this process, next to the latency: what the hops cost, as against waiting. */
type Cpu = { schedulerCpuUsPerRoundTrip: number; thisProcessCpuUsPerRoundTrip: number };

function summary(name: string, samples: number[], rtts: number[], warmup: number, cpu: Cpu): void {
  if (samples.length !== rtts.length) throw new Error(`B saw ${samples.length} of ${rtts.length} items`);
  const oneWay = samples.slice(warmup);
  report(name, percentile(oneWay, 50), 'us', {
    p90: Number(percentile(oneWay, 90).toFixed(1)),
    p99: Number(percentile(oneWay, 99).toFixed(1)),
    roundTripP50: Number(percentile(rtts.slice(warmup), 50).toFixed(1)),
    samples: oneWay.length,
    ...cpu,
    cold: cold(samples.slice(0, warmup)),
    target: 150,
    targetP99: 1000,
  });
}

export async function run(): Promise<void> {
  const n = Number(process.env.SF_BENCH_APPENDS ?? 20_000);
  try {
    const { address, proc } = await startScheduler(0);
    const pid = proc.proc.pid;
    let c0 = [cpuMs(pid), cpuMs()];
    const cpu = (): Cpu => {
      const c1 = [cpuMs(pid), cpuMs()];
      const r = { schedulerCpuUsPerRoundTrip: Math.round(((c1[0] - c0[0]) * 1000) / n), thisProcessCpuUsPerRoundTrip: Math.round(((c1[1] - c0[1]) * 1000) / n) };
      c0 = c1;
      return r;
    };
    // B in another process.
    const b = startPeer('latency-echo', address);
    await b.waitFor(/^READY$/m);
    const across = await pingPong(address, n, 'lat-ping', 'lat-pong', cpu);
    const { samples } = await peerResult<{ samples: number[] }>(b);
    summary('channel-latency-ws', samples, across.rtts, across.warmup, cpu());
    await across.close();
    // A and B in this process, each its own WebSocket connection (fresh channels: the first ones keep their last items).
    let ready!: () => void;
    const bReady = new Promise<void>((resolve) => (ready = resolve));
    const local = latencyEcho(address, TOKEN, ready, 'lat-ping-1p', 'lat-pong-1p');
    await bReady;
    const within = await pingPong(address, n, 'lat-ping-1p', 'lat-pong-1p', cpu);
    const { samples: localSamples } = await local;
    summary('channel-latency-ws-one-process', localSamples, within.rtts, within.warmup, cpu());
    await within.close();
  } finally {
    await stopAll();
  }
}
