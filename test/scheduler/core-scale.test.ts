/**
 * What keeps the core's cost proportional to the work of a stimulus rather than to the cluster's size
 * (bench/scale.ts measures it; these check the properties, without timings): a delivery to N subscribers is
 * N messages and no per-subscriber copy or client look-up, and a drain visits only the clients that were
 * sent something (observers included) — with the drained messages read as before.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SchedulerState } from '../../scheduler/core/state';
import type { ClientMessage, SchedulerMessage } from '../../scheduler/protocol/messages';

type ItemsMessage = Extract<SchedulerMessage, { op: 'items' }>;

/** A core with `n` clients subscribed to 'all' (and `producer`, not subscribed), outboxes drained. */
function cluster(n: number) {
  let clock = 1000;
  const s = new SchedulerState('test://core-scale', () => clock++);
  s.addWorker('w', 1);
  s.addClient('producer');
  s.handleClient('producer', { op: 'sub', channel: 'all', maxlen: 4, create: true } as ClientMessage);
  s.handleClient('producer', { op: 'unsub', channel: 'all' } as ClientMessage);
  const ids = Array.from({ length: n }, (_, i) => `c${i}`);
  for (const id of ids) {
    s.addClient(id);
    s.handleClient(id, { op: 'sub', channel: 'all', maxlen: null, create: true } as ClientMessage);
  }
  s.drainOutbox();
  return { s, ids };
}

/** Counts the look-ups of `s.clients` by id and the walks over all of it. */
function countClientVisits(s: SchedulerState) {
  const clients = s.clients as Map<string, unknown>;
  const counts = { lookups: 0, walks: 0 };
  const get = clients.get.bind(clients);
  const has = clients.has.bind(clients);
  const values = clients.values.bind(clients);
  const entries = clients.entries.bind(clients);
  const keys = clients.keys.bind(clients);
  Object.assign(clients, {
    get: (k: string) => (counts.lookups++, get(k)),
    has: (k: string) => (counts.lookups++, has(k)),
    values: () => (counts.walks++, values()),
    entries: () => (counts.walks++, entries()),
    keys: () => (counts.walks++, keys()),
    [Symbol.iterator]: () => (counts.walks++, entries()),
  });
  return counts;
}

test('an append to a channel with N subscribers is N items messages: one message, shared, whatever N', () => {
  for (const n of [3, 40]) {
    const { s, ids } = cluster(n);
    s.handleClient('producer', { op: 'append', channel: 'all', items: [{ v: { x: 1 } }, { v: 'two' }] } as ClientMessage);
    const out = s.drainOutbox();
    assert.equal(out.size, n, 'only the subscribers hear of it');
    const got = ids.map((id) => out.get(id) ?? []);
    for (const msgs of got) assert.deepEqual(msgs, [{ op: 'items', channel: 'all', start: 0, items: [{ v: { x: 1 } }, { v: 'two' }] }]);
    // Nothing copied per subscriber: every subscriber's message is the one message of the append.
    const first = got[0][0] as ItemsMessage;
    for (const msgs of got) assert.equal(msgs[0], first);
  }
});

test('a future appended to N subscribers counts one want of each, though they share the message', () => {
  const { s, ids } = cluster(5);
  s.handleClient('producer', { op: 'submit', req: 1, fns: [{ id: 'f', src: '(x) => x' }], tasks: [{ key: 'k', fn: 'f', args: [1] }] } as unknown as ClientMessage);
  s.handleClient('producer', { op: 'append', channel: 'all', items: [{ k: 'k' }] } as ClientMessage);
  const out = s.drainOutbox();
  for (const id of ids) {
    assert.deepEqual(out.get(id), [{ op: 'items', channel: 'all', start: 0, items: [{ k: 'k', s: 'pending' }] }]);
    assert.equal(s.wantCount(id, 'k'), 1);
  }
  // Each subscriber's own status follows, separately: the finish reaches the producer and every subscriber.
  const [task] = s.takeReady('w', 1);
  s.drainOutbox();
  s.taskFinished('k', 'w', 1, false, task.run);
  const after = s.drainOutbox();
  assert.equal(after.size, ids.length + 1);
  for (const id of [...ids, 'producer']) assert.deepEqual(after.get(id), [{ op: 'status', keys: ['k'], s: ['finished'] }]);
});

