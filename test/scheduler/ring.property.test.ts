/**
 * Ring (util/ring.ts) against a plain array: random pushes, shifts, reads and writes by index, from any
 * initial capacity and across growths and wrap-arounds; after every step it holds exactly the array's items.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { propertyRuns } from '../support/property-runs';
import { Ring } from '../../scheduler/util/ring';

type Op = { t: 'push'; v: number } | { t: 'shift' } | { t: 'set'; i: number; v: number } | { t: 'at'; i: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ t: fc.constant('push' as const), v: fc.integer() }), weight: 4 },
  { arbitrary: fc.record({ t: fc.constant('shift' as const) }), weight: 3 },
  { arbitrary: fc.record({ t: fc.constant('set' as const), i: fc.integer({ min: -2, max: 40 }), v: fc.integer() }), weight: 1 },
  { arbitrary: fc.record({ t: fc.constant('at' as const), i: fc.integer({ min: -2, max: 40 }) }), weight: 1 },
);

test('a ring holds what an array would, through growth and wrap-around', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 20 }), fc.array(op, { maxLength: 200 }), (capacity, ops) => {
      const ring = new Ring<number>(capacity);
      const model: number[] = [];
      for (const o of ops) {
        if (o.t === 'push') {
          ring.push(o.v);
          model.push(o.v);
        } else if (o.t === 'shift') assert.equal(ring.shift(), model.shift());
        else if (o.t === 'at') assert.equal(ring.at(o.i), o.i >= 0 ? model[o.i] : undefined);
        else if (o.i >= 0 && o.i < model.length) {
          ring.set(o.i, o.v);
          model[o.i] = o.v;
        } else assert.throws(() => ring.set(o.i, o.v), RangeError);
        assert.equal(ring.length, model.length);
      }
      for (let i = 0; i < model.length; i++) assert.equal(ring.at(i), model[i]);
    }),
    { numRuns: propertyRuns(1000, 200) },
  );
});
