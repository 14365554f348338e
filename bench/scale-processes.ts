/**
 * scale-processes: the real-process scale run of test/remote/scale-cluster.ts — a standalone scheduler, 16
 * worker processes (1 thread each), 500 clients in 5 processes subscribed to one channel, 1,000 appends
 * (values and futures of worker tasks) from two producers, one worker killed with SIGKILL half-way.
 * Figures (median of the rounds):
 *   - scale-processes-info-p50 / -p99: schedulerInfo() round trips of a client probing throughout the run
 *     (target: p99 <= 50 ms); in extra, the slowest calls with how long the scheduler's thread ran and
 *     waited for a CPU during each, and per round the share of the time of the calls over 50 ms that the
 *     scheduler's thread spent runnable but waiting for a CPU (the machine's other processes, not its work);
 *   - scale-processes-deliver: ms from the first append until every client saw all 1,000 items;
 *   - scale-processes-deliveries: appends x clients per second over that time;
 *   - scale-processes-rss: the scheduler process's resident set at the end of the run (in extra: its peak,
 *     and its size once the workers had joined and once the 500 clients had subscribed).
 * Every figure carries the machine's load average, since the machine may be shared.
 * The subscriber processes run at nice 10, below the scheduler (see clientNice in scale-cluster.ts);
 * SF_BENCH_CLIENT_NICE sets another value (0: the scheduler's priority, to compare).
 */
import os from 'node:os';
import { median, report } from './report';
import { SCALE_DEFAULTS, percentile, runScale, schedulerWaitShare, slowestCalls } from '../test/remote/scale-cluster';

export async function run(): Promise<void> {
  const rounds = Number(process.env.SF_BENCH_ROUNDS ?? 3);
  const p50: number[] = [];
  const p99: number[] = [];
  const deliver: number[] = [];
  const subscriberCpu: number[] = [];
  const rate: number[] = [];
  const rss: number[] = [];
  const peak: number[] = [];
  const withWorkers: number[] = [];
  const withClients: number[] = [];
  const loads: number[] = [];
  const slowest: ReturnType<typeof slowestCalls>[] = [];
  const waitShare: (number | null)[] = [];
  let clients = 0;
  let workers = 0;
  const clientNice = process.env.SF_BENCH_CLIENT_NICE === undefined ? SCALE_DEFAULTS.clientNice : Number(process.env.SF_BENCH_CLIENT_NICE);
  if (!Number.isInteger(clientNice) || clientNice < 0 || clientNice > 19) throw new Error(`SF_BENCH_CLIENT_NICE must be a whole number from 0 to 19, not '${process.env.SF_BENCH_CLIENT_NICE}'`);
  for (let round = 0; round < rounds; round++) {
    const r = await runScale({
      profileDir: process.env.SF_BENCH_PROFILE,
      clientNice,
      log: (line) => process.stderr.write(`scale-processes: ${line}\n`),
    });
    const o = r.options;
    clients = o.clientProcesses * o.clientsPerProcess;
    workers = o.workers;
    const wrong = r.subscribers.some((s) => Object.keys(s.hashes).length !== 1 || s.hashes[r.replayHash] !== o.clientsPerProcess) || r.futures.some((f) => f.got !== f.expected);
    if (r.probe.hung) throw new Error(r.probe.hung);
    if (wrong) throw new Error('a client saw another sequence than the channel, or a future gave a wrong result: run test/remote/scale.system.test.ts');
    p50.push(percentile(r.probe.samples, 50));
    p99.push(percentile(r.probe.samples, 99));
    deliver.push(r.deliverMs);
    subscriberCpu.push(r.subscribers.reduce((sum, sub) => sum + sub.cpuMs, 0));
    rate.push((clients * o.appends) / (r.deliverMs / 1000));
    rss.push(r.schedulerRss);
    peak.push(r.schedulerPeakRss);
    withWorkers.push(r.schedulerRssWorkers);
    withClients.push(r.schedulerRssClients);
    loads.push(os.loadavg()[0]);
    slowest.push(slowestCalls(r, 3));
    const share = schedulerWaitShare(r.probe, 50);
    waitShare.push(share === undefined ? null : Math.round(share * 100) / 100);
  }
  const extra = { workers, clients, appends: 1000, runs: rounds, clientNice, loadavg1: loads.map((l) => Number(l.toFixed(2))), cpus: os.availableParallelism() };
  report('scale-processes-info-p50', median(p50), 'ms', { ...extra, rounds: p50 });
  report('scale-processes-info-p99', median(p99), 'ms', { ...extra, rounds: p99, target: 50, slowest, schedulerWaitShareOver50ms: waitShare });
  // The subscriber processes' CPU from READY to their last item, summed: the clients' side of the deliveries.
  report('scale-processes-deliver', median(deliver), 'ms', { ...extra, rounds: deliver.map(Math.round), subscriberCpuMs: subscriberCpu });
  report('scale-processes-deliveries', median(rate), 'deliveries/s', { ...extra, rounds: rate.map(Math.round) });
  report('scale-processes-rss', median(rss) / 2 ** 20, 'MiB', { ...extra, rounds: rss.map((b) => Math.round(b / 2 ** 20)), peakMiB: peak.map((b) => Math.round(b / 2 ** 20)), withWorkersMiB: withWorkers.map((b) => Math.round(b / 2 ** 20)), withClientsMiB: withClients.map((b) => Math.round(b / 2 ** 20)) });
}
