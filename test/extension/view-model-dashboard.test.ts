import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SchedulerEvent } from '../../scheduler';
import { DashboardModel } from '../../extension/view-model-dashboard';
import { TreeViewModel } from '../../extension/view-model';
import { fakeTimers } from './view-model.test';

const task = (key: string, status: 'pending' | 'processing' | 'finished' | 'error' | 'cancelled', time: number, worker?: string): SchedulerEvent =>
  worker === undefined ? { type: 'task', key, status, time } : { type: 'task', key, status, time, worker };

describe('DashboardModel', () => {
  it('counts tasks by status from events, and forgotten tasks leave the counts', () => {
    const clock = fakeTimers();
    const m = new DashboardModel(undefined, { timers: clock.api });
    m.setConnection({ kind: 'local', address: 'local' });
    m.applyEvents([task('a', 'pending', 1), task('b', 'pending', 1), task('c', 'pending', 1)]);
    m.applyEvents([task('a', 'processing', 2, 'w'), task('b', 'processing', 2, 'w')]);
    m.applyEvents([task('a', 'finished', 3, 'w'), task('b', 'error', 3), task('c', 'cancelled', 3)]);
    let s = m.snapshot();
    assert.deepEqual(s.counts, { pending: 0, processing: 0, finished: 1, error: 1, cancelled: 1, lost: 0 });
    assert.equal(s.finishedTotal, 1);
    assert.equal(s.erroredTotal, 1);
    // The scheduler forgets a finished task: reported as cancelled, it is no longer held.
    m.applyEvents([task('a', 'cancelled', 4)]);
    s = m.snapshot();
    assert.equal(s.counts.finished, 0);
    assert.equal(s.counts.cancelled, 1);
    assert.deepEqual(m.liveCounts, { processing: 0, finished: 0 });
  });

  it('a forgotten event takes the task out of the counts, a cancelled one too', () => {
    const m = new DashboardModel(undefined, { timers: fakeTimers().api });
    m.applyEvents([task('a', 'pending', 1), task('c', 'pending', 1)]);
    m.applyEvents([task('a', 'finished', 2, 'w'), task('c', 'cancelled', 2)]);
    assert.deepEqual(m.snapshot().counts, { pending: 0, processing: 0, finished: 1, error: 0, cancelled: 1, lost: 0 });
    m.applyEvents([
      { type: 'task', key: 'a', status: 'cancelled', time: 3, forgotten: true },
      { type: 'task', key: 'c', status: 'cancelled', time: 3, forgotten: true },
    ]);
    assert.deepEqual(m.snapshot().counts, { pending: 0, processing: 0, finished: 0, error: 0, cancelled: 0, lost: 0 });
  });

  it('takes counts and workers from schedulerInfo as they are', () => {
    const m = new DashboardModel(undefined, { timers: fakeTimers().api });
    m.applyInfo({ address: 'local', workers: [{ id: 'local', threads: 2, running: ['x', 'y'] }], tasks: { processing: 2, finished: 7 } });
    const s = m.snapshot();
    assert.deepEqual(s.counts, { pending: 0, processing: 2, finished: 7, error: 0, cancelled: 0, lost: 0 });
    assert.deepEqual(s.workers, [{ id: 'local', threads: 2, running: ['x', 'y'], runningCount: 2 }]);
    m.applyEvents([task('x', 'finished', 5, 'local')]);
    assert.deepEqual(m.snapshot().workers[0].running, ['y']);
  });

  it('records the task stream: which worker ran what, from when to when', () => {
    const m = new DashboardModel(undefined, { timers: fakeTimers().api, streamLength: 3 });
    m.applyEvents([{ type: 'worker', id: 'w1', threads: 1, state: 'joined' }, { type: 'worker', id: 'w2', threads: 1, state: 'joined' }]);
    m.applyEvents([task('a', 'processing', 10, 'w1'), task('b', 'processing', 11, 'w2')]);
    let s = m.snapshot();
    assert.deepEqual(s.workers.map((w) => [w.id, w.running]), [['w1', ['a']], ['w2', ['b']]]);
    assert.deepEqual(s.stream, [
      { key: 'a', worker: 'w1', start: 10, status: 'processing' },
      { key: 'b', worker: 'w2', start: 11, status: 'processing' },
    ]);
    m.applyEvents([task('a', 'finished', 20, 'w1'), task('b', 'error', 21)]);
    s = m.snapshot();
    assert.deepEqual(s.stream, [
      { key: 'a', worker: 'w1', start: 10, end: 20, status: 'finished' },
      { key: 'b', worker: 'w2', start: 11, end: 21, status: 'error' },
    ]);
    assert.deepEqual(s.workers.map((w) => w.runningCount), [0, 0]);
    for (let i = 0; i < 10; i++) m.applyEvents([task(`t${i}`, 'processing', 30 + i, 'w1'), task(`t${i}`, 'finished', 31 + i, 'w1')]);
    assert.deepEqual(m.snapshot().stream.map((e) => e.key), ['t7', 't8', 't9'], 'only the newest entries are kept');
  });

  it('counts finished tasks per second over the last minutes', () => {
    const clock = fakeTimers();
    const m = new DashboardModel(undefined, { timers: clock.api, historySeconds: 5 });
    m.applyEvents([task('a', 'finished', 0), task('b', 'finished', 0)]);
    clock.advance(1000);
    m.applyEvents([task('c', 'finished', 0)]);
    let t = m.snapshot().throughput;
    assert.equal(t.finished.length, 5);
    assert.deepEqual(t.finished.slice(-2), [2, 1]);
    clock.advance(3000);
    t = m.snapshot().throughput;
    assert.deepEqual(t.finished, [2, 1, 0, 0, 0]);
    clock.advance(60_000);
    assert.deepEqual(m.snapshot().throughput.finished, [0, 0, 0, 0, 0]);
  });

  it('shows per-channel progress over the items the tree shows, and tells of changes at a bounded rate', () => {
    const clock = fakeTimers();
    const tree = new TreeViewModel({ timers: clock.api });
    const m = new DashboardModel(tree, { timers: clock.api, minIntervalMs: 250 });
    let notices = 0;
    m.onDidChange(() => notices++);
    tree.applyEvents([{ type: 'channel', name: 'c', count: 3, length: 3, maxlen: null, stopped: false }]);
    tree.setItems('c', [{ key: 'a', status: 'finished' }, { key: 'b', status: 'processing' }, { value: 1 }], 3);
    clock.advance(100);
    assert.deepEqual(m.snapshot().channels, [{ name: 'c', count: 3, length: 3, stopped: false, byStatus: { finished: 1, processing: 1 }, values: 1 }]);
    for (let i = 0; i < 100; i++) {
      m.applyEvents([task(`k${i}`, 'pending', 0)]);
      clock.advance(10);
    }
    clock.advance(300);
    // One notice for the tree's first update (at 0 ms), then, for 100 changes from 100 to 1090 ms, one per
    // 250 ms: at 250, 500, 750, 1000 and 1250 ms. Six, not 101.
    assert.equal(notices, 6);
  });
});
