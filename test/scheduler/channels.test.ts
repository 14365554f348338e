/** Channel semantics as README "Channels: what is guaranteed" states them, end to end through the public API. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChannelStoppedError, Client, Future, LocalCluster, zip } from '../../scheduler';
import { collect, withCluster } from './helpers';
import { waitUntil } from '../support/wait';

test('append futures and values, flush, snapshot and String()', async () => {
  await withCluster(1, async (client) => {
    const chan = client.channel('basic');
    assert.equal(chan.name, 'basic');
    const f = client.submit((x: number) => x + 1, 1);
    chan.append(f);
    chan.append({ label: 'value', n: [1, 2] });
    chan.append('text');
    await chan.flush();
    assert.equal(chan.length, 3);
    assert.equal(chan.count, 3);
    const [first, second, third] = chan.futures;
    assert.ok(first instanceof Future);
    assert.equal((first as Future).key, f.key);
    assert.deepEqual(second, { label: 'value', n: [1, 2] });
    assert.equal(third, 'text');
    assert.deepEqual(chan.data, chan.futures);
    assert.equal(String(chan), '<Channel basic: 3 items>');
    assert.equal(await (first as Future).result(), 2);
  });
});

test('every subscriber sees the same sequence while many clients append concurrently', async () => {
  const cluster = await LocalCluster.start({ threads: 1 });
  const clients = await Promise.all(Array.from({ length: 6 }, () => Client.connect(cluster)));
  try {
    const chans = clients.map((c) => c.channel('shared'));
    await Promise.all(chans.map((c) => c.ready));
    const perClient = 200;
    for (let i = 0; i < perClient; i++) {
      // Interleave appends of every client within the same ticks.
      chans.forEach((c, ci) => c.append({ ci, i }));
      if (i % 37 === 0) await new Promise((r) => setImmediate(r));
    }
    await Promise.all(chans.map((c) => c.flush()));
    const total = perClient * clients.length;
    await waitUntil('all appends delivered', () => chans.every((c) => c.count === total));
    const sequences = chans.map((c) => JSON.stringify(c.data));
    for (const s of sequences) assert.equal(s, sequences[0]);
    const data = chans[0].data as { ci: number; i: number }[];
    for (let ci = 0; ci < clients.length; ci++) {
      const mine = data.filter((d) => d.ci === ci).map((d) => d.i);
      assert.deepEqual(mine, Array.from({ length: perClient }, (_, i) => i), 'each client\'s appends keep their order');
    }
    // A late subscriber replays the identical sequence.
    const late = await Client.connect(cluster);
    clients.push(late);
    const lateChan = late.channel('shared');
    await lateChan.ready;
    assert.equal(JSON.stringify(lateChan.data), sequences[0]);
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await cluster.close();
  }
});

test('for await yields retained items, then live ones, and ends on stop (replayed to late subscribers)', async () => {
  await withCluster(1, async (client, cluster) => {
    const producer = client.channel('live');
    producer.append(1);
    producer.append(2);
    await producer.flush();
    const other = await Client.connect(cluster);
    try {
      const consumer = other.channel('live');
      const got = collect(consumer);
      await consumer.ready;
      producer.append(3);
      await producer.flush();
      await producer.stop();
      assert.deepEqual(await got, [1, 2, 3]);
      assert.equal(consumer.stopped, true);
      const late = await Client.connect(cluster);
      const lateChan = late.channel('live');
      assert.deepEqual(await collect(lateChan), [1, 2, 3], 'late subscriber replays then ends');
      assert.equal(lateChan.stopped, true);
      assert.throws(() => lateChan.append(4), ChannelStoppedError);
      await late.close();
    } finally {
      await other.close();
    }
    assert.throws(() => producer.append(4), ChannelStoppedError);
  });
});

test('a stop by another client refuses later appends at flush', async () => {
  await withCluster(1, async (client, cluster) => {
    const a = client.channel('stopper');
    await a.ready;
    const other = await Client.connect(cluster);
    await other.channel('stopper').stop();
    await other.close();
    // `a` may not have heard of the stop yet; the scheduler refuses and flush says so.
    try {
      a.append('late');
      await a.flush();
      assert.fail('flush should reject');
    } catch (err) {
      assert.ok(err instanceof ChannelStoppedError, String(err));
    }
  });
});

test('short-lived client: submit, append, flush, close; a later client gets the result', async () => {
  await withCluster(1, async (_client, cluster) => {
    const shortLived = await Client.connect(cluster);
    const f = shortLived.submit(async (x: number) => {
      await sleep(100);
      return x * 2;
    }, 21);
    const chan = shortLived.channel('handoff');
    chan.append(f);
    await chan.flush();
    await shortLived.close();
    const later = await Client.connect(cluster);
    try {
      for await (const item of later.channel('handoff')) {
        assert.ok(item instanceof Future);
        assert.equal(await item.result(), 42);
        break;
      }
    } finally {
      await later.close();
    }
  });
});

test('maxlen: eviction releases the evicted future; each client keeps its own window', async () => {
  await withCluster(1, async (client, cluster) => {
    const chan = client.channel('bounded', { maxlen: 2 });
    assert.equal(chan.maxlen, 2);
    const futures = [1, 2, 3].map((i) => client.submit({ fn: (x: number) => x, args: [i], key: `item-${i}` }));
    await client.gather(futures);
    for (const f of futures) chan.append(f);
    await chan.flush();
    for (const f of futures) f.release();
    assert.deepEqual(chan.futures.map((f) => (f as Future).key), ['item-2', 'item-3']);
    assert.equal(chan.count, 3);
    await waitUntil('item-1 released', async () => ((await client.schedulerInfo()).tasks.finished ?? 0) === 2);
    const other = await Client.connect(cluster);
    try {
      const small = other.channel('bounded', { maxlen: 1 });
      await small.ready;
      assert.equal(small.length, 1, 'local window of 1');
      assert.deepEqual((await other.channels()).find((c) => c.name === 'bounded'), { name: 'bounded', count: 3, length: 2, maxlen: 2, stopped: false });
    } finally {
      await other.close();
    }
  });
});

test('errored and cancelled futures travel through a channel with their status', async () => {
  await withCluster(1, async (client, cluster) => {
    const chan = client.channel('mixed');
    const bad = client.submit(() => {
      throw new Error('nope');
    });
    await bad.exception();
    const slow = client.submit(async () => sleep(10_000));
    await slow.cancel();
    chan.append(bad);
    chan.append(slow);
    await chan.flush();
    const other = await Client.connect(cluster);
    try {
      const seen = other.channel('mixed');
      await seen.ready;
      const [b, s] = seen.futures as Future[];
      assert.equal(b.status, 'error');
      assert.equal((await b.exception())?.message, 'nope');
      assert.equal(s.status, 'cancelled');
    } finally {
      await other.close();
    }
  });
});

test('channels outlive subscribers; delete ends iterations and releases futures; no task leaks', async () => {
  const cluster = await LocalCluster.start({ threads: 2 });
  const a = await Client.connect(cluster);
  const b = await Client.connect(cluster);
  const chan = a.channel('doomed');
  for (let i = 0; i < 20; i++) chan.append(a.submit((x: number) => x, i));
  await chan.flush();
  chan.close();
  const again = b.channel('doomed');
  await again.ready;
  assert.equal(again.length, 20, 'the channel outlived its first subscriber');
  const got: unknown[] = [];
  const iterating = (async () => {
    for await (const x of again) got.push(x);
  })();
  await waitUntil('consumer caught up', () => got.length === 20);
  await a.channel('doomed').delete();
  await iterating; // delete ends the iteration like stop
  assert.equal(got.length, 20);
  assert.equal(again.stopped, true);
  assert.equal(again.length, 0, 'the deleted channel\'s window is dropped');
  // The futures the iteration handed out are b's own: the channel's deletion does not take them away.
  const kept = got as Future[];
  assert.equal(await kept[19].result(), 19);
  for (const f of kept) f.release();
  await a.close();
  const observer = await Client.connect(cluster);
  await waitUntil('no task left', async () => Object.keys((await observer.schedulerInfo()).tasks).length === 0);
  assert.deepEqual(await observer.channels(), []);
  await b.close();
  await observer.close();
  await cluster.close();
});

test('zip pairs items of several channels and ends when one ends', async () => {
  await withCluster(1, async (client) => {
    const x = client.channel('zx');
    const y = client.channel('zy');
    [1, 2, 3].forEach((i) => x.append(i));
    [10, 20].forEach((i) => y.append(i));
    await Promise.all([x.flush(), y.flush()]);
    await y.stop();
    assert.deepEqual(await collect(zip(x, y)), [
      [1, 10],
      [2, 20],
    ]);
  });
});

test('flush is exact: after it resolves the appender holds its items and a new subscriber sees them', async () => {
  await withCluster(1, async (client, cluster) => {
    const chan = client.channel('exact');
    for (let i = 0; i < 500; i++) chan.append(i);
    await chan.flush();
    assert.equal(chan.length, 500);
    const other = await Client.connect(cluster);
    const seen = other.channel('exact');
    await seen.ready;
    assert.equal(seen.length, 500);
    await other.close();
  });
});

test('a structured-clone cycle survives the in-process transport', async () => {
  await withCluster(1, async (client) => {
    const chan = client.channel('cyclic');
    const node: { name: string; self?: unknown } = { name: 'n' };
    node.self = node;
    chan.append(node);
    await chan.flush();
    const got = chan.data[0] as { name: string; self: unknown };
    assert.equal(got.self, got);
    assert.notEqual(got, node, 'a copy, not the caller\'s object');
  });
});

test('channel(name, { create: false }) observes an existing channel and never creates one', async () => {
  await withCluster(1, async (client, cluster) => {
    const observer = await Client.connect(cluster);
    try {
      const missing = observer.channel('not-there', { create: false, maxlen: 3 });
      await missing.ready;
      assert.equal(missing.stopped, true);
      assert.deepEqual(await collect(missing), []);
      assert.deepEqual(await observer.channels(), []);
      const real = client.channel('there');
      real.append(1);
      await real.flush();
      const seen = observer.channel('there', { create: false, maxlen: 1 });
      await seen.ready;
      assert.deepEqual(seen.data, [1]);
      assert.equal((await observer.channels())[0].maxlen, null, 'the observer did not fix maxlen');
    } finally {
      await observer.close();
    }
  });
});
