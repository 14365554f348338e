/**
 * The least occupancy over the workers that placement compares a task's best holder with, and the longest own
 * queue a worker steals from, are kept as they change (core/occupancy.ts) instead of found by a scan of every
 * worker per placement or dispatch. Random sequences of
 * workers joining (with 1 to 3 threads) and leaving, submits of tasks that depend on results left on workers
 * (large enough to place them there), dispatches and outcomes run against SchedulerState; after every step the
 * values kept equal scans over the workers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { propertyRuns } from '../support/property-runs';
import { SchedulerState } from '../../scheduler/core/state';
import { LeastOccupancy, occupancy, QueueLengths } from '../../scheduler/core/occupancy';
import { PLACE_MIN_BYTES } from '../../scheduler/core/task-machine';
import type { ExecTask, WorkerState } from '../../scheduler/core/tasks';

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

/** The task machine's private parts this test checks against scans. */
function machine(s: SchedulerState): { least: LeastOccupancy; queueLengths: QueueLengths } {
  return (s as unknown as { machine: { least: LeastOccupancy; queueLengths: QueueLengths } }).machine;
}

function kept(s: SchedulerState): number {
  return machine(s).least.value();
}

/** The longest own queue of a worker other than `except`, by a scan (0: none has one). */
function longestScanned(s: SchedulerState, except: WorkerState): number {
  let n = 0;
  for (const w of s.workers.values()) if (w !== except) n = Math.max(n, w.queued);
  return n;
}

function scanned(s: SchedulerState): number {
  let least = Infinity;
  for (const w of s.workers.values()) least = Math.min(least, occupancy(w));
  return least;
}

test('the least occupancy and the longest own queue kept as workers join, leave, take and finish tasks equal scans of every worker', () => {
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
        for (const w of s.workers.values()) {
          const victim = machine(s).queueLengths.longestExcept(w);
          assert.equal(victim?.queued ?? 0, longestScanned(s, w));
          if (victim) assert.equal(s.workers.get(victim.id), victim, 'a worker that left is never stolen from');
        }
      }
    }),
    { numRuns: propertyRuns(500, 100) },
  );
});

test('LeastOccupancy follows the changes it is told of', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.nat(5), fc.integer({ min: -2, max: 3 })), { maxLength: 60 }), (steps) => {
      const workers = new Map<string, { id: string; threads: number; queued: number; processing: unknown[]; counted?: number }>();
      const least = new LeastOccupancy(workers as never);
      for (const [i, d] of steps) {
        const id = `w${i}`;
        let w = workers.get(id);
        if (!w) {
          w = { id, threads: 1 + (i % 3), queued: 0, processing: [] };
          workers.set(id, w);
          least.update(w as never);
        }
        w.queued = Math.max(0, w.queued + d);
        least.update(w as never);
        let scan = Infinity;
        for (const x of workers.values()) scan = Math.min(scan, occupancy(x as never));
        assert.equal(least.value(), scan);
      }
    }),
    { numRuns: propertyRuns(500, 100) },
  );
});

test('QueueLengths finds the longest queue of another worker as queues grow and shrink by one', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.nat(5), fc.boolean(), fc.nat(5)), { maxLength: 80 }), (steps) => {
      const workers = Array.from({ length: 6 }, (_, i) => ({ id: `w${i}`, queued: 0 }) as unknown as WorkerState);
      const lengths = new QueueLengths();
      for (const [i, grow, except] of steps) {
        const w = workers[i];
        if (grow) {
          w.queued++;
          lengths.grew(w);
        } else if (w.queued > 0) {
          w.queued--;
          lengths.shrank(w);
        }
        const e = workers[except];
        const longest = Math.max(0, ...workers.filter((x) => x !== e).map((x) => x.queued));
        const found = lengths.longestExcept(e);
        assert.equal(found?.queued ?? 0, longest);
        assert.notEqual(found, e);
      }
    }),
    { numRuns: propertyRuns(500, 100) },
  );
});
