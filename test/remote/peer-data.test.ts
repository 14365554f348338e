/**
 * The peer-to-peer data plane: worker processes fetch dependencies from each other and clients fetch results
 * from the workers holding them, without the scheduler relaying the data. Data through the scheduler is
 * counted where it would pass: RemoteWorkerAdapter.fetch (the scheduler asking a worker process for results).
 */
import { test, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { AuthenticationError, Client, LocalCluster, type Future } from '../../scheduler';
import { RemoteWorkerAdapter } from '../../scheduler/worker/remote/remote-worker-adapter';
import { WorkerProcess } from '../../scheduler/worker/remote/worker-process';
import { PeerClient } from '../../scheduler/wire/peer-client';
import { RAW_MIN_BYTES } from '../../scheduler/wire/peer-frames';
import { listenForPeers } from '../../scheduler/worker/remote/peer-server';
import { DependencyFetcher } from '../../scheduler/worker/remote/dep-fetcher';
import { ThreadRunner } from '../../scheduler/worker/pool/thread-runner';
import type { Batch, RunId } from '../../scheduler/worker/pool/batch';
import { fileGate, type Gate } from '../support/gate';
import { waitUntil } from '../support/wait';
import { startScheduler, startWorker, stopAll } from '../support/processes';

after(stopAll);

/** Keys the scheduler fetched from worker processes (relayed through it), since the test began. */
const relayed: string[] = [];
const originalFetch = RemoteWorkerAdapter.prototype.fetch;
RemoteWorkerAdapter.prototype.fetch = function (this: RemoteWorkerAdapter, keys: string[]) {
  relayed.push(...keys);
  return originalFetch.call(this, keys);
};

const gates: Gate[] = [];
afterEach(() => {
  for (const g of gates.splice(0)) g.open();
  relayed.length = 0;
});

/** A task that holds its pool thread (without spinning) until `gate` exists. */
function holdThread(gate: string): number {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- task code runs on a worker, where require is the way in
  const fsm = require('node:fs');
  const cell = new Int32Array(new SharedArrayBuffer(4));
  while (!fsm.existsSync(gate)) Atomics.wait(cell, 0, 0, 5);
  return 0;
}

/**
 * Fills the only worker there is with two tasks that hold its thread (one running, one queued behind it, in
 * two batches): it pulls no more work until the returned gate opens, so the next tasks go to a worker that joins.
 */
async function occupy(client: Client): Promise<Gate> {
  const gate = fileGate();
  gates.push(gate);
  for (let i = 0; i < 2; i++) {
    const f: Future = client.submit({ fn: holdThread, args: [gate.path], pure: false });
    await waitUntil(`blocker ${i} dispatched`, () => f.status === 'processing', 20_000);
  }
  return gate;
}

/** The results a worker process stores (what its peer server serves). */
const stores = (w: WorkerProcess) => (w as unknown as { store: Map<string, unknown> }).store;

async function inProcessCluster() {
  const cluster = await LocalCluster.start({ threads: 0, listen: { port: 0 } });
  const workers: WorkerProcess[] = [];
  const addWorker = async () => {
    const w = await WorkerProcess.start(cluster.address, { threads: 1, token: cluster.token });
    workers.push(w);
    return w;
  };
  const close = async () => {
    await Promise.all(workers.map((w) => w.close()));
    await cluster.close();
  };
  return { cluster, addWorker, close, token: cluster.token as string };
}

test('a dependency moves from worker to worker without passing through the scheduler', async () => {
  const c = await inProcessCluster();
  const client = await Client.connect(c.cluster.address, { token: c.token, reconnect: false });
  try {
    const wa = await c.addWorker();
    await waitUntil('worker A joined', async () => (await client.schedulerInfo()).workers.length === 1);
    const a = client.submit((n: number) => new Float64Array(n).fill(1.5), 100_000);
    await waitUntil('a computed on A', () => a.status === 'finished', 20_000);
    assert.ok(stores(wa).has(a.key), 'a large result stays on the worker that computed it');
    const gate = await occupy(client);
    const wb = await c.addWorker();
    await waitUntil('worker B joined', async () => (await client.schedulerInfo()).workers.length === 2);
    // A is full: b runs on B, so the sum needs one dependency from the other worker wherever it runs (both
    // are larger than INLINE_RESULT_MAX_BYTES: they stay on their workers).
    const b = client.submit((n: number) => new Float64Array(n).fill(2), 10_000);
    await waitUntil('b computed on B', () => b.status === 'finished', 20_000);
    assert.ok(stores(wb).has(b.key) && !stores(wa).has(b.key));
    gate.open();
    const sum = client.submit((x: Float64Array, y: Float64Array) => x.reduce((s, v) => s + v, 0) + y.reduce((s, v) => s + v, 0), a, b);
    assert.equal(await sum.result(20_000), 150_000 + 20_000);
    assert.deepEqual(relayed, [], 'the scheduler fetched no result from a worker process');
  } finally {
    await client.close();
    await c.close();
  }
});

test('a small result travels inline: the scheduler keeps it, answers for it and ships it to dependents, also once its worker is gone', async () => {
  const c = await inProcessCluster();
  const client = await Client.connect(c.cluster.address, { token: c.token, reconnect: false });
  try {
    const w = await c.addWorker();
    await waitUntil('the worker joined', async () => (await client.schedulerInfo()).workers.length === 1);
    const n = client.submit((x: number) => x + 1, 41);
    const o = client.submit((k: string) => ({ k, xs: [1, 2, 3], m: new Map([[1, 'one']]) }), 'obj');
    const s = client.submit((k: string) => k.repeat(100), 'ab');
    await waitUntil('computed', () => [n, o, s].every((f) => f.status === 'finished'), 20_000);
    assert.ok(![n, o, s].some((f) => stores(w).has(f.key)), 'the worker does not keep what the scheduler keeps');
    const sum = client.submit((a: number, b: { xs: number[] }) => a + b.xs.length, n, o);
    assert.equal(await sum.result(20_000), 45);
    // The only worker goes away: results the scheduler kept are still there, and nothing is recomputed.
    await w.close();
    await waitUntil('the worker left', async () => (await client.schedulerInfo()).workers.length === 0);
    assert.deepEqual(await client.gather([n, o, s, sum], 20_000), [42, { k: 'obj', xs: [1, 2, 3], m: new Map([[1, 'one']]) }, 'ab'.repeat(100), 45]);
    for (const f of [n, o, s, sum]) {
      const story = await client.story(f.key);
      assert.ok(!story.some((e) => e.event === 'recompute'), `${f.key} kept: ${JSON.stringify(story)}`);
    }
    assert.deepEqual(relayed, [], 'the scheduler fetched nothing from the worker');
  } finally {
    await client.close();
    await c.close();
  }
});

test("a holder whose peer port cannot be reached: the dependent still gets the value, through the scheduler", async () => {
  const c = await inProcessCluster();
  const client = await Client.connect(c.cluster.address, { token: c.token, reconnect: false });
  try {
    const a = await c.addWorker();
    await waitUntil('worker A joined', async () => (await client.schedulerInfo()).workers.length === 1);
    // Larger than INLINE_RESULT_MAX_BYTES: x stays on A.
    const x = client.submit((n: number) => Array.from({ length: n }, (_, i) => i), 5000);
    await waitUntil('x computed on A', () => x.status === 'finished', 20_000);
    // A stays connected to the scheduler but its announced peer address no longer answers.
    await (a as unknown as { peerServer: { close(): Promise<void> } }).peerServer.close();
    const gate = await occupy(client);
    await c.addWorker();
    await waitUntil('worker B joined', async () => (await client.schedulerInfo()).workers.length === 2);
    const y = client.submit((xs: number[]) => xs.reduce((p, q) => p + q, 0), x);
    await waitUntil('y dispatched to B', () => y.status === 'processing' || y.status === 'finished', 20_000);
    gate.open();
    assert.equal(await y.result(20_000), 12_497_500);
    assert.ok(relayed.includes(x.key), 'x was relayed by the scheduler');
  } finally {
    await client.close();
    await c.close();
  }
});

test("result() comes from the worker directly ('auto'), through the scheduler with 'never' or when the worker cannot be reached", async () => {
  const c = await inProcessCluster();
  const auto = await Client.connect(c.cluster.address, { token: c.token, reconnect: false });
  const never = await Client.connect(c.cluster.address, { token: c.token, reconnect: false, direct: 'never' });
  const always = await Client.connect(c.cluster.address, { token: c.token, reconnect: false, direct: 'always' });
  try {
    const w = await c.addWorker();
    await waitUntil('the worker joined', async () => (await auto.schedulerInfo()).workers.length === 1);
    // Larger than INLINE_RESULT_MAX_BYTES, so it stays on the worker.
    const f = auto.submit((n: number) => ({ n, xs: Array.from({ length: n }, (_, i) => i * i) }), 5000);
    const expected = { n: 5000, xs: Array.from({ length: 5000 }, (_, i) => i * i) };
    assert.deepEqual(await f.result(20_000), expected);
    assert.deepEqual(await auto.gather([f, f]), [expected, expected]);
    assert.deepEqual(await always.future(f.key).result(20_000), expected);
    assert.deepEqual(relayed, [], "'auto' and 'always' fetch from the worker");

    assert.deepEqual(await never.future(f.key).result(20_000), expected);
    assert.deepEqual(relayed, [f.key], "'never' goes through the scheduler");

    // The worker's peer port closes (an address that no longer answers): 'auto' falls back to the scheduler.
    relayed.length = 0;
    await (w as unknown as { peerServer: { close(): Promise<void> } }).peerServer.close();
    const g = auto.submit((x: number) => new Float64Array(4096).fill(x * 3), 14);
    assert.deepEqual(await g.result(20_000), new Float64Array(4096).fill(42));
    assert.deepEqual(relayed, [g.key], "'auto' relays through the scheduler when the worker cannot be reached");
    await assert.rejects(always.future(g.key).result(20_000), (err: Error) => err.name === 'ConnectionError' && /direct: 'always'/.test(err.message));
  } finally {
    await Promise.all([auto.close(), never.close(), always.close()]);
    await c.close();
  }
});

test('the peer port refuses a wrong token, and serves the right one', async () => {
  const c = await inProcessCluster();
  const client = await Client.connect(c.cluster.address, { token: c.token, reconnect: false });
  const wrong = new PeerClient('not-the-token-at-all', 'intruder');
  const right = new PeerClient(c.token, 'friend');
  try {
    const w = await c.addWorker();
    await waitUntil('the worker joined', async () => (await client.schedulerInfo()).workers.length === 1);
    const f = client.submit((x: number) => new Float64Array(4096).fill(x + 1), 41);
    await waitUntil('computed', () => f.status === 'finished', 20_000);
    await assert.rejects(wrong.get(w.peerAddress, [f.key]), (err: Error) => err instanceof AuthenticationError && /wrong token/.test(err.message));
    const ok = await right.get(w.peerAddress, [f.key, 'no-such-key']);
    assert.deepEqual(ok.values, [new Float64Array(4096).fill(42), undefined]);
    assert.deepEqual(ok.missing, ['no-such-key'], 'a key the worker does not hold is named as missing');
  } finally {
    wrong.close();
    right.close();
    await client.close();
    await c.close();
  }
});

test('the holder of a dependency killed with SIGKILL while the dependent fetches it: the dependency is recomputed', async () => {
  const TOKEN = 'test-token-peer-data-0123456789';
  const s = await startScheduler(['--port', '0', '--threads', '0', '--token', TOKEN]);
  const client = await Client.connect(s.address, { token: TOKEN, reconnect: false });
  try {
    await startWorker(s.address, ['--threads', '1', '--token', TOKEN]);
    await waitUntil('the first worker joined', async () => (await client.schedulerInfo()).workers.length === 1, 20_000);
    const x = client.submit((n: number) => new Uint8Array(n).fill(1), 48 * 2 ** 20);
    await waitUntil('x computed on the first worker', () => x.status === 'finished', 30_000);
    const gate = await occupy(client);
    const holder = await startWorker(s.address, ['--threads', '1', '--token', TOKEN]);
    await waitUntil('the holder joined', async () => (await client.schedulerInfo()).workers.length === 2, 20_000);
    // The first worker is full: y is computed on the holder.
    const y = client.submit((n: number) => new Uint8Array(n).fill(3), 32 * 2 ** 20);
    await waitUntil('y computed on the holder', () => y.status === 'finished', 30_000);
    gate.open();
    // The dependent needs data from both workers: wherever it runs, one dependency crosses between them.
    const dependent = client.submit((a: Uint8Array, b: Uint8Array) => a.length + b.length + b[b.length - 1], x, y);
    await waitUntil('the dependent dispatched', () => dependent.status === 'processing', 20_000);
    await holder.stop('SIGKILL');
    assert.equal(await dependent.result(60_000), 80 * 2 ** 20 + 3);
    const story = await client.story(y.key);
    assert.ok(story.some((e) => e.event === 'recompute'), `y was recomputed: ${JSON.stringify(story)}`);
  } finally {
    await client.close();
    await stopAll();
  }
});

test('results of every kind cross the peer link whole: large typed arrays as raw frames, views of a larger buffer, small values inline', async () => {
  const n = RAW_MIN_BYTES; // elements: every large array below is at least RAW_MIN_BYTES bytes
  const backing = new Uint8Array(3 * n).map((_, i) => i % 251);
  const stored = new Map<string, unknown>([
    ['u8', new Uint8Array(n).map((_, i) => i % 256)],
    ['f64', new Float64Array(n).map((_, i) => i / 3)],
    ['i16', new Int16Array(n).map((_, i) => -i)],
    ['big64', new BigInt64Array(n).map((_, i) => BigInt(i) * -7n)],
    ['buf', Buffer.alloc(n, 9)],
    ['view', backing.subarray(n + 1, 2 * n + 1)],
    ['odd-view', new Uint16Array(backing.buffer, 2, n)],
    ['small', new Float32Array([1.5, 2.5])],
    ['obj', { a: [1, 'two', new Map([[3, 4]])] }],
  ]);
  const server = await listenForPeers((keys) => ({ values: keys.map((k) => stored.get(k)), missing: keys.filter((k) => !stored.has(k)) }), { token: 'peer-frames-token' });
  const client = new PeerClient('peer-frames-token', 'frames');
  try {
    const keys = [...stored.keys(), 'absent'];
    const [first, second] = await Promise.all([client.get(server.address, keys), client.get(server.address, ['u8', 'obj'])]);
    keys.forEach((k, i) => {
      const got = first.values[i];
      assert.deepEqual(got, stored.get(k), `${k} arrives equal`);
      if (k !== 'absent') assert.equal(Object.getPrototypeOf(got), Object.getPrototypeOf(stored.get(k)), `${k} keeps its type`);
    });
    assert.deepEqual(first.missing, ['absent']);
    assert.deepEqual(second.values, [stored.get('u8'), stored.get('obj')], 'replies to requests on one connection do not mix');
    const view = first.values[keys.indexOf('view')] as Uint8Array;
    assert.equal(view.buffer.byteLength, view.byteLength, 'a view arrives owning exactly its bytes');
  } finally {
    client.close();
    await server.close();
  }
});

test('replicate copies a result to another worker process, worker to worker', async () => {
  const c = await inProcessCluster();
  const client = await Client.connect(c.cluster.address, { token: c.token, reconnect: false });
  try {
    const a = await c.addWorker();
    await waitUntil('worker A joined', async () => (await client.schedulerInfo()).workers.length === 1);
    const x = client.submit((n: number) => new Float64Array(n).fill(4), 20_000);
    await waitUntil('x computed on A', () => x.status === 'finished', 20_000);
    const b = await c.addWorker();
    await waitUntil('worker B joined', async () => (await client.schedulerInfo()).workers.length === 2);
    assert.ok(stores(a).has(x.key) && !stores(b).has(x.key));
    assert.deepEqual(await client.replicate([x], 2), { [x.key]: 2 });
    assert.deepEqual(stores(b).get(x.key), new Float64Array(20_000).fill(4), 'B holds a copy');
    assert.deepEqual(relayed, [], 'the copy did not pass through the scheduler');
    await assert.rejects(client.replicate([x], 0), /an integer >= 1/);
  } finally {
    await client.close();
    await c.close();
  }
});

test('a large dependency fetched from a peer moves to the pool thread instead of being copied there', async () => {
  const c = await inProcessCluster();
  const client = await Client.connect(c.cluster.address, { token: c.token, reconnect: false });
  const moved: ArrayBuffer[] = [];
  const originalRun = ThreadRunner.prototype.run;
  ThreadRunner.prototype.run = function (this: ThreadRunner, batch: Batch, isStillRunning: (r: RunId) => boolean) {
    moved.push(...(batch.transfer ?? []));
    return originalRun.call(this, batch, isStillRunning);
  };
  try {
    await c.addWorker();
    await waitUntil('worker A joined', async () => (await client.schedulerInfo()).workers.length === 1);
    const a = client.submit((n: number) => new Float64Array(n).fill(1.5), 100_000);
    await waitUntil('a computed on A', () => a.status === 'finished', 20_000);
    const gate = await occupy(client);
    const wb = await c.addWorker();
    await waitUntil('worker B joined', async () => (await client.schedulerInfo()).workers.length === 2);
    // Larger than a and held on B: the dependents run on B and fetch a from A.
    const b = client.submit((n: number) => new Float64Array(n).fill(2), 200_000);
    await waitUntil('b computed on B', () => b.status === 'finished', 20_000);
    assert.ok(stores(wb).has(b.key));
    gate.open();
    // Two dependents at once: whether they share one fetch (one value for both) or not, each sees a whole.
    const sum = (x: Float64Array, y: Float64Array) => x.reduce((s, v) => s + v, 0) + y.length;
    const [d1, d2] = [client.submit({ fn: sum, args: [a, b], pure: false }), client.submit({ fn: sum, args: [a, b], pure: false })];
    assert.deepEqual(await client.gather([d1, d2], 20_000), [150_000 + 200_000, 150_000 + 200_000]);
    assert.ok(moved.length >= 1, 'the fetched dependency was handed to the pool thread by transfer');
    for (const buf of moved) assert.equal(buf.byteLength, 0, 'what was moved is no longer held on the main thread (detached)');
    assert.equal((stores(wb).get(b.key) as Float64Array).length, 200_000, 'a result stored on the worker is never moved away');
  } finally {
    ThreadRunner.prototype.run = originalRun;
    await client.close();
    await c.close();
  }
});

test('a key several fetches want at once is asked for once, and none of them has its value alone', async () => {
  let asked = 0;
  const answers: (() => void)[] = [];
  const peers = {
    bytesInFlight: 0,
    get(_address: string, keys: string[]) {
      asked++;
      return new Promise<{ values: unknown[]; missing: string[] }>((resolve) => answers.push(() => resolve({ values: keys.map((k) => new Uint8Array(RAW_MIN_BYTES).fill(k.length)), missing: [] })));
    },
  } as unknown as PeerClient;
  const fetcher = new DependencyFetcher(peers, () => 'ws://127.0.0.1:1');
  const first = fetcher.fetch(new Map([['k0', ['w']]]));
  // The peer is being asked: these two wait for it and then leave together, as one request.
  const second = fetcher.fetch(new Map([['k', ['w']]]));
  const third = fetcher.fetch(new Map([['k', ['w']]]));
  answers.shift()?.();
  const one = await first;
  assert.deepEqual([...one.exclusive], ['k0'], 'a value fetched for one fetch alone is its own');
  await waitUntil('the second request', () => answers.length === 1);
  answers.shift()?.();
  const [two, three] = await Promise.all([second, third]);
  assert.equal(asked, 2);
  assert.equal(two.values.get('k'), three.values.get('k'), 'one value for both');
  assert.deepEqual([two.exclusive.size, three.exclusive.size], [0, 0], 'a shared value is no one\'s alone');
});
