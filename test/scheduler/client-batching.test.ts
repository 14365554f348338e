/**
 * The client's outbox is the one place that batches per tick on the client path: each tick's messages reach
 * the transport as one batch (sendBatch), nothing is queued again in the transport (send), and consecutive
 * messages merge as before (submits, appends to one channel, wants, releases).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '../../scheduler';
import type { ClientMessage } from '../../scheduler/protocol/messages';
import { waitUntil } from '../support/wait';
import { FakeSchedulerEnd } from './client-fake-scheduler';

async function connected(): Promise<{ client: Client; end: FakeSchedulerEnd }> {
  const end = new FakeSchedulerEnd();
  const client = Client.fromTransport(end, { name: 'batching' });
  await waitUntil('the hello', () => end.batches.length === 1);
  end.welcome(client.id);
  await client.connected;
  return { client, end };
}

/** Waits for the next batch the client hands over and returns it. */
async function nextBatch(end: FakeSchedulerEnd, seen: number): Promise<ClientMessage[]> {
  await waitUntil('a batch', () => end.batches.length > seen);
  assert.equal(end.batches.length, seen + 1, 'one batch per tick');
  return end.batches[seen];
}

test('the hello is the first batch, alone, and nothing goes through the transport queue', async () => {
  const { client, end } = await connected();
  assert.deepEqual(end.batches[0].map((m) => m.op), ['hello']);
  assert.equal((end.batches[0][0] as Extract<ClientMessage, { op: 'hello' }>).client, client.id);
  client.submit((x: number) => x + 1, 1);
  await nextBatch(end, 1);
  assert.deepEqual(end.sent, [], 'the client never uses the per-message queue of the transport');
  await client.close();
});

test('one tick of submits, wants, appends and releases leaves as one batch with consecutive messages merged', async () => {
  const { client, end } = await connected();
  const inc = (x: number) => x + 1;
  const dbl = (x: number) => x * 2;
  const a = client.submit(inc, 1);
  const b = client.submit(inc, 2);
  const c = client.submit(dbl, 3);
  const mapped = client.map(inc, [10, 11, 12]);
  let batch = await nextBatch(end, 1);
  assert.equal(batch.length, 1, 'consecutive submits are one message');
  const submit = batch[0] as Extract<ClientMessage, { op: 'submit' }>;
  assert.equal(submit.op, 'submit');
  assert.equal(submit.tasks.length, 6);
  assert.equal(submit.fns.length, 2, 'each function is shipped once');

  const x = client.future('key-x');
  const y = client.future('key-y');
  const chan = client.channel('batched');
  chan.append(1);
  chan.append('two');
  batch = await nextBatch(end, 2);
  assert.deepEqual(batch, [
    { op: 'want', keys: ['key-x', 'key-y'] },
    { op: 'sub', channel: 'batched', maxlen: null },
    { op: 'append', channel: 'batched', items: [{ v: 1 }, { v: 'two' }] },
  ]);

  for (const f of [a, b, c, ...mapped, x, y]) f.release();
  batch = await nextBatch(end, 3);
  assert.equal(batch.length, 1, 'consecutive releases are one message');
  assert.deepEqual(batch[0], { op: 'release', keys: [a.key, b.key, c.key, ...mapped.map((f) => f.key), 'key-x', 'key-y'], n: [1, 1, 1, 1, 1, 1, 1, 1] });
  assert.deepEqual(end.sent, []);
  await client.close();
});

test('a graph ships only its functions: literal values travel as values, with no function spec', async () => {
  const { client, end } = await connected();
  const add = (p: number, q: number) => p + q;
  const [total] = client.submitGraph({ one: 1, two: 2, total: [add, 'one', 'two'] }, ['total']);
  const batch = await nextBatch(end, 1);
  const submit = batch[0] as Extract<ClientMessage, { op: 'submit' }>;
  assert.equal(submit.op, 'submit');
  assert.equal(submit.fns.length, 1);
  assert.ok(submit.fns.every((f) => f.id !== ''), 'no empty function spec for the literal values');
  assert.deepEqual(submit.tasks.map((t) => t.key), ['one', 'two', 'total']);
  // The wants counted for the keys nobody asked for go straight back, merged like every release.
  assert.deepEqual(batch.slice(1), [{ op: 'release', keys: ['one', 'two'], n: [1, 1] }]);
  total.release();
  await client.close();
});
