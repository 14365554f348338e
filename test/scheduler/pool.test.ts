/** The Piscina pool: faults stay with their task, awaiting tasks free their thread, localClient. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Future, TaskError } from '../../scheduler';
import { withCluster } from './helpers';
import { fileGate } from '../support/gate';

test('throw, reject and process.exit fail only their task; the pool keeps serving', async () => {
  await withCluster(2, async (client) => {
    const bad = [
      client.submit(() => {
        throw new Error('sync');
      }),
      client.submit(async () => {
        throw new Error('async');
      }),
      client.submit(() => process.exit(3)),
    ];
    const good = client.map((x: number) => x * 2, [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(await client.gather(good), [2, 4, 6, 8, 10, 12]);
    const errors = await Promise.all(bad.map((f) => f.exception()));
    assert.match(errors[0]?.message ?? '', /sync/);
    assert.match(errors[1]?.message ?? '', /async/);
    assert.match(errors[2]?.message ?? '', /process\.exit\(3\)/);
    assert.equal(await client.submit(() => 'still here').result(), 'still here');
  });
});

test('a task that crashes its thread fails alone; its neighbours run again and finish', async () => {
  await withCluster(2, async (client) => {
    const crash = client.submit({
      fn: () =>
        new Promise(() => {
          setTimeout(() => {
            throw new Error('uncaught in a timer');
          }, 5);
        }),
      pure: false,
    });
    // The neighbours are still running when the thread crashes: they wait at a gate opened after the crash.
    const gate = fileGate();
    const neighbours = [1, 2, 3, 4].map((x) =>
      client.submit(
        async (n: number, file: string) => {
          // eslint-disable-next-line @typescript-eslint/no-require-imports -- task code runs on a worker, where require is the way in
          const fsm = require('node:fs');
          while (!fsm.existsSync(file)) await sleep(5);
          return n;
        },
        x,
        gate.path,
      ),
    );
    const err = await crash.exception();
    gate.open();
    assert.ok(err instanceof TaskError);
    assert.equal(err.name, 'WorkerCrashedError');
    assert.match(err.message, /uncaught in a timer/);
    assert.deepEqual(await client.gather(neighbours), [1, 2, 3, 4]);
    const info = await client.schedulerInfo();
    assert.equal(info.workers[0].threads, 2);
    assert.deepEqual(await client.gather(client.map((x: number) => x + 1, [1, 2, 3])), [2, 3, 4], 'the replaced thread serves');
  });
});

test('a closure over a variable the worker lacks names it and says how to pass it', async () => {
  await withCluster(1, async (client) => {
    const factor = 3;
    const f = client.submit((x: number) => x * factor, 2);
    const err = await f.exception();
    assert.match(err?.message ?? '', /'factor'/);
    assert.match(err?.message ?? '', /pass it as an argument/);
  });
});

test('results that cannot be sent fail their task with a clear error', async () => {
  await withCluster(1, async (client) => {
    const f = client.submit(() => ({ fn: () => 1 }));
    const err = await f.exception();
    assert.match(err?.message ?? '', /cannot be sent/);
  });
});

test('method shorthand functions are shipped too', async () => {
  await withCluster(1, async (client) => {
    const ops = {
      double(x: number) {
        return x * 2;
      },
    };
    assert.equal(await client.submit(ops.double, 4).result(), 8);
  });
});

test('the emit/emit/combine pipeline runs on a 2-thread pool with localClient, zip and sleep', async () => {
  await withCluster(2, async (client) => {
    const emit = async (name: string, n: number) => {
      const c = localClient();
      const chan = c.channel(name);
      for (let i = 0; i < n; i++) {
        const f = c.submit({ fn: () => Math.random(), pure: false });
        chan.append(f);
        f.release();
        await sleep(1);
      }
      await chan.flush();
      await chan.stop();
      return n;
    };
    const combine = async () => {
      const c = localClient();
      const out = c.channel('sums');
      let count = 0;
      for await (const pair of zip(c.channel('left'), c.channel('right'))) {
        const [a, b] = pair as [Future<number>, Future<number>];
        const sum = c.submit((x: number, y: number) => x + y, a, b);
        out.append(sum);
        sum.release();
        count++;
      }
      await out.flush();
      await out.stop();
      return count;
    };
    const n = 20;
    const sums = client.channel('sums');
    const jobs = [client.submit(emit, 'left', n), client.submit(emit, 'right', n), client.submit(combine)];
    const values: number[] = [];
    for await (const item of sums) values.push((await (item as Future).result()) as number);
    assert.deepEqual(await client.gather(jobs), [n, n, n]);
    assert.equal(values.length, n);
    for (const v of values) assert.ok(v >= 0 && v < 2);
  });
});
