/**
 * Placement by data, work stealing, several holders per key and `replicate`, in the sans-I/O core: a
 * SchedulerState driven by hand with simulated workers (no threads, no sockets).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SchedulerState } from '../../scheduler/core/state';
import { OCCUPANCY_FACTOR, OCCUPANCY_SLACK, PLACE_MIN_BYTES, STEAL_PER_THREAD } from '../../scheduler/core/task-machine';
import type { SchedulerMessage } from '../../scheduler/protocol/messages';
import { checkClientMessage } from '../../scheduler/protocol/validation';

const BIG = PLACE_MIN_BYTES;
const fn = { id: 'f', src: '(x) => x' };

/** A core with worker processes `A`, `B`, `C` (one thread each unless told) and the scheduler's own pool. */
function setup(threads: Record<string, number> = {}, pool = true) {
  let clock = 1000;
  const s = new SchedulerState('test://placement', () => clock++);
  if (pool) s.addWorker('local', 2, false);
  for (const w of ['A', 'B', 'C']) s.addWorker(w, threads[w] ?? 1);
  s.addClient('a');
  s.drainOutbox();
  return s;
}

/** Submits `key` (depending on `deps`), runs it on `worker` and lands its result there with `nbytes`. */
function computeOn(s: SchedulerState, worker: string, key: string, nbytes: number, deps: string[] = []): void {
  submit(s, key, deps);
  const [t] = s.takeReady(worker, 1);
  assert.equal(t?.key, key, `${key} is dispatched to ${worker}`);
  s.taskFinished(key, worker, undefined, true, t.run, nbytes);
}

function submit(s: SchedulerState, key: string, deps: string[] = []): void {
  s.handleClient('a', { op: 'submit', fns: [fn], tasks: [deps.length > 0 ? { key, fn: 'f', args: deps.map((d) => ({ $sf: d })), deps } : { key, fn: 'f', args: [] }] });
}

function replies(s: SchedulerState): Extract<SchedulerMessage, { op: 'reply' }>[] {
  return (s.drainOutbox().get('a') ?? []).filter((m): m is Extract<SchedulerMessage, { op: 'reply' }> => m.op === 'reply');
}

function dispatchEntry(s: SchedulerState, key: string) {
  return s.storyOf(key).filter((e) => e.event === 'dispatch').at(-1);
}

test('a result stored on a worker process has its size recorded', () => {
  const s = setup();
  computeOn(s, 'A', 'x', 12_345);
  assert.equal(s.tasks.get('x')?.nbytes, 12_345);
  assert.equal(s.workers.get('A')?.nbytes, 12_345);
});

test('placement: a task whose dependencies are mostly on one worker is queued for that worker', () => {
  const s = setup();
  computeOn(s, 'A', 'x', BIG);
  submit(s, 'y', ['x']);
  assert.equal(s.readyCount, 1, 'the placed task counts as ready');
  assert.deepEqual(s.takeReady('B', 5), [], 'another worker does not take it (its queue is short: nothing to steal)');
  assert.deepEqual(s.takeReady('local', 5), []);
  const [y] = s.takeReady('A', 5);
  assert.equal(y?.key, 'y');
  assert.deepEqual(y.at, { x: ['A'] });
  assert.deepEqual(
    s.storyOf('y').filter((e) => e.to === 'queued' || e.to === 'processing').map((e) => [e.to, e.worker, e.why]),
    [
      ['queued', 'A', 'local-data'],
      ['processing', 'A', 'local-data'],
    ],
  );
});

test('placement: dependencies worth less than the threshold go to the shared queue', () => {
  const s = setup();
  computeOn(s, 'A', 'x', BIG - 1);
  submit(s, 'y', ['x']);
  const [y] = s.takeReady('B', 5);
  assert.equal(y?.key, 'y', 'any worker takes it');
  assert.deepEqual([dispatchEntry(s, 'y')?.worker, dispatchEntry(s, 'y')?.why], ['B', 'shared']);
});

test('placement: bytes split evenly between two workers are not mostly on one: shared queue', () => {
  const s = setup();
  computeOn(s, 'A', 'x1', BIG);
  computeOn(s, 'B', 'x2', BIG);
  submit(s, 'y', ['x1', 'x2']);
  const [y] = s.takeReady('C', 5);
  assert.equal(y?.key, 'y');
  assert.deepEqual(y.at, { x1: ['A'], x2: ['B'] });
  assert.equal(dispatchEntry(s, 'y')?.why, 'shared');
  // With most of the bytes on B, it goes to B.
  computeOn(s, 'A', 'z1', BIG);
  computeOn(s, 'B', 'z2', 3 * BIG);
  submit(s, 'w', ['z1', 'z2']);
  assert.deepEqual(s.takeReady('A', 5), []);
  assert.equal(s.takeReady('B', 5)[0]?.key, 'w');
});

