/**
 * loopback-ring: the machine's floor for the latency benchmarks, with no Shared Futures code at all. A byte
 * goes round a ring of RING_PROCESSES Node processes over loopback TCP (Nagle off), as many hops as a
 * realistic round trip makes between processes; this process times each lap. Like the latency benchmarks it
 * runs for WARMUP_MS and at least 10,000 laps before measuring (`cold` is the warm-up's laps), so its figure
 * is read beside theirs: a round trip cannot be faster than the lap of as many hops on the same machine in
 * the same hour.
 *
 *   node loopback-ring.js relay PORT    a relay: forwards what it reads to 127.0.0.1:PORT, prints `PORT <its own>`
 */
import net from 'node:net';
import { cold, percentile, report, warmedUp } from './report';
import { spawnNode, terminateAll } from '../test/support/processes';

const RING_PROCESSES = 6;

export async function run(): Promise<void> {
  const laps = Number(process.env.SF_BENCH_LAPS ?? 5000);
  const server = net.createServer();
  try {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    // The last relay connects back as soon as it starts.
    const incoming = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
    // Relays from the last to the first, each told where the next one listens; the last forwards back here.
    let next = (server.address() as net.AddressInfo).port;
    for (let k = RING_PROCESSES - 1; k >= 1; k--) {
      const relay = spawnNode(__filename, ['relay', String(next)]);
      next = Number((await relay.waitFor(/^PORT (\d+)$/m, 30_000))[1]);
    }
    const out = net.connect(next, '127.0.0.1');
    await new Promise<void>((resolve, reject) => out.once('connect', resolve).once('error', reject));
    out.setNoDelay(true);
    const back = await incoming;
    back.setNoDelay(true);
    const samples: number[] = [];
    const started = performance.now();
    let warmup = -1;
    await new Promise<void>((resolve) => {
      let t0 = 0;
      const lap = () => {
        if (warmup < 0 && warmedUp(started, samples.length, 10_000)) warmup = samples.length;
        if (warmup >= 0 && samples.length >= warmup + laps) return resolve();
        t0 = performance.now();
        out.write('x');
      };
      back.on('data', () => {
        samples.push((performance.now() - t0) * 1000);
        lap();
      });
      lap();
    });
    const kept = samples.slice(warmup);
    report('loopback-ring', percentile(kept, 50), 'us', {
      p90: Number(percentile(kept, 90).toFixed(1)),
      p99: Number(percentile(kept, 99).toFixed(1)),
      processes: RING_PROCESSES,
      hops: RING_PROCESSES,
      hopP50: Number((percentile(kept, 50) / RING_PROCESSES).toFixed(1)),
      samples: kept.length,
      cold: cold(samples.slice(0, warmup)),
    });
    out.destroy();
    back.destroy();
  } finally {
    server.close();
    await terminateAll(5000);
  }
}

/** A relay of the ring: what it reads goes on to the next process. */
function relay(nextPort: number): void {
  const out = net.connect(nextPort, '127.0.0.1', () => out.setNoDelay(true));
  const server = net.createServer((s) => {
    s.setNoDelay(true);
    s.on('data', (d) => out.write(d));
  });
  server.listen(0, '127.0.0.1', () => console.log(`PORT ${(server.address() as net.AddressInfo).port}`));
  // The ring's first process going away ends the relay.
  out.on('close', () => process.exit(0));
  out.on('error', () => process.exit(0));
}

if (require.main === module && process.argv[2] === 'relay') relay(Number(process.argv[3]));
