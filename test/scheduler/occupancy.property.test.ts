/**
 * The least occupancy over the workers that placement compares a task's best holder with is kept as
 * occupancies change (core/occupancy.ts) instead of found by a scan per placement. Random sequences of
 * workers joining (with 1 to 3 threads) and leaving, submits of tasks that depend on results left on workers
 * (large enough to place them there), dispatches and outcomes run against SchedulerState; after every step the
 * value kept equals a scan over the workers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { propertyRuns } from '../support/property-runs';
import { SchedulerState } from '../../scheduler/core/state';
import { LeastOccupancy, occupancy } from '../../scheduler/core/occupancy';
import { PLACE_MIN_BYTES } from '../../scheduler/core/task-machine';
import type { ExecTask } from '../../scheduler/core/tasks';

type Cmd =
  | { t: 'join'; threads: number }
  | { t: 'leave'; w: number }
  | { t: 'submit'; dep: number; n: number }
  | { t: 'dispatch'; w: number; n: number }
  | { t: 'finish'; i: number; remote: boolean };

const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  fc.record({ t: fc.constant('join' as const), threads: fc.integer({ min: 1, max: 3 }) }),
  fc.record({ t: fc.constant('leave' as const), w: fc.nat(7) }),
  fc.record({ t: fc.constant('submit' as const), dep: fc.nat(9), n: fc.integer({ min: 1, max: 6 }) }),
  fc.record({ t: fc.constant('dispatch' as const), w: fc.nat(7), n: fc.integer({ min: 1, max: 3 }) }),
  fc.record({ t: fc.constant('finish' as const), i: fc.nat(20), remote: fc.boolean() }),
);

/** The value the state's task machine keeps (a private field: this test checks it against a scan). */
function kept(s: SchedulerState): number {
  return ((s as unknown as { machine: { least: LeastOccupancy } }).machine.least as LeastOccupancy).value();
}

function scanned(s: SchedulerState): number {
  let least = Infinity;
  for (const w of s.workers.values()) least = Math.min(least, occupancy(w));
  return least;
}

test('the least occupancy kept as workers join, leave, take and finish tasks equals a scan of every worker', () => {
  fc.assert(
    fc.property(fc.array(cmd, { minLength: 1, maxLength: 80 }), (cmds) => {
      const s = new SchedulerState('test://occupancy');
      s.addClient('a');
      const workers: string[] = [];
      const running: { exec: ExecTask; worker: string }[] = [];
      const done: string[] = [];
      let nextWorker = 0;
      let nextKey = 0;
      s.addWorker(`w${nextWorker}`, 1);
      workers.push(`w${nextWorker++}`);
      for (const c of cmds) {
        if (c.t === 'join') {
          s.addWorker(`w${nextWorker}`, c.threads);
          workers.push(`w${nextWorker++}`);
        } else if (c.t === 'leave' && workers.length > 1) {
          const [w] = workers.splice(c.w % workers.length, 1);
          s.removeWorker(w);
        } else if (c.t === 'submit') {
          const dep = done.length > 0 ? done[c.dep % done.length] : undefined;
          const tasks = Array.from({ length: c.n }, () => {
            const key = `k${nextKey++}`;
            return dep !== undefined && s.tasks.has(dep) ? { key, fn: 'f', args: [], deps: [dep] } : { key, fn: 'f', args: [] };
          });
          s.handleClient('a', { op: 'submit', fns: [{ id: 'f', src: '() => 1' }], tasks });
        } else if (c.t === 'dispatch') {
          const w = workers[c.w % workers.length];
          for (const exec of s.takeReady(w, c.n)) running.push({ exec, worker: w });
        } else if (c.t === 'finish' && running.length > 0) {
          const [r] = running.splice(c.i % running.length, 1);
          if (s.workers.has(r.worker)) {
            s.taskFinished(r.exec.key, r.worker, c.remote ? undefined : 1, c.remote, r.exec.run, c.remote ? 2 * PLACE_MIN_BYTES : 0);
            done.push(r.exec.key);
          }
        }
        s.drainOutbox();
        assert.equal(kept(s), scanned(s));
      }
    }),
    { numRuns: propertyRuns(500, 100) },
  );
});

test('LeastOccupancy follows the changes it is told of', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.nat(5), fc.integer({ min: -2, max: 3 })), { maxLength: 60 }), (steps) => {
      const workers = new Map<string, { id: string; threads: number; queued: number; processing: Set<unknown> }>();
      const least = new LeastOccupancy(workers as never);
      for (const [i, d] of steps) {
        const id = `w${i}`;
        let w = workers.get(id);
        if (!w) {
          w = { id, threads: 1 + (i % 3), queued: 0, processing: new Set() };
          workers.set(id, w);
          least.changed(undefined, 0);
        }
        const before = occupancy(w as never);
        w.queued = Math.max(0, w.queued + d);
        least.changed(before, occupancy(w as never));
        let scan = Infinity;
        for (const x of workers.values()) scan = Math.min(scan, occupancy(x as never));
        assert.equal(least.value(), scan);
      }
    }),
    { numRuns: propertyRuns(500, 100) },
  );
});