test('placement: a worker much busier than the least busy one is skipped (occupancy rule)', () => {
  const s = setup();
  computeOn(s, 'A', 'x', BIG);
  // Keep A busy: enough running tasks that its occupancy passes least * factor + slack (least is 0 here).
  const busy = OCCUPANCY_SLACK + 1;
  for (let i = 0; i < busy; i++) submit(s, `busy${i}`);
  assert.equal(s.takeReady('A', busy).length, busy);
  assert.ok(busy > 0 * OCCUPANCY_FACTOR + OCCUPANCY_SLACK);
  submit(s, 'y', ['x']);
  const [y] = s.takeReady('B', 5);
  assert.equal(y?.key, 'y', 'the idle worker takes it from the shared queue');
  const note = s.storyOf('y').find((e) => e.event === 'not-placed');
  assert.ok(note && note.worker === 'A' && /busy/.test(note.why ?? ''), JSON.stringify(s.storyOf('y')));
  // Not busy enough: exactly at the limit it is still placed.
  const t = setup();
  computeOn(t, 'A', 'x', BIG);
  for (let i = 0; i < OCCUPANCY_SLACK; i++) submit(t, `busy${i}`);
  t.takeReady('A', OCCUPANCY_SLACK);
  submit(t, 'y', ['x']);
  assert.deepEqual(t.takeReady('B', 5), []);
  assert.equal(t.takeReady('A', 5)[0]?.key, 'y');
});

test('placement: tasks without remote dependencies take the shared FIFO in order, as before', () => {
  const s = setup();
  for (let i = 0; i < 5; i++) submit(s, `t${i}`);
  assert.deepEqual(s.takeReady('B', 2).map((t) => t.key), ['t0', 't1']);
  assert.deepEqual(s.takeReady('local', 10).map((t) => t.key), ['t2', 't3', 't4']);
  assert.equal(dispatchEntry(s, 't3')?.why, 'shared');
  assert.equal(dispatchEntry(s, 't3')?.worker, 'local');
});

test("takeReady takes the worker's own queue before the shared one", () => {
  const s = setup();
  computeOn(s, 'A', 'x', BIG);
  submit(s, 'shared1');
  submit(s, 'y', ['x']);
  assert.deepEqual(s.takeReady('A', 1).map((t) => t.key), ['y']);
  assert.deepEqual(s.takeReady('A', 1).map((t) => t.key), ['shared1']);
});

test('work stealing: an idle worker takes the excess of the longest own queue, oldest first', () => {
  const s = setup({}, false);
  computeOn(s, 'A', 'x', BIG);
  // B and C are busy while the tasks are placed: A may queue up to B's occupancy * factor + slack per thread.
  for (const w of ['B', 'C']) {
    for (let i = 0; i < 2; i++) submit(s, `${w}-busy${i}`);
    assert.equal(s.takeReady(w, 2).length, 2);
  }
  const n = STEAL_PER_THREAD * 1 + 3; // A has one thread: it will start STEAL_PER_THREAD soon, 3 are spare
  assert.ok(n <= 2 * OCCUPANCY_FACTOR + OCCUPANCY_SLACK);
  for (let i = 0; i < n; i++) submit(s, `y${i}`, ['x']);
  assert.equal(s.workers.get('A')?.queued, n, 'all placed on A');
  for (let i = 0; i < 2; i++) s.taskFinished(`B-busy${i}`, 'B', undefined, true);
  const stolen = s.takeReady('B', 10);
  assert.deepEqual(stolen.map((t) => t.key), ['y0', 'y1', 'y2'], 'only the spare part, oldest first');
  assert.deepEqual(stolen[0].at, { x: ['A'] }, 'the thief fetches the data from A');
  assert.deepEqual([dispatchEntry(s, 'y0')?.worker, dispatchEntry(s, 'y0')?.why], ['B', 'stolen from A']);
  assert.deepEqual(s.takeReady('C', 10), [], 'what A will start soon is not stolen');
  assert.deepEqual(s.takeReady('A', 10).map((t) => t.key), ['y3', 'y4']);
  assert.deepEqual([dispatchEntry(s, 'y3')?.worker, dispatchEntry(s, 'y3')?.why], ['A', 'local-data']);
});

