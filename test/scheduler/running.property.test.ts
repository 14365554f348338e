/**
 * A worker's running tasks (core/tasks.ts addRunning / removeRunning) against a Set: random additions and
 * removals of tasks over two workers' lists, a task removed from a list it is not on, removed twice, or moved
 * to the other worker. After every step each list holds exactly its set's tasks and every task on a list knows
 * its place there (removal is O(1) by that place: an in-process pool has thousands of tasks running).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { propertyRuns } from '../support/property-runs';
import { addRunning, removeRunning, TaskRecord } from '../../scheduler/core/tasks';

type Op = { add: boolean; task: number; list: number };

const op: fc.Arbitrary<Op> = fc.record({ add: fc.boolean(), task: fc.integer({ min: 0, max: 11 }), list: fc.integer({ min: 0, max: 1 }) });

test("a worker's running tasks hold what a set would, and each task knows its place", () => {
  fc.assert(
    fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
      const tasks = Array.from({ length: 12 }, (_, i) => new TaskRecord(`k${i}`));
      const lists: TaskRecord[][] = [[], []];
      const models = [new Set<TaskRecord>(), new Set<TaskRecord>()];
      for (const o of ops) {
        const t = tasks[o.task];
        if (o.add) {
          // As the dispatcher does: a task runs on one worker at a time.
          if (models[0].has(t) || models[1].has(t)) continue;
          addRunning(lists[o.list], t);
          models[o.list].add(t);
        } else {
          assert.equal(removeRunning(lists[o.list], t), models[o.list].delete(t));
        }
        for (let l = 0; l < 2; l++) {
          assert.deepEqual(new Set(lists[l]), models[l]);
          assert.equal(lists[l].length, models[l].size);
          lists[l].forEach((x, i) => assert.equal(x.runAt, i));
        }
      }
    }),
    { numRuns: propertyRuns(500, 100) },
  );
});
