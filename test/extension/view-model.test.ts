import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SchedulerEvent } from '../../scheduler';
import { Batcher, type Timers } from '../../extension/view-model-batch';
import { TreeViewModel, type ItemSnapshot, type TreeChange, type TreeNode } from '../../extension/view-model';

/** A clock and timers that move only when the test says so. */
export function fakeTimers() {
  let now = 1_000_000;
  let timers: { at: number; fn: () => void; id: number }[] = [];
  let nextId = 1;
  const api: Timers = {
    now: () => now,
    setTimeout: (fn, ms) => {
      const id = nextId++;
      timers.push({ at: now + ms, fn, id });
      return id;
    },
    clearTimeout: (id) => {
      timers = timers.filter((t) => t.id !== id);
    },
  };
  return {
    api,
    /** Moves the clock by `ms`, running every timer that comes due, in order. */
    advance(ms: number) {
      const end = now + ms;
      for (;;) {
        timers.sort((a, b) => a.at - b.at);
        const due = timers[0];
        if (due === undefined || due.at > end) break;
        timers.shift();
        now = due.at;
        due.fn();
      }
      now = end;
    },
    get pending() {
      return timers.length;
    },
  };
}

function label(n: TreeNode): string {
  switch (n.kind) {
    case 'scheduler':
      return 'scheduler';
    case 'channel':
      return `channel ${n.name}`;
    case 'item':
      return n.key !== undefined ? `${n.key}:${n.status}` : `value ${n.preview}`;
    case 'more':
      return `more ${n.hidden}`;
  }
}

function setup(window = 200) {
  const clock = fakeTimers();
  const vm = new TreeViewModel({ window, timers: clock.api });
  const changes: TreeChange[] = [];
  vm.onDidChange((c) => changes.push(c));
  return { clock, vm, changes };
}

const chan = (name: string, count: number, extra: Partial<Extract<SchedulerEvent, { type: 'channel' }>> = {}): SchedulerEvent => ({
  type: 'channel', name, count, length: count, maxlen: null, stopped: false, ...extra,
});
const task = (key: string, status: 'pending' | 'processing' | 'finished' | 'error', worker?: string): SchedulerEvent => ({ type: 'task', key, status, time: 0, worker });
const futures = (n: number, status: 'pending' | 'processing' | 'finished' = 'pending', from = 0): ItemSnapshot[] =>
  Array.from({ length: n }, (_, i) => ({ key: `k${from + i}`, status }));