test('placement: with an idle worker around, a queue never grows past what the occupancy rule allows', () => {
  const s = setup({}, false);
  computeOn(s, 'A', 'x', BIG);
  for (let i = 0; i < 10; i++) submit(s, `y${i}`, ['x']);
  assert.equal(s.workers.get('A')?.queued, OCCUPANCY_SLACK + 1, 'placed until its occupancy passes 0 * factor + slack');
  assert.equal(s.readyCount, 10);
  const taken = s.takeReady('B', 10);
  const shared = 10 - (OCCUPANCY_SLACK + 1);
  assert.deepEqual(taken.slice(0, shared).map((t) => dispatchEntry(s, t.key)?.why), new Array(shared).fill('shared'), 'the rest is in the shared queue');
  // Then B, idle, steals what A will not start soon.
  assert.deepEqual(taken.slice(shared).map((t) => dispatchEntry(s, t.key)?.why), new Array(OCCUPANCY_SLACK + 1 - STEAL_PER_THREAD).fill('stolen from A'));
});

test("a worker's own queue goes to the shared queue when it leaves", () => {
  const s = setup();
  computeOn(s, 'A', 'x', BIG);
  s.handleClient('a', { op: 'replicate', req: 1, keys: ['x'], n: 2 });
  const [[target]] = [...s.drainCopies()].map(([w]) => [w]);
  s.replicaAdded('x', target);
  submit(s, 'y', ['x']);
  assert.equal(s.workers.get('A')?.queued, 1);
  s.removeWorker('A');
  assert.equal(s.tasks.get('x')?.state, 'memory', 'x survives on its copy');
  assert.ok(s.storyOf('y').some((e) => e.event === 'unplaced' && e.worker === 'A' && e.why === 'worker-lost'));
  const other = target === 'B' ? 'C' : 'B';
  const [y] = s.takeReady(other, 5);
  assert.equal(y?.key, 'y', 'any worker takes it now');
  assert.deepEqual(y.at, { x: [target] });
});

test('several holders: losing one worker loses nothing while another holds a copy', () => {
  const s = setup();
  computeOn(s, 'A', 'x', 100);
  submit(s, 'y', ['x']);
  s.handleClient('a', { op: 'release', keys: ['x'] }); // only y wants it now
  s.handleClient('a', { op: 'replicate', req: 7, keys: ['x'], n: 3 });
  const copies = s.drainCopies();
  assert.deepEqual([...copies.keys()].sort(), ['B', 'C'], 'copies go to workers processes not holding it, never the pool');
  assert.deepEqual(copies.get('B'), [{ key: 'x', from: ['A'] }]);
  s.replicaAdded('x', 'B');
  assert.deepEqual(replies(s), [], 'no reply before every copy is made');
  s.replicaAdded('x', 'C');
  assert.deepEqual(replies(s), [{ op: 'reply', req: 7, ok: true, value: { x: 3 } }]);
  s.removeWorker('A');
  assert.equal(s.tasks.get('x')?.state, 'memory', 'x stays in memory: B and C hold it');
  assert.equal(s.tasks.get('y')?.state, 'queued', 'y is still ready');
  assert.ok(!s.storyOf('x').some((e) => e.event === 'recompute'));
  assert.ok(s.storyOf('x').some((e) => e.event === 'replica-lost' && e.worker === 'A'));
  s.removeWorker('B');
  assert.equal(s.tasks.get('x')?.state, 'memory');
  s.removeWorker('C');
  assert.equal(s.tasks.get('x')?.state, 'queued', 'its last holder gone, x is recomputed');
  assert.equal(s.tasks.get('y')?.state, 'waiting');
});

test('several holders: ExecTask.at lists every holder, the dispatching worker first when it holds one', () => {
  const s = setup();
  computeOn(s, 'A', 'x', 100);
  s.handleClient('a', { op: 'replicate', req: 1, keys: ['x'], n: 2 });
  const [target] = [...s.drainCopies().keys()];
  s.replicaAdded('x', target);
  // Make A busy so that the copy on `target` is the one to ask first.
  submit(s, 'busy');
  s.takeReady('A', 1);
  submit(s, 'y', ['x']);
  submit(s, 'z', ['x']);
  const [y] = s.takeReady('local', 1);
  assert.deepEqual(y.at, { x: [target, 'A'] }, 'the least busy holder first');
  const [z] = s.takeReady('A', 1);
  assert.deepEqual(z.at, { x: ['A', target] }, 'its own copy first: nothing moves');
});

test('several holders: dropping a key frees it on every holder', () => {
  const s = setup();
  computeOn(s, 'A', 'x', 100);
  s.handleClient('a', { op: 'replicate', req: 1, keys: ['x'], n: 3 });
  for (const w of s.drainCopies().keys()) s.replicaAdded('x', w);
  s.drainFrees();
  s.handleClient('a', { op: 'release', keys: ['x'] });
  const frees = s.drainFrees();
  assert.deepEqual([...frees.keys()].sort(), ['A', 'B', 'C']);
  for (const keys of frees.values()) assert.deepEqual(keys, ['x']);
  for (const w of ['A', 'B', 'C']) assert.equal(s.workers.get(w)?.nbytes, 0);
});