test('a delivery looks up no client by id, however many subscribers there are', () => {
  const lookups: number[] = [];
  for (const n of [2, 50]) {
    const { s } = cluster(n);
    const counts = countClientVisits(s);
    s.handleClient('producer', { op: 'append', channel: 'all', items: [{ v: 1 }] } as ClientMessage);
    const out = s.drainOutbox();
    assert.equal(out.size, n);
    assert.equal(counts.walks, 0);
    lookups.push(counts.lookups);
  }
  assert.equal(lookups[0], lookups[1], `client look-ups per append with 2 and with 50 subscribers: ${lookups.join(' and ')}`);
});

test('with an observer, a drain visits the observers, not every client', () => {
  const { s, ids } = cluster(30);
  s.handleClient(ids[7], { op: 'events', on: true } as ClientMessage);
  s.drainOutbox();
  const counts = countClientVisits(s);
  s.addWorker('w2', 1);
  s.handleClient('producer', { op: 'append', channel: 'all', items: [{ v: 1 }] } as ClientMessage);
  const out = s.drainOutbox();
  assert.equal(counts.walks, 0, 'no walk over every client');
  const events = (out.get(ids[7]) ?? []).filter((m) => m.op === 'events');
  assert.equal(events.length, 1, 'the observer gets its events');
  for (const id of ids) if (id !== ids[7]) assert.equal((out.get(id) ?? []).some((m) => m.op === 'events'), false);
  // Events off, or the observer gone: nobody gets events.
  s.handleClient(ids[7], { op: 'events', on: false } as ClientMessage);
  s.addWorker('w3', 1);
  assert.equal([...s.drainOutbox().values()].flat().some((m) => m.op === 'events'), false);
  s.handleClient(ids[8], { op: 'events', on: true } as ClientMessage);
  s.removeClient(ids[8]);
  s.addWorker('w4', 1);
  assert.equal([...s.drainOutbox().values()].flat().some((m) => m.op === 'events'), false);
});

test('drained messages read as a map: clients in the order first sent to, status updates last, a forgotten client starts over', () => {
  const { s } = cluster(0);
  for (const id of ['a', 'b', 'c']) s.addClient(id);
  s.drainOutbox();
  s.handleClient('a', { op: 'submit', req: 1, fns: [{ id: 'f', src: '(x) => x' }], tasks: [{ key: 'k', fn: 'f', args: [1] }] } as unknown as ClientMessage);
  s.handleClient('c', { op: 'info', req: 2 } as ClientMessage);
  s.handleClient('b', { op: 'want', keys: ['k'] } as ClientMessage);
  s.handleClient('c', { op: 'channels', req: 3 } as ClientMessage);
  s.handleClient('a', { op: 'want', keys: ['j'] } as ClientMessage);
  s.handleClient('a', { op: 'info', req: 6 } as ClientMessage);
  const out = s.drainOutbox();
  // 'b' was sent only a status (its want's): it comes after the clients sent messages, though it was sent
  // its status before 'c' and 'a' their replies; a client's status update comes after its other messages.
  assert.deepEqual([...out.keys()], ['c', 'a', 'b']);
  assert.deepEqual(
    [...out].map(([id, msgs]) => [id, msgs.map((m) => m.op)]),
    [['c', ['reply', 'reply']], ['a', ['reply', 'status']], ['b', ['status']]],
  );
  assert.equal(out.size, 3);
  assert.equal(out.has('a'), true);
  assert.equal(out.has('d'), false);
  assert.equal(out.get('d'), undefined);
  const seen: string[] = [];
  out.forEach((msgs, id, map) => {
    assert.equal(map.get(id), msgs);
    seen.push(id);
  });
  assert.deepEqual(seen, ['c', 'a', 'b']);
  assert.deepEqual([...out.values()].map((m) => m.length), [2, 2, 1]);
  assert.deepEqual([...out.entries()].map(([id]) => id), ['c', 'a', 'b']);

  // A client that starts over (resumes) loses what was queued and is heard of again from its welcome on.
  s.handleClient('a', { op: 'info', req: 4 } as ClientMessage);
  s.handleClient('b', { op: 'info', req: 5 } as ClientMessage);
  s.resumeClient('a');
  const again = s.drainOutbox();
  assert.deepEqual([...again.keys()], ['b', 'a']);
  assert.deepEqual(again.get('a')?.map((m) => m.op), ['welcome']);
  // Many clients: look-ups still answer.
  const many = cluster(20);
  many.s.handleClient('producer', { op: 'append', channel: 'all', items: [{ v: 1 }] } as ClientMessage);
  const big = many.s.drainOutbox();
  for (const id of many.ids) assert.equal(big.get(id)?.length, 1);
  assert.equal(big.get('nobody'), undefined);
});
