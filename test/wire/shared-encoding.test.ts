/**
 * A message the core queues for many clients (a channel append to every subscriber) is encoded once for all
 * WebSocket connections, and a batch mixing shared and per-connection messages arrives whole and in order.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Client, LocalCluster } from '../../scheduler';
import { encodeCount, SHARED_MESSAGE } from '../../scheduler/wire/codec';
import { CHUNK_BYTES } from '../../scheduler/wire/limits';
import { waitUntil } from '../support/wait';
import { wsPairs, type Msg } from '../support/ws-pairs';


test('a shared message sent on many connections in one tick is encoded once; each connection gets it between its own messages', async () => {
  const n = 12;
  const { ends, close } = await wsPairs(n);
  try {
    const received: Msg[][] = ends.map(() => []);
    ends.forEach(([, rx], i) => rx.onMessages((batch) => received[i].push(...batch)));
    const shared: Msg = { op: 'items', channel: 'c', start: 0, items: [{ v: new Map([['deep', [1, 2, 3]]]) }] };
    Object.defineProperty(shared, SHARED_MESSAGE, { value: true });
    const before = encodeCount.batches;
    ends.forEach(([tx], i) => {
      tx.send({ op: 'reply', req: i });
      tx.send(shared);
      tx.send({ op: 'status', keys: [`k${i}`] });
    });
    await waitUntil('every connection received its three messages', () => received.every((r) => r.length === 3));
    // Per connection: its message before the shared one, and the one after (2 encodes); the shared one once in all.
    assert.equal(encodeCount.batches - before, 2 * n + 1, 'the shared message was encoded once, not once per connection');
    received.forEach((r, i) => {
      assert.deepEqual(r, [{ op: 'reply', req: i }, { op: 'items', channel: 'c', start: 0, items: [{ v: new Map([['deep', [1, 2, 3]]]) }] }, { op: 'status', keys: [`k${i}`] }]);
      assert.equal(Object.getOwnPropertySymbols(r[1]).length, 0, 'the mark does not travel');
    });
  } finally {
    await close();
  }
});

test('a segmented batch larger than a chunk arrives whole and in order', async () => {
  const { ends, close } = await wsPairs(2);
  try {
    const received: Msg[][] = ends.map(() => []);
    ends.forEach(([, rx], i) => rx.onMessages((batch) => received[i].push(...batch)));
    const big = new Uint8Array(CHUNK_BYTES * 2 + 17).fill(7);
    const shared: Msg = { op: 'items', channel: 'big', start: 0, items: [{ v: big }] };
    Object.defineProperty(shared, SHARED_MESSAGE, { value: true });
    for (const [tx] of ends) {
      tx.send({ op: 'reply', req: 1 });
      tx.send(shared);
      tx.send({ op: 'reply', req: 2 });
    }
    await waitUntil('both connections received the big batch', () => received.every((r) => r.length === 3));
    for (const r of received) {
      assert.deepEqual(r.map((m) => m.op), ['reply', 'items', 'reply']);
      assert.deepEqual(((r[1].items as { v: Uint8Array }[])[0].v), big);
    }
  } finally {
    await close();
  }
});

test('one append to a channel with many WebSocket subscribers is encoded once by the scheduler', async () => {
  const n = 20;
  const cluster = await LocalCluster.start({ threads: 0, listen: { port: 0 } });
  const clients: Client[] = [];
  try {
    for (let i = 0; i < n; i++) clients.push(await Client.connect(cluster.address, { token: cluster.token, reconnect: false }));
    const chans = clients.map((c) => c.channel('fan'));
    await Promise.all(chans.map((c) => c.ready));
    const before = encodeCount.batches;
    chans[0].append({ payload: 'x'.repeat(100) });
    await waitUntil('every subscriber saw the append', () => chans.every((c) => c.data.length === 1));
    // The appending client's batch (1), the shared items message (1), and little else: not one per subscriber.
    const encodes = encodeCount.batches - before;
    assert.ok(encodes < n / 2, `the scheduler encoded the append ${encodes} times for ${n} subscribers`);
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await cluster.close();
  }
});