test('replicate: targets are the workers holding least data; n above the worker count means all of them', () => {
  const s = setup();
  computeOn(s, 'B', 'big', 10 * BIG);
  computeOn(s, 'C', 'small', 10);
  computeOn(s, 'A', 'x', 100);
  s.handleClient('a', { op: 'replicate', req: 3, keys: ['x'], n: 2 });
  assert.deepEqual([...s.drainCopies().keys()], ['C'], 'C holds less than B');
  s.replicaAdded('x', 'C');
  assert.deepEqual(replies(s), [{ op: 'reply', req: 3, ok: true, value: { x: 2 } }]);
  s.handleClient('a', { op: 'replicate', req: 4, keys: ['x'], n: 99 });
  assert.deepEqual([...s.drainCopies().keys()], ['B']);
  s.replicaAdded('x', 'B');
  assert.deepEqual(replies(s), [{ op: 'reply', req: 4, ok: true, value: { x: 3 } }], 'three worker processes: three holders');
  s.handleClient('a', { op: 'replicate', req: 5, keys: ['x'], n: 2 });
  assert.deepEqual(replies(s), [{ op: 'reply', req: 5, ok: true, value: { x: 3 } }], 'already enough: answered at once');
  assert.equal(s.drainCopies().size, 0);
});

test('replicate: a failed copy answers with an error; a target that leaves is replaced', () => {
  const s = setup();
  computeOn(s, 'A', 'x', 100);
  s.handleClient('a', { op: 'replicate', req: 1, keys: ['x'], n: 2 });
  const [first] = [...s.drainCopies().keys()];
  s.removeWorker(first);
  const [second] = [...s.drainCopies().keys()];
  assert.ok(second !== undefined && second !== first && second !== 'A', 'another target is ordered');
  s.replicaFailed('x', second, 'connection refused');
  const [r] = replies(s);
  assert.ok(r && !r.ok && r.req === 1 && r.error.code === 'ERR_REPLICATE' && /copying x to worker .* failed: connection refused/.test(r.error.message), JSON.stringify(r));
  // A copy reported after all is not kept: the worker is told to drop it.
  s.replicaAdded('x', second);
  assert.deepEqual(s.drainFrees().get(second), ['x']);
});

test('replicate: unknown or unfinished keys get one clear error; keys kept by the scheduler count 0', () => {
  const s = setup();
  s.handleClient('a', { op: 'replicate', req: 1, keys: ['nope'], n: 2 });
  submit(s, 'pending');
  s.handleClient('a', { op: 'replicate', req: 2, keys: ['pending'], n: 2 });
  s.handleClient('a', { op: 'scatter', req: 3, items: [{ key: 'here', value: 1 }] });
  s.handleClient('a', { op: 'replicate', req: 4, keys: ['here'], n: 2 });
  const r = replies(s);
  const one = r.find((m) => m.req === 1);
  assert.ok(one && !one.ok && one.error.code === 'ERR_FUTURE_RELEASED' && /does not hold nope/.test(one.error.message));
  const two = r.find((m) => m.req === 2);
  assert.ok(two && !two.ok && two.error.code === 'ERR_NOT_FINISHED' && /pending is not finished/.test(two.error.message));
  assert.deepEqual(r.find((m) => m.req === 4), { op: 'reply', req: 4, ok: true, value: { here: 0 } });
  assert.equal(s.drainCopies().size, 0);
  assert.match(checkClientMessage({ op: 'replicate', req: 5, keys: ['x'], n: 0 })?.message ?? '', /n: how many workers .* integer >= 1/);
  assert.match(checkClientMessage({ op: 'replicate', req: 5, keys: 'x', n: 1 })?.message ?? '', /replicate needs keys/);
  assert.match(checkClientMessage({ op: 'replicate', keys: ['x'], n: 1 })?.message ?? '', /needs req/);
  assert.equal(checkClientMessage({ op: 'replicate', req: 5, keys: ['x'], n: 2 }), undefined);
});

test('replicate: a key released while being copied ends the request with an error, and the late copy is freed', () => {
  const s = setup();
  computeOn(s, 'A', 'x', 100);
  s.handleClient('a', { op: 'replicate', req: 1, keys: ['x'], n: 2 });
  const [target] = [...s.drainCopies().keys()];
  s.handleClient('a', { op: 'release', keys: ['x'] });
  s.replicaAdded('x', target);
  const [r] = replies(s);
  assert.ok(r && !r.ok && /x was released while being copied/.test(r.error.message), JSON.stringify(r));
  assert.deepEqual(s.drainFrees().get(target), ['x']);
});
