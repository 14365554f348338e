/**
 * KeyTable (util/key-table.ts) against a plain Map: random adds, lookups (in order, out of order, of keys
 * removed or never added), removals of records in or out of the table, sets, deletes and clears. After every
 * step every lookup answers as the Map does, iteration yields the same pairs in the same order, and the
 * table's links are exactly its records, oldest to newest; a record that left keeps no links.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { propertyRuns } from '../support/property-runs';
import { KeyTable, LazyKeyTable } from '../../scheduler/util/key-table';

class Rec {
  newer: Rec | undefined;
  older: Rec | undefined;
  constructor(readonly key: string) {}
}

type Op =
  | { t: 'add'; k: number }
  | { t: 'get'; k: number }
  | { t: 'getRun'; k: number; n: number }
  | { t: 'remove'; k: number; stale: boolean }
  | { t: 'delete'; k: number }
  | { t: 'set'; k: number }
  | { t: 'clear' };

const KEYS = 12;
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ t: fc.constant('add' as const), k: fc.nat(KEYS - 1) }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('get' as const), k: fc.nat(KEYS - 1) }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('getRun' as const), k: fc.nat(KEYS - 1), n: fc.integer({ min: 1, max: 6 }) }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('remove' as const), k: fc.nat(KEYS - 1), stale: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('delete' as const), k: fc.nat(KEYS - 1) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('set' as const), k: fc.nat(KEYS - 1) }) },
  { weight: 1, arbitrary: fc.constant({ t: 'clear' as const }) },
);

function check(table: KeyTable<Rec>, model: Map<string, Rec>, gone: Rec[]): void {
  assert.equal(table.size, model.size);
  assert.deepEqual([...table.entries()], [...model.entries()]);
  for (let k = 0; k < KEYS; k++) assert.equal(table.get(`k${k}`), model.get(`k${k}`));
  // The links: every record of the table, in the order added, each pointing back at the one before.
  const linked: Rec[] = [];
  let first: Rec | undefined = [...model.values()][0];
  if (first !== undefined) while (first.older !== undefined) first = first.older;
  let prev: Rec | undefined;
  for (let r: Rec | undefined = first; r !== undefined; r = r.newer) {
    assert.equal(r.older, prev);
    linked.push(r);
    prev = r;
  }
  assert.deepEqual(linked, [...model.values()]);
  for (const r of gone) if (model.get(r.key) !== r) assert.ok(r.newer === undefined && r.older === undefined, `${r.key} left but keeps links`);
}

test('KeyTable answers as a Map and keeps its links exactly its records', () => {
  fc.assert(
    fc.property(fc.array(op, { maxLength: 80 }), (ops) => {
      const table = new KeyTable<Rec>();
      const model = new Map<string, Rec>();
      const gone: Rec[] = [];
      for (const o of ops) {
        const key = `k${'k' in o ? o.k : 0}`;
        switch (o.t) {
          case 'add':
            if (model.has(key)) break; // add takes only a key not in the table
            table.add(new Rec(key));
            model.set(key, table.get(key) as Rec);
            break;
          case 'get':
            assert.equal(table.get(key), model.get(key));
            break;
          case 'getRun':
            // Lookups in order of keys (the case the table answers without hashing), some absent.
            for (let i = 0; i < o.n; i++) assert.equal(table.get(`k${(o.k + i) % KEYS}`), model.get(`k${(o.k + i) % KEYS}`));
            break;
          case 'remove': {
            const r = o.stale ? new Rec(key) : model.get(key);
            if (r === undefined) break;
            assert.equal(table.remove(r), !o.stale);
            if (!o.stale) {
              model.delete(key);
              gone.push(r);
            }
            break;
          }
          case 'delete': {
            const r = model.get(key);
            assert.equal(table.delete(key), model.delete(key));
            if (r) gone.push(r);
            break;
          }
          case 'set': {
            const old = model.get(key);
            const r = new Rec(key);
            table.set(key, r);
            if (old) {
              gone.push(old);
              model.delete(key); // a replaced key moves to the newest end of the links, and of the iteration
            }
            model.set(key, r);
            break;
          }
          case 'clear':
            gone.push(...model.values());
            table.clear();
            model.clear();
            break;
        }
        check(table, model, gone);
      }
    }),
    { numRuns: propertyRuns(2000, 300) },
  );
});

class LazyRec extends Rec {
  indexed = false;
  declare newer: LazyRec | undefined;
  declare older: LazyRec | undefined;
}

type LazyOp = { t: 'add'; k: number } | { t: 'get'; k: number } | { t: 'getRun'; k: number; n: number; back: boolean } | { t: 'remove'; k: number; stale: boolean };

const lazyOp: fc.Arbitrary<LazyOp> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ t: fc.constant('add' as const), k: fc.nat(KEYS - 1) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('get' as const), k: fc.nat(KEYS + 2) }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('getRun' as const), k: fc.nat(KEYS - 1), n: fc.integer({ min: 1, max: 6 }), back: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('remove' as const), k: fc.nat(KEYS - 1), stale: fc.boolean() }) },
);

test('LazyKeyTable answers as a Map, whatever it has indexed, and keeps its links exactly its records', () => {
  fc.assert(
    fc.property(fc.array(lazyOp, { maxLength: 80 }), fc.integer({ min: 1, max: 6 }), (ops, scan) => {
      // A small search limit, so that lookups also give up and index everything.
      const table = new LazyKeyTable<LazyRec>(scan);
      const model = new Map<string, LazyRec>();
      const gone: LazyRec[] = [];
      for (const o of ops) {
        const key = `k${o.k}`;
        switch (o.t) {
          case 'add':
            if (model.has(key)) break;
            model.set(key, new LazyRec(key));
            table.add(model.get(key) as LazyRec);
            break;
          case 'get':
            assert.equal(table.get(key), model.get(key));
            assert.equal(table.has(key), model.has(key));
            break;
          case 'getRun':
            // Lookups in order (or against it), as statuses of batches arrive.
            for (let i = 0; i < o.n; i++) {
              const k: string = `k${(o.back ? o.k - i + KEYS : o.k + i) % KEYS}`;
              assert.equal(table.get(k), model.get(k));
            }
            break;
          case 'remove': {
            const r = o.stale ? new LazyRec(key) : model.get(key);
            if (r === undefined) break;
            assert.equal(table.remove(r), !o.stale);
            if (!o.stale) {
              model.delete(key);
              gone.push(r);
            }
            break;
          }
        }
        assert.equal(table.size, model.size);
        assert.deepEqual(table.values(), [...model.values()]);
        let prev: LazyRec | undefined;
        for (const r of table.values()) {
          assert.equal(r.older, prev);
          prev = r;
        }
        for (const r of gone) assert.ok(r.newer === undefined && r.older === undefined, `${r.key} left but keeps links`);
      }
      // Only now every key (a lookup of a missing key indexes everything: checking each step would test only that).
      for (let k = 0; k < KEYS + 3; k++) assert.equal(table.get(`k${k}`), model.get(`k${k}`));
    }),
    { numRuns: propertyRuns(2000, 300) },
  );
});
