/** One error vocabulary: ProtocolError and InfoError cross as ErrorInfo and come back as what they were. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SchedulerState } from '../../scheduler/core/state';
import { InfoError, ProtocolError, fromErrorInfo, toErrorInfo } from '../../scheduler/protocol/errors';
import type { SchedulerMessage } from '../../scheduler/protocol/messages';

test('a ProtocolError crosses without a stack and comes back as a ProtocolError', () => {
  const info = toErrorInfo(new ProtocolError('want needs keys', 4));
  assert.deepEqual(info, { name: 'ProtocolError', message: 'want needs keys', code: 'ERR_PROTOCOL' });
  const back = fromErrorInfo(info);
  assert.ok(back instanceof ProtocolError);
  assert.equal(back.message, 'want needs keys');
});

test('an InfoError crosses as exactly the info it carries', () => {
  const info = { name: 'RangeError', message: 'task k failed', stack: 'RangeError: task k failed\n    at task', key: 'k' };
  assert.deepEqual(toErrorInfo(new InfoError(info)), info);
});

test('a fault inside the core is answered as an internal error, not as a task error', () => {
  const s = new SchedulerState('test://errors');
  s.addClient('a');
  s.drainOutbox();
  s.channelInfos = () => {
    throw new TypeError('a bug in the core');
  };
  s.handleClient('a', { op: 'channels', req: 3 });
  const out: SchedulerMessage[] = s.drainOutbox().get('a') ?? [];
  const reply = out.find((m) => m.op === 'reply' && m.req === 3);
  assert.ok(reply && reply.op === 'reply' && !reply.ok);
  assert.equal(reply.error.code, 'ERR_INTERNAL');
  assert.equal(reply.error.name, 'TypeError');
  assert.equal(reply.error.message, 'a bug in the core');
});
