/**
 * Proof at scale with real processes: one standalone scheduler, 16 worker processes, 500 clients in 5
 * processes all subscribed to one channel, 1,000 appends (values and futures of tasks the workers compute)
 * from two producers, and one worker killed with SIGKILL half-way while it holds results and runs tasks
 * (the scenario is test/remote/scale-cluster.ts). It checks:
 *   - every one of the 500 clients saw all 1,000 items, in the same order, the order the scheduler keeps
 *     (a client joining afterwards replays the same sequence), and each producer's items in its own order;
 *   - every future in the channel gives its correct result, both to a client here and to one client of each
 *     subscriber process; the killed worker's (small, so scheduler-kept) results survive it, its running tasks rerun;
 *   - schedulerInfo() answered every call of a client probing it throughout (none hung).
 * Timings are printed, not asserted (bench/scale-processes.ts measures them against the targets).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import { stopAll } from '../support/processes';
import { percentile, runScale, slowestCalls } from './scale-cluster';

after(stopAll);

test('16 worker processes, 500 clients, 1,000 appends, one worker killed: every client sees every item in one order, no result is lost, the scheduler keeps answering', { timeout: 300_000 }, async () => {
  const run = await runScale({ log: (line) => console.log(`# ${line}`) });
  const o = run.options;
  const clients = o.clientProcesses * o.clientsPerProcess;

  // The log as the scheduler keeps it: every append, once, each producer's in its order.
  assert.equal(run.replay.length, o.appends, 'a late subscriber replays every append');
  assert.deepEqual([...run.replay].sort(), run.appended.flat().sort(), 'the channel holds exactly what the producers appended');
  for (const mine of run.appended) {
    const set = new Set(mine);
    assert.deepEqual(
      run.replay.filter((d) => set.has(d)),
      mine,
      "a producer's items are in the order it appended them",
    );
  }

  // Every client saw that sequence, all of it.
  assert.equal(run.subscribers.length, o.clientProcesses);
  for (const [i, r] of run.subscribers.entries()) {
    assert.deepEqual(r.counts, { [o.appends]: o.clientsPerProcess }, `subscriber process ${i}: items seen per client`);
    assert.deepEqual(r.hashes, { [run.replayHash]: o.clientsPerProcess }, `subscriber process ${i}: every client saw the channel's sequence`);
  }
  assert.equal(
    run.subscribers.reduce((n, r) => n + r.clients, 0),
    clients,
  );

  // No result lost: every future in the channel gives its result, here and in every subscriber process.
  assert.equal(run.futures.length, o.base + o.gated, 'every future is in the channel');
  for (const f of run.futures) assert.deepEqual({ key: f.key, got: f.got, error: f.error }, { key: f.key, got: f.expected, error: undefined });
  for (const r of run.subscribers) assert.equal(r.resultsHash, run.expectedResultsHash, 'a subscriber process got every result right');
  // The killed worker's results (small numbers: they travelled inline and the scheduler kept them) survive it
  // without a recompute; the tasks it was running ran again elsewhere. Large results held only by a killed
  // worker are recomputed: test/remote/peer-data.test.ts checks that.
  for (const key of run.victim.soloKeys) assert.ok(!run.stories[key].some((e) => e.event === 'recompute'), `${key} kept by the scheduler: ${JSON.stringify(run.stories[key])}`);
  assert.equal(run.workersAfter, o.workers - 1);
  assert.equal(run.tasks.lost ?? 0, 0);
  assert.equal(run.tasks.error ?? 0, 0);

  // The scheduler answered every probe; the figures are for the reader (the bench holds the target).
  assert.equal(run.probe.hung, undefined, run.probe.hung);
  assert.ok(run.probe.samples.length > 0);
  // Where Linux tells, every call says how long the scheduler's thread ran and waited for a CPU during it.
  if (fs.existsSync(`/proc/${process.pid}/task/${process.pid}/schedstat`)) {
    for (const times of [run.probe.schedulerCpuMs, run.probe.schedulerWaitMs, run.probe.probeWaitMs]) {
      assert.equal(times?.length, run.probe.samples.length);
      assert.ok(times.every((ms) => ms >= 0));
    }
  }
  const s = run.probe.samples;
  const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(0);
  console.log(
    `# schedulerInfo() round trips during the run: ${s.length} calls, p50 ${percentile(s, 50)} ms, p99 ${percentile(s, 99)} ms, max ${Math.max(...s)} ms`,
  );
  console.log(`# slowest calls: ${JSON.stringify(slowestCalls(run, 5))}`);
  console.log(
    `# workers joined in ${run.workersJoinMs} ms; ${clients} clients subscribed in ${run.clientsReadyMs} ms; all saw ${o.appends} appends ${Math.round(run.deliverMs)} ms after the first` +
      ` (${Math.round((clients * o.appends) / (run.deliverMs / 1000))} deliveries/s); scheduler RSS ${mib(run.schedulerRssWorkers)} MiB with the workers, ${mib(run.schedulerRssClients)} MiB with the clients, ${mib(run.schedulerRss)} MiB at the end (peak ${mib(run.schedulerPeakRss)} MiB);` +
      ` load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`,
  );
});
