/**
 * What a Dask user hit before the core drove its own transitions, each through the public
 * API on an in-process cluster: every future a client holds owns its key, cancel() is Dask's, runs have ids,
 * placeholders wait, scatters survive races, a lost connection is not a stop.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CancelledError, Client, ConnectionError, type Future, LocalCluster } from '../../scheduler';
import { withCluster } from './helpers';
import { fileGate } from '../support/gate';
import { waitUntil } from '../support/wait';

test('a future taken from a channel keeps working after the channel evicts it (it owns its key)', async () => {
  await withCluster(2, async (client, cluster) => {
    const consumer = await Client.connect(cluster);
    try {
      const chan = client.channel('evicting', { maxlen: 2 });
      const seen = consumer.channel('evicting');
      const taken: Future[] = [];
      const reading = (async () => {
        for await (const item of seen) {
          taken.push(item as Future);
          if (taken.length === 5) return;
        }
      })();
      // One at a time, each taken before the next comes: the windows (the scheduler's and the consumer's,
      // both 2) evict the earlier ones while the consumer holds them.
      for (let i = 0; i < 5; i++) {
        const f = client.submit(async (x: number) => (await sleep(100), x * 10), i);
        chan.append(f);
        await chan.flush();
        f.release(); // the maker lets go: only the channel and the consumer hold it
        await waitUntil(`item ${i} taken`, () => taken.length === i + 1);
      }
      await reading;
      await waitUntil('the consumer window keeps the newest two', () => seen.length === 2);
      // The first three were evicted from the channel; the consumer's handles still own them.
      assert.deepEqual(await Promise.all(taken.map((f) => f.result(10_000))), [0, 10, 20, 30, 40]);
      assert.equal(taken[0].status, 'finished', 'the status kept updating after eviction');
      for (const f of taken) f.release();
    } finally {
      await consumer.close();
    }
  });
});

test('a task cancelled while it waits for a dependency runs when submitted again', async () => {
  await withCluster(2, async (client) => {
    const slow = client.submit(async () => (await sleep(200), 5));
    const first = client.submit({ fn: (x: number) => x + 1, args: [slow], key: 'waits' });
    assert.equal(first.status, 'pending');
    await first.cancel();
    await assert.rejects(first.result(), CancelledError);
    const again = client.submit({ fn: (x: number) => x + 1, args: [slow], key: 'waits' });
    assert.equal(await again.result(5000), 6);
  });
});

test('a scatter racing a release of the same value keeps the data', async () => {
  await withCluster(1, async (client) => {
    for (let i = 0; i < 20; i++) {
      const value = { round: i, payload: 'x'.repeat(100) };
      const [f1] = await client.scatter([value]);
      const pending = client.scatter([value]);
      f1.release();
      const [f2] = await pending;
      assert.equal(f2.status, 'finished');
      assert.deepEqual(await f2.result(), value);
      f2.release();
    }
  });
});

test('scattering a value whose earlier copy was cancelled gives a working future', async () => {
  await withCluster(1, async (client) => {
    const [f1] = await client.scatter(['precious']);
    await f1.cancel({ force: true });
    await assert.rejects(f1.result(), CancelledError);
    const [f2] = await client.scatter(['precious']);
    assert.equal(f2.key, f1.key, 'the same value scatters to the same key');
    assert.equal(await f2.result(), 'precious');
  });
});

test('cancel() drops only this client\'s interest while others want the key; force cancels for everyone', async () => {
  await withCluster(2, async (a, cluster) => {
    const b = await Client.connect(cluster);
    try {
      // The shared task runs until a's cancel has been answered.
      const gate = fileGate();
      const fn = async (file: string) => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports -- task code runs on a worker, where require is the way in
        const fsm = require('node:fs');
        while (!fsm.existsSync(file)) await sleep(5);
        return 'done';
      };
      const fa = a.submit({ fn, args: [gate.path], key: 'shared-work' });
      const fb = b.submit({ fn, args: [gate.path], key: 'shared-work' });
      await waitUntil('b shares the running task', () => fb.status === 'processing');
      await fa.cancel();
      assert.equal(fa.status, 'cancelled', 'the caller\'s own handle reads cancelled');
      await assert.rejects(fa.result(), CancelledError);
      gate.open();
      assert.equal(await fb.result(5000), 'done', 'the other client\'s work went on');
      assert.ok((await a.story('shared-work')).some((e) => e.event.startsWith('cancel-declined')), 'the story says why');

      // A future taken from a channel: its maker cancelling it does not take it from the consumer.
      const chan = a.channel('handover');
      const made = a.submit({ fn: async () => (await sleep(200), 'handed over'), key: 'handover-1' });
      chan.append(made);
      await chan.flush();
      const taken = (await firstItem(b.channel('handover'))) as Future;
      await made.cancel();
      assert.equal(await taken.result(5000), 'handed over');

      // With force, everyone's handle is cancelled.
      const fa2 = a.submit({ fn: async () => (await sleep(5000), 'never'), key: 'forced' });
      const fb2 = b.submit({ fn: async () => (await sleep(5000), 'never'), key: 'forced' });
      await waitUntil('b shares the running task', () => fb2.status === 'processing');
      await fa2.cancel({ force: true });
      await assert.rejects(fb2.result(5000), CancelledError);
    } finally {
      await b.close();
    }
  });
});

test('a cancelled run\'s late result is never taken as the result of a resubmission under the same key', async () => {
  await withCluster(2, async (client) => {
    // The old run ends only once the new one runs, and the new one only after the old result came back.
    const [oldGate, freshGate] = [fileGate(), fileGate()];
    const run = async (file: string, result: string) => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- task code runs on a worker, where require is the way in
      const fsm = require('node:fs');
      while (!fsm.existsSync(file)) await sleep(5);
      return result;
    };
    const old = client.submit({ fn: run, args: [oldGate.path, 'old run'], key: 'rerun', pure: false });
    await waitUntil('the first run started', () => old.status === 'processing');
    await old.cancel();
    const fresh = client.submit({ fn: run, args: [freshGate.path, 'new run'], key: 'rerun', pure: false });
    await waitUntil('the second run started', () => fresh.status === 'processing');
    oldGate.open();
    await waitUntil('the late result of the first run', async () => (await client.story('rerun')).some((e) => e.event.startsWith('stale-result')));
    assert.notEqual(fresh.status, 'finished', 'the late result of the first run was not taken');
    freshGate.open();
    assert.equal(await fresh.result(5000), 'new run');
    assert.ok((await client.story('rerun')).some((e) => e.event.startsWith('stale-result')), 'the dropped result is in the story');
  });
});

test('client.future(key) for a key nobody defined yet waits for it, and never blocks a later submit', async () => {
  await withCluster(1, async (client, cluster) => {
    const other = await Client.connect(cluster);
    try {
      const early = client.future('defined-later');
      assert.equal(early.status, 'pending');
      const later = other.submit({ fn: () => 42, key: 'defined-later' });
      assert.equal(await later.result(5000), 42);
      assert.equal(await early.result(5000), 42);
      // The same client may submit the key it waits for, too.
      const own = client.future('mine-later');
      const mine = client.submit({ fn: () => 'mine', key: 'mine-later' });
      assert.deepEqual(await Promise.all([own.result(5000), mine.result(5000)]), ['mine', 'mine']);
    } finally {
      await other.close();
    }
  });
});

test('a channel iteration ends normally on stop, and throws ConnectionError when the cluster goes away', async () => {
  const cluster = await LocalCluster.start({ threads: 1 });
  const client = await Client.connect(cluster);
  const chan = client.channel('goes-away');
  chan.append(1);
  await chan.flush();
  const got: unknown[] = [];
  const ended = (async () => {
    for await (const x of chan) got.push(x);
  })().then(
    () => 'ended normally',
    (err: unknown) => err,
  );
  await waitUntil('first item', () => got.length === 1);
  await cluster.close();
  const end = await ended;
  assert.ok(end instanceof ConnectionError, `the iteration ended with ${String(end)}`);
  await client.close();
});

async function firstItem<T>(it: AsyncIterable<T>): Promise<T> {
  for await (const x of it) return x;
  throw new Error('the channel ended before its first item');
}

test('a retained future is one handle: chan.futures and iteration give the same Future for the same item', async () => {
  await withCluster(1, async (client) => {
    const chan = client.channel('identity');
    const made = client.submit(() => 1);
    chan.append(made);
    chan.append('a value');
    await chan.flush();
    const [first] = chan.futures as Future[];
    assert.equal((chan.futures as Future[])[0], first, 'two snapshots share the handle');
    assert.notEqual(first, made, 'the channel\'s handle is its own, not the appender\'s');
    const it = chan[Symbol.asyncIterator]();
    assert.equal((await it.next()).value, first, 'iteration gives the same handle');
    await it.return?.();
    first.release();
    const [again] = chan.futures as Future[];
    assert.notEqual(again, first, 'a released handle is replaced by a fresh one');
    assert.equal(await again.result(), 1);
  });
});
