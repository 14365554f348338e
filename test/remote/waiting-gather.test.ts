/**
 * `result()` of a future still running asks the scheduler at once, and the scheduler answers as soon as the
 * task finishes: no round trip after the 'finished' status. Here across two WebSocket clients, the second
 * receiving the future from a channel while its task runs on a worker process.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Client, LocalCluster, type Future } from '../../scheduler';
import { type ClientState, SchedulerState } from '../../scheduler/core/state';
import type { ClientMessage } from '../../scheduler/protocol/messages';
import { WorkerProcess } from '../../scheduler/worker/remote/worker-process';
import { fileGate } from '../support/gate';
import { waitUntil } from '../support/wait';

/** Gathers the scheduler received, with the state of their first key at that moment. */
const gathers: { keys: string[]; wait: boolean; state: string | undefined }[] = [];
// The server hands each message to the core with its client's state (handleClientOf, which handleClient uses too).
const original = SchedulerState.prototype.handleClientOf;
SchedulerState.prototype.handleClientOf = function (this: SchedulerState, c: ClientState, msg: ClientMessage) {
  if (msg.op === 'gather') gathers.push({ keys: msg.keys, wait: msg.wait === true, state: this.tasks.get(msg.keys[0])?.state });
  return original.call(this, c, msg);
};

async function gated(x: number, gate: string): Promise<number> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- task code runs on a worker, where require is the way in
  const fsm = require('node:fs');
  while (!fsm.existsSync(gate)) await new Promise((r) => setTimeout(r, 5));
  return x + 1;
}

test("a subscriber's result() of a running future is asked for while it runs and answered when it finishes", async () => {
  const cluster = await LocalCluster.start({ threads: 0, listen: { port: 0 } });
  const worker = await WorkerProcess.start(cluster.address, { threads: 1, token: cluster.token });
  const a = await Client.connect(cluster.address, { token: cluster.token, reconnect: false });
  const b = await Client.connect(cluster.address, { token: cluster.token, reconnect: false });
  const gate = fileGate();
  try {
    await waitUntil('the worker joined', async () => (await a.schedulerInfo()).workers.length === 1);
    const inB = b.channel('waiting-gather');
    await inB.ready;
    const received = () => inB.futures as Future[];
    const f = a.submit({ fn: gated, args: [41, gate.path], pure: false });
    a.channel('waiting-gather').append(f);
    await waitUntil('b received the future', () => received().length === 1);
    await waitUntil('the task runs', () => f.status === 'processing');
    const result = received()[0].result(20_000);
    await waitUntil('the scheduler holds b’s gather', () => gathers.some((g) => g.keys[0] === f.key));
    const asked = gathers.filter((g) => g.keys[0] === f.key);
    assert.deepEqual(asked, [{ keys: [f.key], wait: true, state: 'processing' }], 'one gather, sent while the task ran');
    gate.open();
    assert.equal(await result, 42);
    assert.equal(received()[0].status, 'finished', 'the result comes with (not before) the status');
    assert.equal(gathers.filter((g) => g.keys[0] === f.key).length, 1, 'no second gather');
  } finally {
    gate.open();
    await Promise.all([a.close(), b.close()]);
    await worker.close();
    await cluster.close();
  }
});

test('result(timeout) called again and again on a running future parks one gather at the scheduler, not one per call', async () => {
  const cluster = await LocalCluster.start({ threads: 1 });
  const client = await Client.connect(cluster);
  const gate = fileGate();
  try {
    const f = client.submit({ fn: gated, args: [1, gate.path], pure: false });
    await waitUntil('the task runs', () => f.status === 'processing');
    for (let i = 0; i < 5; i++) await assert.rejects(f.result(20), (err: Error) => err.name === 'TimeoutError');
    const waiting = gathers.filter((g) => g.keys[0] === f.key);
    assert.deepEqual(waiting, [{ keys: [f.key], wait: true, state: 'processing' }], 'one waiting gather for five result() calls');
    gate.open();
    assert.equal(await f.result(20_000), 2);
    assert.equal(await f.result(20_000), 2);
    assert.equal(gathers.filter((g) => g.keys[0] === f.key && g.wait).length, 1, 'still the one waiting gather');
  } finally {
    gate.open();
    await client.close();
    await cluster.close();
  }
});