describe('TreeViewModel', () => {
  it('builds scheduler, channel and item nodes from events and a channel snapshot', () => {
    const { vm } = setup();
    vm.setConnection({ kind: 'local', address: 'local' });
    vm.applyEvents([
      { type: 'worker', id: 'w1', threads: 2, state: 'joined' },
      { type: 'worker', id: 'w2', threads: 3, state: 'joined' },
      chan('results', 2),
      chan('alpha', 0),
    ]);
    assert.deepEqual(vm.children().map(label), ['scheduler']);
    assert.equal(vm.root.workers, 2);
    assert.equal(vm.root.threads, 5);
    assert.deepEqual(vm.children(vm.root).map(label), ['channel alpha', 'channel results']);
    const results = vm.channel('results');
    assert.ok(results);
    vm.setItems('results', [{ key: 'a', status: 'processing' }, { value: { x: 1 } }], 2);
    // Newest first.
    assert.deepEqual(vm.children(results).map(label), ['value {"x":1}', 'a:processing']);
    vm.applyEvents([task('a', 'finished'), task('unrelated', 'finished')]);
    assert.deepEqual(vm.children(results).map(label), ['value {"x":1}', 'a:finished']);
    vm.applyEvents([{ type: 'worker', id: 'w1', threads: 2, state: 'left' }, chan('alpha', 0, { deleted: true, stopped: true })]);
    assert.equal(vm.root.workers, 1);
    assert.equal(vm.root.threads, 3);
    assert.deepEqual(vm.children(vm.root).map(label), ['channel results']);
  });

  it('marks a channel stopped and keeps its counts', () => {
    const { vm } = setup();
    vm.applyEvents([chan('c', 5, { length: 3, maxlen: 3 })]);
    vm.applyEvents([chan('c', 5, { length: 3, maxlen: 3, stopped: true })]);
    const c = vm.channel('c');
    assert.ok(c);
    assert.equal(c.stopped, true);
    assert.equal(c.count, 5);
    assert.equal(c.length, 3);
  });

  it('batches changes: nothing synchronously, then one update per interval at most', () => {
    const { vm, clock, changes } = setup();
    vm.applyEvents([chan('c', 1)]);
    vm.setItems('c', futures(1), 1);
    assert.equal(changes.length, 0, 'no update is sent synchronously');
    clock.advance(0);
    assert.equal(changes.length, 1);
    for (let i = 0; i < 50; i++) {
      vm.applyEvents([task('k0', i % 2 === 0 ? 'processing' : 'finished')]);
      clock.advance(10); // 50 changes over 500 ms
    }
    clock.advance(200);
    // 50 changes from 0 to 490 ms, one update per 100 ms: at 100, 200, 300, 400 and 500 ms (the last one
    // carries the changes of 400..490 ms), not 50.
    assert.equal(changes.length, 1 + 5);
    assert.equal(clock.pending, 0, 'no timer is left once quiet');
  });

  it('reports only the nodes that changed', () => {
    const { vm, clock, changes } = setup();
    vm.applyEvents([chan('c', 3), chan('d', 1)]);
    vm.setItems('c', futures(3), 3);
    vm.setItems('d', [{ key: 'd0', status: 'pending' }], 1);
    clock.advance(100);
    changes.length = 0;
    vm.applyEvents([task('k1', 'processing'), task('d0', 'finished')]);
    clock.advance(100);
    assert.equal(changes.length, 1);
    const change = changes[0];
    assert.notEqual(change, 'all');
    assert.deepEqual([...(change as ReadonlySet<TreeNode>)].map(label).sort(), ['d0:finished', 'k1:processing']);

    // A new item moves the window: the channel is refreshed, and its items are not listed separately.
    changes.length = 0;
    vm.applyEvents([task('k2', 'processing'), chan('c', 4)]);
    vm.setItems('c', [...futures(3), { key: 'k3', status: 'pending' }], 4);
    clock.advance(100);
    assert.equal(changes.length, 1);
    assert.deepEqual([...(changes[0] as ReadonlySet<TreeNode>)].map(label), ['channel c']);

    // A new channel refreshes the scheduler node, which holds the channels.
    changes.length = 0;
    vm.applyEvents([chan('e', 0), task('k0', 'finished')]);
    clock.advance(100);
    assert.deepEqual([...(changes[0] as ReadonlySet<TreeNode>)].map(label), ['scheduler']);

    // A status that does not change is no change.
    changes.length = 0;
    vm.applyEvents([task('k0', 'finished')]);
    clock.advance(100);
    assert.equal(changes.length, 0);
  });

  it('keeps node identity for items that stay in the window', () => {
    const { vm } = setup(3);
    vm.applyEvents([chan('c', 3)]);
    vm.setItems('c', futures(3), 3);
    const before = vm.children(vm.channel('c'));
    vm.setItems('c', futures(4).slice(1), 4);
    const after = vm.children(vm.channel('c'));
    assert.equal(after[1], before[0], 'k2 is the same node');
    assert.equal(after[2], before[1], 'k1 is the same node');
    assert.deepEqual(after.map(label), ['k3:pending', 'k2:pending', 'k1:pending', 'more 1']);
  });

  it('shows the newest window of a 100,000-item channel and a "more" node', () => {
    const { vm, clock, changes } = setup(200);
    vm.applyEvents([chan('big', 100_000, { length: 100_000 })]);
    // The subscription holds only its own window of 200 newest items.
    vm.setItems('big', futures(200, 'pending', 99_800), 100_000);
    const shown = vm.children(vm.channel('big'));
    assert.equal(shown.length, 201);
    assert.deepEqual(shown.slice(0, 2).map(label), ['k99999:pending', 'k99998:pending']);
    assert.deepEqual(label(shown[199]), 'k99800:pending');
    assert.deepEqual(label(shown[200]), 'more 99800');
    // Only the window is indexed: status changes of hidden futures cost nothing and refresh nothing.
    clock.advance(100);
    changes.length = 0;
    vm.applyEvents(Array.from({ length: 1000 }, (_, i) => task(`k${i}`, 'finished')));
    clock.advance(100);
    assert.equal(changes.length, 0);
    vm.applyEvents([task('k99999', 'finished')]);
    clock.advance(100);
    assert.deepEqual([...(changes[0] as ReadonlySet<TreeNode>)].map(label), ['k99999:finished']);
    // A snapshot longer than the window is cut to it too.
    vm.setItems('big', futures(1000, 'pending', 99_001), 100_001);
    assert.equal(vm.children(vm.channel('big')).length, 201);
    assert.equal(label(vm.children(vm.channel('big'))[200]), 'more 99801');
  });

  it('starts again on a new connection and says the whole tree changed', () => {
    const { vm, clock, changes } = setup();
    vm.applyEvents([chan('c', 1), { type: 'worker', id: 'w', threads: 2, state: 'joined' }]);
    vm.setItems('c', futures(1), 1);
    clock.advance(100);
    vm.setConnection({ kind: 'remote', address: 'ws://127.0.0.1:1' });
    clock.advance(100);
    assert.equal(changes.at(-1), 'all');
    assert.deepEqual(vm.children(vm.root), []);
    assert.equal(vm.root.workers, 0);
    assert.equal(vm.itemsOf('k0').length, 0);
    vm.applyChannels([{ name: 'x', count: 2, length: 2, maxlen: null, stopped: true }]);
    assert.deepEqual(vm.children(vm.root).map(label), ['channel x']);
    vm.applyChannels([]);
    assert.deepEqual(vm.children(vm.root), []);
  });
});

describe('Batcher', () => {
  it('emits a burst once and waits the interval before the next', () => {
    const clock = fakeTimers();
    const batches: number[][] = [];
    const b = new Batcher<number>((s) => batches.push([...s]), 100, clock.api);
    b.add(1);
    b.add(2);
    b.add(1);
    clock.advance(0);
    assert.deepEqual(batches, [[1, 2]]);
    b.add(3);
    clock.advance(50);
    assert.equal(batches.length, 1, 'the next batch waits for the interval');
    clock.advance(50);
    assert.deepEqual(batches, [[1, 2], [3]]);
    b.dispose();
    b.add(4);
    clock.advance(1000);
    assert.equal(batches.length, 2);
  });
});
