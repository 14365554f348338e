/**
 * future-roundtrip-ws: this process submits a trivial task and appends its future to a channel; another
 * process receives the future from its `for await`, awaits `result()` and stamps the time (monotonic
 * clock, shared by the processes of a machine). The figure is submit -> result in the other process.
 * Two layouts, both reported: `future-roundtrip-ws`, the scheduler running the task on its own pool thread
 * (`--threads 1`), and `future-roundtrip-ws-realistic`, a scheduler running no tasks (`--threads 0`) with
 * two worker processes of one thread each, so the task and its result cross to a worker process and back.
 * Each layout first runs its loop for WARMUP_MS and at least 5,000 trips (report.ts `warmedUp`: code and
 * machine take that long to settle); those trips are reported apart as `cold`, the next SF_BENCH_ROUNDTRIPS
 * (10,000) are the figure.
 */
import { Client } from '../scheduler';
import { cold, percentile, report, warmedUp } from './report';
import { cpuMs, mainThreadCpuMs, nowUs, peerResult, startPeer, startScheduler, startWorker, stopAll, TOKEN } from './ws-helpers/processes';
import { waitUntil } from '../test/support/wait';

export async function run(): Promise<void> {
  await roundtrips('future-roundtrip-ws', 1, 0);
  await roundtrips('future-roundtrip-ws-realistic', 0, 2);
}

/** Submit -> result in another process, `n` times, with a scheduler of `threads` threads and `workers` worker processes. */
async function roundtrips(name: string, threads: number, workers: number): Promise<void> {
  const n = Number(process.env.SF_BENCH_ROUNDTRIPS ?? 10000);
  try {
    const { address, proc: scheduler } = await startScheduler(threads);
    const workerProcs = await Promise.all(Array.from({ length: workers }, () => startWorker(address, 1)));
    const b = startPeer('roundtrip-echo', address);
    await b.waitFor(/^READY$/m);
    const a = await Client.connect(address, { token: TOKEN, reconnect: false });
    await waitUntil(`${workers} workers to join`, async () => (await a.schedulerInfo()).workers.length >= workers);
    const futures = a.channel('rt-futures', { maxlen: 16 });
    const acks = a.channel('rt-acks', { maxlen: 16 });
    await Promise.all([futures.ready, acks.ready]);
    const it = acks[Symbol.asyncIterator]();
    const samples: number[] = [];
    // CPU (user + system, all threads) each process spends per measured round trip: steadier than p99 on a
    // shared machine. Counted from the end of the warm-up.
    // `workerK.main`: the worker process's main thread alone (its pool thread is the rest).
    const meters: Record<string, () => number> = { scheduler: () => cpuMs(scheduler.proc.pid), A: () => cpuMs(), B: () => cpuMs(b.proc.pid) };
    workerProcs.forEach((w, k) => {
      meters[`worker${k}`] = () => cpuMs(w.proc.pid);
      meters[`worker${k}.main`] = () => mainThreadCpuMs(w.proc.pid);
    });
    let cpu0: Record<string, number> = {};
    const started = performance.now();
    let warmup = -1;
    for (let i = 0; warmup < 0 || i < warmup + n; i++) {
      if (warmup < 0 && warmedUp(started, i, 5_000)) {
        warmup = i;
        cpu0 = Object.fromEntries(Object.entries(meters).map(([k, m]) => [k, m()]));
      }
      const t0 = nowUs();
      const f = a.submit({ fn: (x: number) => x + 1, args: [i], pure: false });
      futures.append(f);
      const r = await it.next();
      const ack = r.value as { i: number; t: number };
      if (ack.i !== i) throw new Error(`ack out of order: ${ack.i} != ${i}`);
      samples.push(ack.t - t0);
      f.release();
    }
    const cpuUsPerTrip = Object.fromEntries(Object.entries(meters).map(([k, m]) => [k, Math.round(((m() - cpu0[k]) * 1000) / n)]));
    // The other process reads until the channel stops.
    await futures.stop();
    const { received } = await peerResult<{ received: number }>(b);
    if (received !== samples.length) throw new Error(`the other process got ${received} of ${samples.length} futures`);
    const kept = samples.slice(warmup);
    report(name, percentile(kept, 50) / 1000, 'ms', {
      p90: Number((percentile(kept, 90) / 1000).toFixed(3)),
      p99: Number((percentile(kept, 99) / 1000).toFixed(3)),
      samples: kept.length,
      schedulerThreads: threads,
      workerProcesses: workers,
      cold: cold(samples.slice(0, warmup), 1000),
      target: 1,
      targetP99: 5,
      cpuUsPerTrip,
    });
    await it.return?.();
    await a.close();
  } finally {
    await stopAll();
  }
}
