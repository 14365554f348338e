/**
 * The client's connection: the first connect and every reconnect go through the same binding code (the same
 * hello, first and alone on its transport); requests are numbered from 1 (the welcome is no request); while
 * away, messages wait and leave in one batch with the resync once the scheduler took the client back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConnectionError } from '../../scheduler';
import { Connection, type ConnectionOwner } from '../../scheduler/client/connection';
import { PROTOCOL_VERSION, type ClientMessage, type SchedulerMessage } from '../../scheduler/protocol/messages';
import { waitUntil } from '../support/wait';
import { FakeSchedulerEnd } from './client-fake-scheduler';

function owner(resync: ClientMessage[] = []): ConnectionOwner & { received: SchedulerMessage[]; lost: (Error | undefined)[] } {
  const received: SchedulerMessage[] = [];
  const lost: (Error | undefined)[] = [];
  return { received, lost, receive: (m) => received.push(m), resyncMessages: () => resync, closed: (why) => lost.push(why) };
}

test('first connect and reconnect send the same hello (resume on the reconnect), and the new transport is kept alive while someone waits', async () => {
  const ends: FakeSchedulerEnd[] = [new FakeSchedulerEnd()];
  const resync: ClientMessage[] = [{ op: 'resync', keys: ['k'], n: [1] }];
  const o = owner(resync);
  const conn = new Connection('c-1', ends[0], o, {
    name: 'named',
    connector: () => {
      const end = new FakeSchedulerEnd();
      ends.push(end);
      return end;
    },
    reconnectTimeoutMs: 30_000,
  });
  assert.deepEqual(ends[0].batches, [[{ op: 'hello', client: 'c-1', version: PROTOCOL_VERSION, name: 'named' }]]);
  ends[0].welcome('c-1');
  await conn.connected;
  assert.equal(conn.address, 'fake://scheduler');

  const letGo = conn.hold(); // someone waits on the scheduler
  ends[0].drop(new Error('network gone'));
  conn.post({ op: 'want', keys: ['queued-while-away'] });
  await waitUntil('a reconnect attempt', () => ends.length === 2, 10_000);
  const again = ends[1];
  assert.deepEqual(again.batches, [[{ op: 'hello', client: 'c-1', version: PROTOCOL_VERSION, name: 'named', resume: true }]], 'the same hello, marked resume, and nothing else before the welcome');
  assert.equal(again.keepAlive[again.keepAlive.length - 1], true, 'a caller still waits: the new transport keeps the process alive');

  again.welcome('c-1');
  await waitUntil('the resync', () => again.batches.length === 2);
  assert.deepEqual(again.batches[1], [{ op: 'want', keys: ['queued-while-away'] }, ...resync], 'what waited, then the resync, in one batch');
  letGo();
  assert.equal(again.keepAlive[again.keepAlive.length - 1], false, 'idle again: the process may exit');
  conn.close();
  assert.deepEqual(o.lost, [undefined], 'closed on purpose, not lost');
});

test('requests are numbered from 1 and a reply settles exactly its request', async () => {
  const end = new FakeSchedulerEnd();
  const conn = new Connection('c-2', end, owner());
  end.welcome('c-2');
  await conn.connected;
  const first = conn.request({ op: 'info' });
  const second = conn.request({ op: 'channels' });
  await waitUntil('the requests', () => end.batches.length === 2);
  assert.deepEqual(end.batches[1], [
    { op: 'info', req: 1 },
    { op: 'channels', req: 2 },
  ]);
  end.deliver({ op: 'reply', req: 2, ok: true, value: ['second'] }, { op: 'reply', req: 1, ok: true, value: 'first' });
  assert.equal(await first, 'first');
  assert.deepEqual(await second, ['second']);
  conn.close();
});

test('a connection lost before the first welcome fails the connect and never reconnects', async () => {
  const ends: FakeSchedulerEnd[] = [new FakeSchedulerEnd()];
  const o = owner();
  const conn = new Connection('c-3', ends[0], o, { connector: () => (ends.push(new FakeSchedulerEnd()), ends[ends.length - 1]) });
  ends[0].drop(new ConnectionError('refused'));
  await assert.rejects(conn.connected, ConnectionError);
  assert.equal(conn.closed, true);
  assert.equal(ends.length, 1);
  assert.ok(o.lost[0] instanceof ConnectionError);
});
