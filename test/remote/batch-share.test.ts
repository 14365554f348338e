/**
 * Ready tasks are shared among every worker of the cluster: a worker process takes one thread's share of
 * the queue counted over all threads, not the whole queue because it was asked first. Four fake worker
 * processes (in-thread transports answering like `shared-futures worker`) show how a batch of 64 spreads.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Client, LocalCluster } from '../../scheduler';
import { inThreadPair } from '../../scheduler/transport/in-thread';
import type { FromWorkerProcess, ToWorkerProcess } from '../../scheduler/protocol/worker-process-messages';
import { waitUntil } from '../support/wait';

/** A worker process that runs nothing: it records the tasks it is sent and, when `answering`, reports them done at once. */
function fakeWorker(cluster: LocalCluster, id: string) {
  const [workerEnd, schedulerEnd] = inThreadPair<FromWorkerProcess, ToWorkerProcess>();
  const w = { id, received: 0, batches: 0, answering: true };
  workerEnd.onMessages((batch) => {
    for (const m of batch) {
      if (m.op !== 'run') continue;
      w.received += m.tasks.length;
      w.batches++;
      if (!w.answering) continue;
      workerEnd.send({ op: 'ran', ms: 0.001 * m.tasks.length, n: 1 });
      workerEnd.send({ op: 'done', outcomes: m.tasks.map((t) => ({ key: t.key, run: t.run, ok: true as const, nbytes: 8 })) });
    }
  });
  cluster.server.acceptWorkerProcess(schedulerEnd, id, 1);
  return w;
}

test('a batch of ready tasks spreads over every worker process instead of going to the first one asked', async () => {
  const cluster = await LocalCluster.start({ threads: 0 });
  const client = await Client.connect(cluster);
  try {
    const workers = ['w1', 'w2', 'w3', 'w4'].map((id) => fakeWorker(cluster, id));
    // A first round teaches every worker's batch sizer that these tasks are quick (so batches may be large).
    const warm = client.map((x: number) => x, Array.from({ length: 64 }, (_, i) => i), { pure: false });
    await waitUntil('the warm-up tasks to finish', () => warm.every((f) => f.done()));
    for (const w of workers) {
      w.answering = false;
      w.received = 0;
      w.batches = 0;
    }
    const n = 64;
    client.map((x: number) => x, Array.from({ length: n }, (_, i) => i), { pure: false });
    // A worker holds at most two batches in flight (one thread each): dispatch stops when every task is out or every slot is taken.
    await waitUntil('dispatch to stop', () => workers.reduce((s, w) => s + w.received, 0) === n || workers.every((w) => w.batches === 2));
    // Each batch is at most one thread's share of what is ready.
    const share = Math.ceil(n / workers.length);
    for (const w of workers) assert.ok(w.received <= 2 * share, `${w.id} took ${w.received} of ${n} tasks (${workers.map((x) => x.received).join(', ')})`);
    assert.ok(workers.every((w) => w.received > 0), `every worker gets some: ${workers.map((x) => x.received).join(', ')}`);
  } finally {
    await client.close();
    await cluster.close();
  }
});
