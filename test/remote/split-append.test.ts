/**
 * A client's batch that would cost the scheduler much at once — an append of hundreds of futures to a channel
 * with many subscribers, each of whom comes to want every future — is cut into parts handled one after the
 * other with the loop free between them (SchedulerServer.splitBatch, ws-transport.ts `split`). The parts are
 * the batch's messages in order, an append cut into appends of consecutive items; subscribers still see every
 * item once, in order.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Future } from '../../scheduler';
import type { ClientMessage, WireItem } from '../../scheduler/protocol/messages';
import { PART_WEIGHT, SchedulerServer } from '../../scheduler/server/server';
import { setSlices } from '../../scheduler/wire/ws-transport';
import { fanout } from '../support/fanout';
import { waitUntil } from '../support/wait';

const TOKEN = 'test-token-split-append-0123456789';

/** A server whose channel 'ch' has `n` subscribers. */
function serverWith(n: number): SchedulerServer {
  const server = new SchedulerServer('test://split');
  for (let i = 0; i < n; i++) {
    server.state.addClient(`c${i}`);
    server.state.handleClient(`c${i}`, { op: 'sub', channel: 'ch', maxlen: null } as ClientMessage);
  }
  server.state.drainOutbox();
  return server;
}

type Append = Extract<ClientMessage, { op: 'append' }>;

test('splitBatch cuts a heavy append into appends of consecutive items, each part within the weight, the messages around it kept in order', () => {
  const subscribers = 100;
  const server = serverWith(subscribers);
  const items: WireItem[] = Array.from({ length: 400 }, (_, i) => (i % 4 === 1 ? { k: `key-${i}` } : { v: i }));
  const batch: ClientMessage[] = [{ op: 'want', keys: ['a'] }, { op: 'append', channel: 'ch', items, epoch: 1 }, { op: 'flush', req: 7, channel: 'ch' }];
  const parts = server.splitBatch(batch) as ClientMessage[][];
  assert.ok(parts !== undefined && parts.length > 1, 'a heavy batch is cut');
  const flat = parts.flat();
  assert.deepEqual(flat[0], batch[0]);
  assert.deepEqual(flat[flat.length - 1], batch[2]);
  const appends = flat.slice(1, -1) as Append[];
  assert.ok(appends.every((m) => m.op === 'append' && m.channel === 'ch' && m.epoch === 1));
  assert.deepEqual(
    appends.flatMap((m) => m.items),
    items,
    'the appends carry the items in order, each once',
  );
  for (const part of parts) {
    const weight = part.reduce((w, m) => w + (m.op === 'append' ? m.items.reduce((a, it) => a + ('k' in it ? subscribers : 0), 0) : 1), 0);
    assert.ok(weight <= PART_WEIGHT, `a part weighs ${weight}, more than ${PART_WEIGHT}`);
  }
});

test('splitBatch leaves a light batch, and an append that is not well formed, whole', () => {
  const server = serverWith(100);
  const few: ClientMessage[] = [{ op: 'append', channel: 'ch', items: [{ k: 'x' }, { v: 1 }] }];
  assert.equal(server.splitBatch(few), undefined);
  // Values cost the core O(1) each whatever the subscribers: a producer's append of thousands stays whole.
  const values: ClientMessage[] = [{ op: 'append', channel: 'ch', items: Array.from({ length: 3 * PART_WEIGHT }, (_, i) => ({ v: i })) }];
  assert.equal(server.splitBatch(values), undefined);
  const bad = { op: 'append', channel: 'ch', items: [...Array.from({ length: 200 }, (_, i) => ({ k: `key-${i}` })), { neither: true }] };
  const parts = server.splitBatch([bad, { op: 'want', keys: ['a'] }]);
  // Left whole, to be refused whole by the server's check as it would have been uncut.
  assert.equal(parts, undefined);
});

test("an append of many futures to many subscribers reaches them in parts, every item once and in order, and the producer's flush answers after all of them", async () => {
  const SUBSCRIBERS = 30;
  const seen: string[][] = Array.from({ length: SUBSCRIBERS }, () => []);
  const deliveries: number[] = Array.from({ length: SUBSCRIBERS }, () => 0);
  const f = await fanout(TOKEN, 'split', SUBSCRIBERS, (i, _start, items) => {
    deliveries[i]++;
    for (const it of items) seen[i].push('k' in it ? `f:${it.k}` : `v:${JSON.stringify(it.v)}`);
  });
  try {
    const producer = await f.connect();
    const chan = producer.channel('split');
    await chan.ready;
    const futures = await producer.scatter(Array.from({ length: 400 }, (_, i) => i));
    const expected: string[] = [];
    setSlices({ inputMs: 0 });
    futures.forEach((fut: Future, i: number) => {
      chan.append(fut);
      chan.append(i);
      expected.push(`f:${fut.key}`, `v:${i}`);
    });
    await chan.flush();
    // flush is exact: once it resolves, every part was handled (its reply came after them).
    await waitUntil('every subscriber to get every item', () => seen.every((s) => s.length === expected.length));
    for (const s of seen) assert.deepEqual(s, expected);
    assert.ok(
      deliveries.every((n) => n > 1),
      `each subscriber got the append in ${Math.min(...deliveries)} to ${Math.max(...deliveries)} deliveries: it was not cut`,
    );
  } finally {
    await f.close();
  }
});
