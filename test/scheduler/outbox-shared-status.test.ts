/**
 * Status updates that are the same for several clients (they hold the same futures) are one message, marked
 * shared, so a WebSocket transport encodes it once; clients with other updates get their own.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Outbox } from '../../scheduler/core/outbox';
import { isShared } from '../../scheduler/wire/codec';

test('equal status updates of consecutive clients are one shared message; different ones are not shared', () => {
  const outbox = new Outbox();
  const boxes = new Map(['a', 'b', 'c', 'd'].map((id) => [id, outbox.attach(id)]));
  const box = (id: string) => boxes.get(id) as ReturnType<Outbox['attach']>;
  for (const id of ['a', 'b', 'c']) {
    outbox.sendStatus(box(id), 'k1', 'finished', undefined);
    outbox.sendStatus(box(id), 'k2', 'processing', undefined);
  }
  outbox.sendStatus(box('d'), 'k1', 'finished', undefined);
  const out = outbox.drain();
  const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((id) => out.get(id) ?? []);
  assert.deepEqual(a, [{ op: 'status', keys: ['k1', 'k2'], s: ['finished', 'processing'] }]);
  assert.equal(b[0], a[0], 'the same message object');
  assert.equal(c[0], a[0]);
  assert.ok(isShared(a[0]), 'marked shared');
  assert.deepEqual(d, [{ op: 'status', keys: ['k1'], s: ['finished'] }]);
  assert.ok(!isShared(d[0]), 'a message for one client is not marked');

  // An error makes the updates differ.
  const boom = { name: 'Error', message: 'boom' };
  outbox.sendStatus(box('a'), 'k3', 'error', boom);
  outbox.sendStatus(box('b'), 'k3', 'error', { ...boom });
  const next = outbox.drain();
  assert.notEqual(next.get('a')?.[0], next.get('b')?.[0]);
  assert.deepEqual(next.get('b'), [{ op: 'status', keys: ['k3'], s: ['error'], e: [{ name: 'Error', message: 'boom' }] }]);
});

test('a client that left hears nothing more: what is sent to its box afterwards is dropped', () => {
  const outbox = new Outbox();
  const a = outbox.attach('a');
  const b = outbox.attach('b');
  outbox.observe(a, true);
  outbox.sendStatus(a, 'k1', 'finished', undefined);
  outbox.remove('a');
  outbox.sendTo(a, { op: 'error', error: { name: 'Error', message: 'late' } });
  outbox.sendStatus(a, 'k2', 'finished', undefined);
  outbox.observe(a, true);
  assert.equal(outbox.observers, 0, 'a client that left observes nothing');
  outbox.sendStatus(b, 'k1', 'finished', undefined);
  const out = outbox.drain();
  assert.deepEqual([...out.keys()], ['b']);
  assert.deepEqual(out.get('b'), [{ op: 'status', keys: ['k1'], s: ['finished'] }]);
});
