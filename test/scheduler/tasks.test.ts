/** Tasks end to end on an in-process cluster with a real Piscina pool. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CancelledError, Client, FutureReleasedError, TaskError, TimeoutError } from '../../scheduler';
import { withCluster } from './helpers';
import { fileGate } from '../support/gate';
import { waitUntil } from '../support/wait';

test('submit, result, and futures as arguments at any depth', async () => {
  await withCluster(2, async (client) => {
    const a = client.submit((x: number, y: number) => x + y, 1, 2);
    assert.equal(await a.result(), 3);
    assert.equal(a.status, 'finished');
    assert.match(String(a), /^<Future lambda-[0-9a-f]+: finished>$/);
    const b = client.submit((o: { xs: number[]; n: { v: number } }) => o.xs[0] + o.xs[1] + o.n.v, { xs: [a, a], n: { v: a } });
    assert.equal(await b.result(), 9);
  });
});

test('pure keys: identical submissions share one task; pure:false and explicit keys differ', async () => {
  await withCluster(1, async (client) => {
    const inc = (x: number) => x + 1;
    const f1 = client.submit(inc, 1);
    const f2 = client.submit(inc, 1);
    const f3 = client.submit(inc, 2);
    assert.equal(f1.key, f2.key);
    assert.notEqual(f1.key, f3.key);
    assert.match(f1.key, /^inc-[0-9a-f]{32}$/);
    const u1 = client.submit({ fn: inc, args: [1], pure: false });
    const u2 = client.submit({ fn: inc, args: [1], pure: false });
    assert.notEqual(u1.key, u2.key);
    const named = client.submit({ fn: inc, args: [5], key: 'my-key' });
    assert.equal(named.key, 'my-key');
    assert.deepEqual(await client.gather([f1, f2, f3, u1, u2, named]), [2, 2, 3, 2, 2, 6]);
    const other = await Client.connect(client as never).catch(() => undefined);
    assert.equal(other, undefined, 'connect rejects a Client as target');
  });
});

test('map, gather, scatter and client.future(key)', async () => {
  await withCluster(2, async (client) => {
    const fs = client.map((x: number) => x * x, [1, 2, 3, 4]);
    assert.deepEqual(await client.gather(fs), [1, 4, 9, 16]);
    const [s1, s2] = await client.scatter([{ big: [1, 2, 3] }, 'text']);
    assert.equal(s1.status, 'finished');
    assert.deepEqual(await s1.result(), { big: [1, 2, 3] });
    const len = client.submit((o: { big: number[] }, t: string) => o.big.length + t.length, s1, s2);
    assert.equal(await len.result(), 7);
    const again = client.future(fs[2].key);
    assert.equal(await again.result(), 9);
  });
});

test('submitGraph and get with Dask-style graphs, including a reference to an existing key', async () => {
  await withCluster(2, async (client) => {
    const seed = client.submit({ fn: () => 10, key: 'seed' });
    await seed.wait();
    const graph = {
      a: 1,
      b: [(x: number) => x + 1, 'a'],
      c: [(x: number, y: number, s: number) => x * y + s, 'a', 'b', 'seed'],
      d: [(xs: number[]) => xs.reduce((p, q) => p + q, 0), ['a', 'b', 'c']],
    };
    assert.equal(await client.get(graph, 'c'), 12);
    assert.deepEqual(await client.get(graph, ['b', 'd']), [2, 15]);
    const [d] = client.submitGraph(graph, ['d']);
    assert.equal(d.key, 'd');
    assert.equal(await d.result(), 15);
  });
});

test('module#export references run the exported function', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sf-ref-'));
  const mod = path.join(dir, 'ops.js');
  fs.writeFileSync(mod, 'exports.triple = (x) => x * 3;\n');
  await withCluster(1, async (client) => {
    assert.equal(await client.submit(`${mod}#triple`, 5).result(), 15);
    const bad = client.submit(`${mod}#missing`, 5);
    await assert.rejects(bad.result(), /is not a function/);
  });
});

test('a failing task raises its own error with the remote stack; dependents err too', async () => {
  await withCluster(1, async (client) => {
    const f = client.submit(function failing() {
      throw new RangeError('out of range');
    });
    const err = await f.exception();
    assert.ok(err instanceof TaskError);
    assert.equal(err.name, 'RangeError');
    assert.equal(err.message, 'out of range');
    assert.match((err as TaskError).remoteStack ?? '', /failing/);
    await assert.rejects(f.result(), (e: unknown) => e instanceof TaskError && e.message === 'out of range');
    const dep = client.submit((x: number) => x + 1, f);
    await assert.rejects(dep.result(), /out of range/);
    assert.equal(dep.status, 'error');
    const rejected = client.submit(async () => Promise.reject(new Error('async no')));
    await assert.rejects(rejected.result(), /async no/);
  });
});

test('retries: a flaky task succeeds on a later attempt', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sf-retry-'));
  const counter = path.join(dir, 'count');
  fs.writeFileSync(counter, '0');
  await withCluster(1, async (client) => {
    const flaky = client.submit({
      fn: (file: string) => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports -- task code runs on a worker, where require is the way in
        const fsm = require('node:fs');
        const n = Number(fsm.readFileSync(file, 'utf8')) + 1;
        fsm.writeFileSync(file, String(n));
        if (n < 3) throw new Error(`attempt ${n}`);
        return n;
      },
      args: [counter],
      retries: 2,
    });
    assert.equal(await flaky.result(), 3);
  });
});

test('cancel: result raises CancelledError and dependents are cancelled', async () => {
  await withCluster(1, async (client) => {
    const slow = client.submit(async () => {
      await sleep(10_000);
      return 1;
    });
    const dep = client.submit((x: number) => x, slow);
    await waitUntil('slow starts', () => slow.status === 'processing');
    await slow.cancel();
    assert.equal(slow.status, 'cancelled');
    await assert.rejects(slow.result(), CancelledError);
    await assert.rejects(dep.result(), CancelledError);
  });
});

test('result(timeout) raises TimeoutError and leaves the task running', async () => {
  const gate = fileGate();
  await withCluster(1, async (client) => {
    // The task runs until the test lets it go, so the timeout cannot race its end.
    const slow = client.submit(async (file: string) => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- task code runs on a worker, where require is the way in
      const fsm = require('node:fs');
      while (!fsm.existsSync(file)) await sleep(5);
      return 'late';
    }, gate.path);
    await waitUntil('the task to run', () => slow.status === 'processing');
    await assert.rejects(slow.result(20), TimeoutError);
    assert.equal(slow.status, 'processing', 'the timeout left the task running');
    gate.open();
    assert.equal(await slow.result(), 'late');
  });
});

test('released futures: gather raises FutureReleasedError; the scheduler forgets unwanted keys', async () => {
  await withCluster(1, async (client) => {
    const f = client.submit({ fn: () => 1, key: 'to-release' });
    await f.result();
    f.release();
    await assert.rejects(client.gather([f]), FutureReleasedError);
    await waitUntil('key forgotten', async () => ((await client.schedulerInfo()).tasks.finished ?? 0) === 0);
    // A handle on a key the scheduler does not hold (any more) waits for it to be defined again (Dask).
    const ghost = client.future('to-release');
    await assert.rejects(ghost.result(50), TimeoutError);
    assert.equal(ghost.status, 'pending');
    const again = client.submit({ fn: () => 2, key: 'to-release' });
    assert.equal(await ghost.result(), 2);
    again.release();
  });
});

test('story(key) tells the transitions; schedulerInfo counts tasks by status and lists workers', async () => {
  await withCluster(2, async (client) => {
    const f = client.submit((x: number) => x, 1);
    await f.result();
    const story = await client.story(f.key);
    assert.deepEqual(story.map((e) => e.to), ['queued', 'processing', 'memory']);
    const info = await client.schedulerInfo();
    assert.equal(info.tasks.finished, 1);
    assert.deepEqual(info.workers.map((w) => w.threads), [2]);
    assert.match(info.address, /^local:\/\//);
  });
});

test('events() streams batched task changes', async () => {
  await withCluster(1, async (client) => {
    const seen: string[] = [];
    const it = client.events()[Symbol.asyncIterator]();
    const reading = (async () => {
      for (;;) {
        const r = await it.next();
        if (r.done) return;
        for (const e of r.value) if (e.type === 'task') seen.push(e.status);
        if (seen.includes('finished')) return;
      }
    })();
    // No wait needed: the iterator asked for events when it was made, on the same connection as the submit below.
    const f = client.submit(() => 5);
    await f.result();
    await reading;
    assert.deepEqual(seen.slice(0, 3), ['pending', 'processing', 'finished']);
    // Released and unwanted: observers hear that the key was forgotten.
    const forgetting = (async () => {
      for (;;) {
        const r = await it.next();
        if (r.done) return false;
        if (r.value.some((e) => e.type === 'task' && e.forgotten === true)) return true;
      }
    })();
    f.release();
    assert.equal(await forgetting, true);
    await it.return?.();
  });
});
