/**
 * future-roundtrip-ws: this process submits a trivial task and appends its future to a channel; another
 * process receives the future from its `for await`, awaits `result()` and stamps the time (monotonic
 * clock, shared by the processes of a machine). The figure is submit -> result in the other process.
 * Two layouts, both reported: `future-roundtrip-ws`, the scheduler running the task on its own pool thread
 * (`--threads 1`), and `future-roundtrip-ws-realistic`, a scheduler running no tasks (`--threads 0`) with
 * two worker processes of one thread each, so the task and its result cross to a worker process and back.
 */
import { Client } from '../scheduler';
import { percentile, report } from './report';
import { nowUs, peerResult, startPeer, startScheduler, startWorker, stopAll, TOKEN } from './ws-helpers/processes';
import { waitUntil } from '../test/support/wait';

export async function run(): Promise<void> {
  await roundtrips('future-roundtrip-ws', 1, 0);
  await roundtrips('future-roundtrip-ws-realistic', 0, 2);
}

/** Submit -> result in another process, `n` times, with a scheduler of `threads` threads and `workers` worker processes. */
async function roundtrips(name: string, threads: number, workers: number): Promise<void> {
  const n = Number(process.env.SF_BENCH_ROUNDTRIPS ?? 5000);
  const warmup = 500;
  try {
    const { address } = await startScheduler(threads);
    await Promise.all(Array.from({ length: workers }, () => startWorker(address, 1)));
    const b = startPeer('roundtrip-echo', address, n);
    await b.waitFor(/^READY$/m);
    const a = await Client.connect(address, { token: TOKEN, reconnect: false });
    await waitUntil(`${workers} workers to join`, async () => (await a.schedulerInfo()).workers.length >= workers);
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
    report(name, percentile(kept, 50) / 1000, 'ms', {
      p90: Number((percentile(kept, 90) / 1000).toFixed(3)),
      p99: Number((percentile(kept, 99) / 1000).toFixed(3)),
      samples: kept.length,
      schedulerThreads: threads,
      workerProcesses: workers,
      target: 1,
      targetP99: 5,
    });
    await it.return?.();
    await a.close();
  } finally {
    await stopAll();
  }
}
