/** The client API against a standalone scheduler and worker processes over WebSocket. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Client, Future, TaskError } from '../../scheduler';
import { fileGate } from '../support/gate';
import { waitUntil } from '../support/wait';
import { startScheduler, startWorker, stopAll } from '../support/processes';

after(stopAll);

const TOKEN = 'test-token-remote-0123456789';
const scheduler = () => startScheduler(['--port', '0', '--threads', '0', '--token', TOKEN]);
const worker = (address: string, threads: number) => startWorker(address, ['--threads', String(threads), '--token', TOKEN]);

test('the same API works over ws:// with worker processes; data stays on workers and moves when needed', async () => {
  const s = await scheduler();
  await worker(s.address, 2);
  await worker(s.address, 1);
  const client = await Client.connect(s.address, { token: TOKEN });
  try {
    await waitUntil('two workers joined', async () => (await client.schedulerInfo()).workers.length === 2, 10_000);
    const xs = client.map((x: number) => ({ x, sq: x * x }), [1, 2, 3, 4, 5, 6]);
    const total = client.submit((...parts: { sq: number }[]) => parts.reduce((a, p) => a + p.sq, 0), ...xs);
    assert.equal(await total.result(), 91);
    assert.deepEqual(await xs[2].result(), { x: 3, sq: 9 });
    const m = client.submit(() => new Map([['k', new Set([1, 2])]]));
    assert.deepEqual(await m.result(), new Map([['k', new Set([1, 2])]]), 'structured-clone types cross the wire');
    const err = await client.submit(() => {
      throw new TypeError('remote boom');
    }).exception();
    assert.ok(err instanceof TaskError);
    assert.equal(err.name, 'TypeError');
    const nested = client.submit(async (n: number) => {
      const c = localClient();
      return (await c.gather(c.map((i: number) => i * 10, [n, n + 1]))) as number[];
    }, 4);
    assert.deepEqual(await nested.result(), [40, 50], 'localClient() inside a remote worker task');
    const chan = client.channel('remote-chan');
    chan.append(total);
    chan.append({ note: 'value' });
    await chan.flush();
    const other = await Client.connect(`${s.address}/?token=${TOKEN}`);
    const seen = other.channel('remote-chan');
    await seen.ready;
    assert.equal(await (seen.futures[0] as Future).result(), 91);
    assert.deepEqual(seen.data[1], { note: 'value' });
    await other.close();
  } finally {
    await client.close();
    await stopAll();
  }
});

test('a worker killed with SIGKILL mid-task: its tasks are rescheduled and its results recomputed', async () => {
  const s = await scheduler();
  const doomed = await worker(s.address, 2);
  const client = await Client.connect(s.address, { token: TOKEN });
  try {
    await waitUntil('worker joined', async () => (await client.schedulerInfo()).workers.length === 1, 10_000);
    // Results computed on the doomed worker (larger than INLINE_RESULT_MAX_BYTES: only it holds them), then a
    // slow dependent running there when it dies.
    const base = client.map((x: number) => new Float64Array(2048).fill(x + 1), [1, 2, 3]);
    await client.gather(base);
    // The slow tasks run until the test lets them go, after the worker running them is killed.
    const gate = fileGate();
    const held = async (x: number, file: string) => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- task code runs on a worker, where require is the way in
      const fsm = require('node:fs');
      while (!fsm.existsSync(file)) await sleep(10);
      return x * 100;
    };
    const slow = [0, 1].map((x) => client.submit(held, x, gate.path));
    const sum = client.submit((...b: Float64Array[]) => b.reduce((p, q) => p + q[0], 0), ...base);
    await waitUntil('slow tasks running', () => slow.every((f) => f.status === 'processing'), 10_000);
    await worker(s.address, 2);
    await waitUntil('second worker joined', async () => (await client.schedulerInfo()).workers.length === 2, 10_000);
    await doomed.stop('SIGKILL');
    gate.open();
    assert.equal(await sum.result(20_000), 9, 'dependencies lost with the worker were recomputed');
    assert.deepEqual(await client.gather(slow, 20_000), [0, 100]);
    assert.deepEqual(await client.gather(base), [2, 3, 4].map((v) => new Float64Array(2048).fill(v)));
    const story = await client.story(base[0].key);
    assert.ok(story.some((e) => e.event === 'recompute'), JSON.stringify(story));
    const info = await client.schedulerInfo();
    assert.equal(info.workers.length, 1);
    assert.equal(info.tasks.lost ?? 0, 0);
  } finally {
    await client.close();
    await stopAll();
  }
});
