/** The sans-I/O core on its own: no threads, no sockets. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SchedulerState } from '../../scheduler/core/state';
import { IllegalTransitionError, assertTransition, isAllowed, publicStatus } from '../../scheduler/core/transitions';
import type { SchedulerMessage } from '../../scheduler/protocol/messages';

function setup() {
  let clock = 1000;
  const s = new SchedulerState('test://core', () => clock++);
  s.addWorker('w', 2);
  s.addClient('a');
  s.addClient('b');
  s.drainOutbox();
  const fn = { id: 'f', src: '(x) => x' };
  return { s, fn };
}

function msgs(out: ReadonlyMap<string, SchedulerMessage[]>, client: string): SchedulerMessage[] {
  return out.get(client) ?? [];
}

test('the transition table allows the lifecycle and rejects anything else', () => {
  for (const [from, to] of [
    ['released', 'waiting'],
    ['waiting', 'queued'],
    ['queued', 'processing'],
    ['processing', 'memory'],
    ['processing', 'erred'],
    ['memory', 'forgotten'],
  ] as const) {
    assert.equal(isAllowed(from, to), true, `${from} -> ${to}`);
  }
  assert.throws(() => assertTransition('k', 'memory', 'processing'), IllegalTransitionError);
  assert.throws(() => assertTransition('k', 'forgotten', 'queued'), /illegal transition of k: forgotten -> queued/);
  assert.equal(publicStatus('queued'), 'pending');
  assert.equal(publicStatus('memory'), 'finished');
});

test('a task goes queued -> processing -> memory and its story says so', () => {
  const { s, fn } = setup();
  s.handleClient('a', { op: 'submit', fns: [fn], tasks: [{ key: 'x', fn: 'f', args: [1] }] });
  assert.equal(s.readyCount, 1);
  const [task] = s.takeReady('w', 10);
  assert.deepEqual(task, { key: 'x', run: 1, fn: 'f', args: [1] });
  s.taskFinished('x', 'w', 1);
  const out = s.drainOutbox();
  const status = msgs(out, 'a').find((m) => m.op === 'status');
  assert.deepEqual(status && status.op === 'status' && status.s, ['processing', 'finished']);
  assert.deepEqual(
    s.storyOf('x').map((e) => `${e.from}>${e.to}`),
    ['released>queued', 'queued>processing', 'processing>memory'],
  );
  // Each transition is stamped with the clock (1000, 1001, … in this test) when it happens, and named.
  assert.deepEqual(
    s.storyOf('x').map(({ time, event }) => ({ time, event })),
    [
      { time: 1000, event: 'submit' },
      { time: 1001, event: 'dispatch' },
      { time: 1002, event: 'task-finished' },
    ],
  );
});

test('dependencies wait, then run with the values of their dependencies', () => {
  const { s, fn } = setup();
  s.handleClient('a', {
    op: 'submit',
    fns: [fn],
    tasks: [
      { key: 'x', fn: 'f', args: [1] },
      { key: 'y', fn: 'f', args: [{ $sf: 'x' }], deps: ['x'] },
    ],
  });
  assert.equal(s.tasks.get('y')?.state, 'waiting');
  const first = s.takeReady('w', 10);
  assert.deepEqual(first.map((t) => t.key), ['x']);
  s.taskFinished('x', 'w', 41);
  const [y] = s.takeReady('w', 10);
  assert.deepEqual(y.deps, { x: 41 });
});

test('an erred dependency errs its dependents with the same error', () => {
  const { s, fn } = setup();
  s.handleClient('a', {
    op: 'submit',
    fns: [fn],
    tasks: [
      { key: 'x', fn: 'f', args: [] },
      { key: 'y', fn: 'f', args: [{ $sf: 'x' }], deps: ['x'] },
    ],
  });
  s.takeReady('w', 10);
  s.taskErred('x', 'w', { name: 'RangeError', message: 'bad' });
  assert.equal(s.tasks.get('y')?.state, 'erred');
  assert.equal(s.tasks.get('y')?.error?.message, 'bad');
});

test('retries run a failing task again before it errs', () => {
  const { s, fn } = setup();
  s.handleClient('a', { op: 'submit', fns: [fn], tasks: [{ key: 'x', fn: 'f', args: [], retries: 1 }] });
  s.takeReady('w', 1);
  s.taskErred('x', 'w', { name: 'Error', message: 'flaky' });
  assert.equal(s.tasks.get('x')?.state, 'queued');
  s.takeReady('w', 1);
  s.taskErred('x', 'w', { name: 'Error', message: 'flaky' });
  assert.equal(s.tasks.get('x')?.state, 'erred');
});

test('a key nobody wants is forgotten; a key two clients want lives until both release', () => {
  const { s, fn } = setup();
  s.handleClient('a', { op: 'submit', fns: [fn], tasks: [{ key: 'x', fn: 'f', args: [] }] });
  s.handleClient('b', { op: 'submit', fns: [], tasks: [{ key: 'x', fn: 'f', args: [] }] });
  assert.equal(s.readyCount, 1, 'identical keys share one task');
  s.takeReady('w', 1);
  s.taskFinished('x', 'w', 7);
  s.handleClient('a', { op: 'release', keys: ['x'] });
  assert.equal(s.tasks.get('x')?.state, 'memory');
  s.removeClient('b');
  assert.equal(s.tasks.has('x'), false);
  assert.deepEqual(s.info().tasks, {});
});

test('higher priority runs first, then submission order', () => {
  const { s, fn } = setup();
  s.handleClient('a', {
    op: 'submit',
    fns: [fn],
    tasks: [
      { key: 'low', fn: 'f', args: [] },
      { key: 'high', fn: 'f', args: [], priority: 5 },
      { key: 'low2', fn: 'f', args: [] },
    ],
  });
  assert.deepEqual(s.takeReady('w', 3).map((t) => t.key), ['high', 'low', 'low2']);
});

test('a task on a crashed thread runs again alone, and errs if it crashes again', () => {
  const { s, fn } = setup();
  s.handleClient('a', {
    op: 'submit',
    fns: [fn],
    tasks: [
      { key: 'bad', fn: 'f', args: [] },
      { key: 'good', fn: 'f', args: [] },
    ],
  });
  assert.equal(s.takeReady('w', 10).length, 2);
  s.taskCrashed('bad', 'w', { name: 'Error', message: 'thread died' });
  s.taskCrashed('good', 'w', { name: 'Error', message: 'thread died' });
  const alone = s.takeReady('w', 10);
  assert.equal(alone.length, 1, 'a suspicious task is dispatched alone');
  s.taskCrashed(alone[0].key, 'w', { name: 'Error', message: 'thread died' });
  assert.equal(s.tasks.get(alone[0].key)?.state, 'erred');
  assert.match(s.tasks.get(alone[0].key)?.error?.message ?? '', /thread died/);
});

test('a channel holds its futures after their maker leaves and releases them on eviction', () => {
  const { s, fn } = setup();
  s.handleClient('a', { op: 'sub', channel: 'c', maxlen: 2 });
  s.handleClient('a', { op: 'submit', fns: [fn], tasks: [{ key: 'x', fn: 'f', args: [] }] });
  s.handleClient('a', { op: 'append', channel: 'c', items: [{ k: 'x' }] });
  s.removeClient('a');
  assert.equal(s.tasks.has('x'), true, 'the channel keeps x alive');
  s.handleClient('b', { op: 'sub', channel: 'c', maxlen: null });
  const replay = msgs(s.drainOutbox(), 'b').find((m) => m.op === 'replay');
  assert.ok(replay && replay.op === 'replay');
  assert.deepEqual(replay.items, [{ k: 'x', s: 'pending' }]);
  assert.equal(replay.maxlen, 2, 'the first subscriber fixed maxlen');
  s.handleClient('b', { op: 'release', keys: ['x'] });
  s.handleClient('b', { op: 'append', channel: 'c', items: [{ v: 1 }, { v: 2 }] });
  assert.equal(s.tasks.has('x'), false, 'evicted and unwanted: forgotten');
  assert.deepEqual(s.channelInfos(), [{ name: 'c', count: 3, length: 2, maxlen: 2, stopped: false }]);
});

test('appends after stop are refused at the next flush, and stop is replayed to late subscribers', () => {
  const { s } = setup();
  s.handleClient('a', { op: 'sub', channel: 'c', maxlen: null });
  s.handleClient('a', { op: 'stop', req: 1, channel: 'c' });
  s.handleClient('a', { op: 'append', channel: 'c', items: [{ v: 1 }] });
  s.handleClient('a', { op: 'flush', req: 2, channel: 'c' });
  const out = msgs(s.drainOutbox(), 'a');
  const flush = out.find((m) => m.op === 'reply' && m.req === 2);
  assert.ok(flush && flush.op === 'reply' && !flush.ok && flush.error.code === 'ERR_CHANNEL_STOPPED');
  s.handleClient('b', { op: 'sub', channel: 'c', maxlen: null });
  const replay = msgs(s.drainOutbox(), 'b').find((m) => m.op === 'replay');
  assert.ok(replay && replay.op === 'replay' && replay.stopped === true && replay.items.length === 0);
});

test('a message the state cannot apply is answered with an error and the state keeps serving', () => {
  // Shapes are checked before the core (protocol/validation.ts, test/remote/protocol-validation.test.ts);
  // what needs the state to tell is answered here.
  const { s } = setup();
  s.handleClient('a', { op: 'submit', fns: [], tasks: [{ key: 'x', fn: 'never-shipped', args: [] }] });
  s.handleClient('a', { op: 'gather', req: 8, keys: ['unknown-key'] });
  s.handleClient('a', { op: 'channels', req: 9 });
  const out = msgs(s.drainOutbox(), 'a');
  const error = out.find((m) => m.op === 'error');
  assert.ok(error && error.op === 'error' && error.error.code === 'ERR_PROTOCOL' && /unknown function id never-shipped/.test(error.error.message));
  const gather = out.find((m) => m.op === 'reply' && m.req === 8);
  assert.ok(gather && gather.op === 'reply' && !gather.ok && gather.error.code === 'ERR_FUTURE_RELEASED' && gather.error.key === 'unknown-key');
  assert.ok(out.some((m) => m.op === 'reply' && m.req === 9 && m.ok));
});

test('results lost with a remote worker are recomputed from the graph, dependencies first', () => {
  const { s, fn } = setup();
  s.addWorker('remote', 1);
  s.handleClient('a', {
    op: 'submit',
    fns: [fn],
    tasks: [
      { key: 'x', fn: 'f', args: [1] },
      { key: 'y', fn: 'f', args: [{ $sf: 'x' }], deps: ['x'] },
    ],
  });
  s.handleClient('a', { op: 'release', keys: ['x'] }); // only y is wanted; x must still be recomputable
  const [x] = s.takeReady('remote', 10);
  s.taskFinished(x.key, 'remote', undefined, true);
  const [y] = s.takeReady('remote', 10);
  assert.deepEqual(y.at, { x: ['remote'] }, 'the dependency is on the remote worker');
  s.taskFinished('y', 'remote', undefined, true);
  assert.equal(s.tasks.get('x')?.state, 'memory', 'x is kept: y may need recomputing');
  s.removeWorker('remote');
  assert.equal(s.tasks.get('x')?.state, 'queued');
  assert.equal(s.tasks.get('y')?.state, 'waiting');
  const again = s.takeReady('w', 10);
  assert.deepEqual(again.map((t) => t.key), ['x']);
  s.taskFinished('x', 'w', 1);
  const [y2] = s.takeReady('w', 10);
  assert.deepEqual(y2.deps, { x: 1 });
  s.taskFinished('y', 'w', 1);
  assert.ok(s.storyOf('y').some((e) => e.event === 'recompute'));
  s.handleClient('a', { op: 'release', keys: ['y'] });
  assert.equal(s.tasks.size, 0, 'everything is forgotten once nobody wants y');
  assert.deepEqual([...s.drainFrees().values()].flat(), [], 'nothing left to free on a worker that is gone');
});

test('a remote result nobody wants is freed on its worker', () => {
  const { s, fn } = setup();
  s.addWorker('remote', 1);
  s.handleClient('a', { op: 'submit', fns: [fn], tasks: [{ key: 'x', fn: 'f', args: [] }] });
  s.takeReady('remote', 1);
  s.taskFinished('x', 'remote', undefined, true);
  s.drainFrees();
  s.handleClient('a', { op: 'release', keys: ['x'] });
  assert.deepEqual(s.drainFrees().get('remote'), ['x']);
});

test('subscribing with create:false does not bring a missing channel (back) into being', () => {
  const { s } = setup();
  s.handleClient('a', { op: 'sub', channel: 'gone', maxlen: 5, create: false });
  assert.deepEqual(msgs(s.drainOutbox(), 'a'), [{ op: 'chan-deleted', channel: 'gone' }]);
  assert.deepEqual(s.channelInfos(), []);
  s.handleClient('b', { op: 'sub', channel: 'gone', maxlen: null });
  assert.deepEqual(s.channelInfos(), [{ name: 'gone', count: 0, length: 0, maxlen: null, stopped: false }], 'a later real subscriber fixes maxlen');
});

test('a result recomputed after its worker was lost makes a dependent that waits on another key wait for it again', () => {
  const { s, fn } = setup();
  s.addWorker('remote', 1);
  s.handleClient('a', { op: 'submit', fns: [fn], tasks: [{ key: 'x', fn: 'f', args: [] }] });
  const [x] = s.takeReady('remote', 1);
  s.taskFinished('x', 'remote', undefined, true, x.run);
  s.handleClient('a', {
    op: 'submit',
    fns: [],
    tasks: [
      { key: 'slow', fn: 'f', args: [] },
      { key: 'z', fn: 'f', args: [{ $sf: 'x' }, { $sf: 'slow' }], deps: ['x', 'slow'] },
    ],
  });
  assert.equal(s.tasks.get('z')?.state, 'waiting');
  assert.equal(s.tasks.get('z')?.waitingOn, 1, 'z waits for slow only');
  s.removeWorker('remote');
  assert.equal(s.tasks.get('x')?.state, 'queued', 'x is computed again');
  assert.equal(s.tasks.get('z')?.waitingOn, 2, 'z now waits for x as well');
  for (const t of s.takeReady('w', 10)) s.taskFinished(t.key, 'w', 1, false, t.run);
  assert.equal(s.tasks.get('z')?.state, 'queued', 'z runs once both are back');
});

test('a subscription resumed after the grace period ran out does not join a newer incarnation of the channel', () => {
  const { s } = setup();
  s.handleClient('a', { op: 'sub', channel: 'c', maxlen: null });
  const replay = msgs(s.drainOutbox(), 'a').find((m) => m.op === 'replay');
  assert.ok(replay && replay.op === 'replay');
  s.removeClient('a'); // gone for longer than its grace period: the scheduler forgot it
  s.handleClient('b', { op: 'delete', req: 1, channel: 'c' });
  s.handleClient('b', { op: 'sub', channel: 'c', maxlen: null }); // made again
  s.addClient('a');
  s.drainOutbox();
  s.handleClient('a', { op: 'sub', channel: 'c', maxlen: null, resume: true, from: 0, epoch: replay.epoch });
  assert.deepEqual(msgs(s.drainOutbox(), 'a'), [{ op: 'chan-deleted', channel: 'c' }]);
});

test('an outcome of a run that is no longer current is dropped and noted in the story', () => {
  const { s, fn } = setup();
  s.handleClient('a', { op: 'submit', fns: [fn], tasks: [{ key: 'x', fn: 'f', args: [] }] });
  const [first] = s.takeReady('w', 1);
  s.handleClient('a', { op: 'cancel', req: 1, keys: ['x'], force: true });
  s.handleClient('a', { op: 'submit', fns: [], tasks: [{ key: 'x', fn: 'f', args: [] }] });
  const [second] = s.takeReady('w', 1);
  assert.notEqual(first.run, second.run);
  s.taskFinished('x', 'w', 'stale', false, first.run);
  assert.equal(s.tasks.get('x')?.state, 'processing', 'the stale result did not land');
  s.taskFinished('x', 'w', 'fresh', false, second.run);
  assert.equal(s.tasks.get('x')?.value, 'fresh');
  const events = s.storyOf('x').map((e) => e.event);
  assert.ok(events.includes(`stale-result:run-${first.run}@w`), events.join(' '));
  assert.ok(s.storyOf('x').every((e) => typeof e.stimulus === 'string' && e.stimulus.length > 0), 'every entry names its stimulus');
  // A client's message names the client and the op; a worker's outcome its kind.
  const stimuli = s.storyOf('x').map((e) => e.stimulus ?? '');
  assert.ok(stimuli.some((st) => /^a:submit#\d+$/.test(st)), stimuli.join(' '));
  assert.ok(stimuli.some((st) => /^a:cancel#\d+$/.test(st)), stimuli.join(' '));
  assert.ok(stimuli.some((st) => /^task-finished#\d+$/.test(st)), stimuli.join(' '));
});
