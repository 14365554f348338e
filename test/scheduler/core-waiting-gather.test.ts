/**
 * A gather that waits (`wait: true`): asked while its keys still run, answered by the scheduler in the
 * drain after the last of them settles — with the values, or the error a plain gather would give then.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SchedulerState } from '../../scheduler/core/state';
import type { SchedulerMessage } from '../../scheduler/protocol/messages';

function setup() {
  const s = new SchedulerState('test://waiting-gather');
  s.addWorker('w', 2);
  s.addClient('a');
  s.addClient('b');
  s.drainOutbox();
  s.handleClient('a', { op: 'submit', fns: [{ id: 'f', src: '(x) => x' }], tasks: ['x', 'y'].map((key) => ({ key, fn: 'f', args: [key] })) });
  s.takeReady('w', 10);
  s.drainOutbox();
  return s;
}

function reply(out: ReadonlyMap<string, SchedulerMessage[]>, client: string, req: number): SchedulerMessage | undefined {
  return (out.get(client) ?? []).find((m) => m.op === 'reply' && m.req === req);
}

test('a waiting gather is answered in the drain after its last key finishes, with the values', () => {
  const s = setup();
  s.handleClient('a', { op: 'gather', req: 1, keys: ['x', 'y', 'x'], wait: true });
  assert.equal(reply(s.drainOutbox(), 'a', 1), undefined, 'not answered while x and y run');
  s.taskFinished('x', 'w', 'X');
  assert.equal(reply(s.drainOutbox(), 'a', 1), undefined, 'not answered while y runs');
  s.taskFinished('y', 'w', 'Y');
  const out = s.drainOutbox();
  assert.deepEqual(reply(out, 'a', 1), { op: 'reply', req: 1, ok: true, value: ['X', 'Y', 'X'] });
  const status = (out.get('a') ?? []).find((m) => m.op === 'status');
  assert.deepEqual(status && status.op === 'status' && status.s, ['finished'], 'the status goes in the same drain');
  // Finished keys: answered at once, as a plain gather.
  s.handleClient('a', { op: 'gather', req: 2, keys: ['x'], wait: true });
  assert.deepEqual(reply(s.drainOutbox(), 'a', 2), { op: 'reply', req: 2, ok: true, value: ['X'] });
});

test('a waiting gather of a key that errs, is cancelled or released gets the error a plain gather would', () => {
  const s = setup();
  s.handleClient('a', { op: 'gather', req: 1, keys: ['x'], wait: true });
  s.handleClient('a', { op: 'gather', req: 2, keys: ['y'], wait: true });
  s.taskErred('x', 'w', { name: 'TypeError', message: 'boom' });
  let out = s.drainOutbox();
  const r1 = reply(out, 'a', 1);
  assert.ok(r1 && r1.op === 'reply' && !r1.ok && r1.error.message === 'boom', JSON.stringify(r1));
  s.handleClient('a', { op: 'cancel', req: 3, keys: ['y'] });
  out = s.drainOutbox();
  const r2 = reply(out, 'a', 2);
  assert.ok(r2 && r2.op === 'reply' && !r2.ok && ['ERR_CANCELLED', 'ERR_FUTURE_RELEASED'].includes(r2.error.code ?? ''), JSON.stringify(r2));
});

test('a waiting gather whose key is recomputed before the drain keeps waiting; a client that leaves drops its own', () => {
  const s = setup();
  s.handleClient('a', { op: 'gather', req: 1, keys: ['x'], wait: true });
  s.handleClient('b', { op: 'want', keys: ['y'] });
  s.handleClient('b', { op: 'gather', req: 1, keys: ['y'], wait: true });
  s.removeClient('b');
  s.taskFinished('y', 'w', 'Y');
  assert.equal(reply(s.drainOutbox(), 'b', 1), undefined, 'a client gone is not answered');
  // x finishes on a worker process that is then lost before the drain: its result is gone, it runs again.
  s.addWorker('p', 1);
  s.removeWorker('w');
  s.takeReady('p', 10);
  s.drainOutbox();
  s.taskFinished('x', 'p', 'X', true, undefined, 10);
  s.removeWorker('p');
  assert.equal(reply(s.drainOutbox(), 'a', 1), undefined, 'x is being computed again: still waiting');
  s.addWorker('q', 1);
  s.takeReady('q', 10);
  s.taskFinished('x', 'q', 'X2');
  assert.deepEqual(reply(s.drainOutbox(), 'a', 1), { op: 'reply', req: 1, ok: true, value: ['X2'] });
});
