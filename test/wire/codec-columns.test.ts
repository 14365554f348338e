/**
 * The codec sends the per-task lists of submit, run and done messages by column, statuses as one byte
 * each, and the channel items of items and replay messages as a list of values: decoding gives back
 * exactly the objects encoded (same properties, absent ones absent, undefined ones present). A malformed
 * column form of a per-task list is left for validation to refuse, one of channel items (which clients
 * take unchecked) is a WireError; neither is ever merged into a prototype.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deserialize, serialize } from 'node:v8';
import fc from 'fast-check';
import { decodeBatch, encodeBatch, encodeShared } from '../../scheduler/wire/codec';
import { checkClientMessage } from '../../scheduler/protocol/validation';

test('per-task lists round-trip exactly, whatever properties each object has', () => {
  const value = fc.oneof(fc.integer(), fc.string(), fc.constant(undefined), fc.constant(null), fc.array(fc.integer(), { maxLength: 3 }), fc.string().map((k) => ({ $sf: k })));
  const task = fc.dictionary(fc.constantFrom('key', 'fn', 'args', 'deps', 'value', 'run', 'at', 'alone', 'x'), value, { maxKeys: 6 }).map((o) => ({ ...o }));
  fc.assert(
    fc.property(fc.constantFrom('submit', 'run', 'done'), fc.array(task, { maxLength: 12 }), (op, list) => {
      const field = op === 'done' ? 'outcomes' : 'tasks';
      const batch = [{ op: 'hb' }, { op, fns: [], [field]: list }];
      const back = decodeBatch(encodeBatch(batch));
      assert.deepStrictEqual(back, batch);
      const got = (back[1] as Record<string, Record<string, unknown>[]>)[field];
      list.forEach((o, i) => assert.deepEqual(Object.keys(got[i]).sort(), Object.keys(o).sort(), 'the same own properties'));
    }),
  );
  // Found by the property above: a list of objects none of which has a property.
  const empty = [{ op: 'submit', fns: [], tasks: [{}, {}, {}, {}] }];
  assert.deepStrictEqual(decodeBatch(encodeBatch(empty)), empty);
  const tasks = Array.from({ length: 8 }, (_, i) => ({ key: `k${i}`, fn: 'f', args: [i] }));
  const msg = { op: 'submit', fns: [], tasks };
  encodeBatch([msg]);
  assert.equal(msg.tasks, tasks, 'the message encoded is not changed');
});

test('a malformed column form is not thrown at the decoder: validation refuses it; no prototype is touched', () => {
  for (const tasks of [{ $cols: ['key'], v: 'nope' }, { $cols: ['__proto__'], v: [[{ polluted: true }]] }, { $cols: [], v: [] }, { $cols: [1], v: [[1]] }]) {
    const [m] = decodeBatch(serialize([{ op: 'submit', fns: [], tasks }]));
    assert.ok(checkClientMessage(m), `refused: ${JSON.stringify(tasks)}`);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  }
});

test('statuses round-trip as they were sent, short and long lists alike; an unknown status code is a decode error', () => {
  const statuses = fc.constantFrom('pending', 'processing', 'finished', 'error', 'cancelled', 'lost');
  fc.assert(
    fc.property(fc.array(statuses, { maxLength: 20 }), (s) => {
      const m = { op: 'status', keys: s.map((_, i) => `k${i}`), s, e: s.map(() => null) };
      assert.deepStrictEqual(decodeBatch(encodeBatch([m])), [m]);
    }),
  );
  assert.throws(() => decodeBatch(serialize([{ op: 'status', keys: ['a'], s: new Uint8Array([9]) }])), /status code 9/);
});

test('on the wire, each property name of a per-task list appears once per batch and statuses are not strings', () => {
  const count = (bytes: Buffer, text: string) => bytes.toString('latin1').split(text).length - 1;
  const tasks = Array.from({ length: 100 }, (_, i) => ({ key: `k${i}`, fn: 'f', args: [i] }));
  assert.equal(count(encodeBatch([{ op: 'submit', fns: [], tasks }]), 'args'), 1);
  const outcomes = Array.from({ length: 100 }, (_, i) => ({ key: `k${i}`, run: 1, ok: true, inline: true, value: i }));
  assert.equal(count(encodeBatch([{ op: 'done', outcomes }]), 'inline'), 1);
  const keys = tasks.map((t) => t.key);
  assert.equal(count(encodeBatch([{ op: 'status', keys, s: keys.map(() => 'processing') }]), 'processing'), 0);
});

test('a sparse array claiming billions of entries is refused by its size, not walked (a batch, a column, the column list)', () => {
  const huge = (): unknown[] => {
    const a: unknown[] = [];
    a[2 ** 32 - 2] = 'x'; // length 2^32-1, one entry: serialized as a sparse array of a few bytes
    return a;
  };
  assert.throws(
    () => decodeBatch(serialize(huge())),
    (err: Error) => err.name === 'WireError' && /cannot hold 4294967295 messages/.test(err.message),
  );
  for (const cols of [{ $cols: ['key'], v: [huge()] }, { $cols: huge(), v: huge() }]) {
    const [m] = decodeBatch(serialize([{ op: 'submit', fns: [], tasks: cols }])) as { tasks: unknown }[];
    assert.ok(!Array.isArray(m.tasks), 'a malformed column form is left as it is, for validation to refuse');
    assert.ok(checkClientMessage(m) !== undefined, "validation refuses it");
  }
});

test('a column every task has is written densely (a packed array), not index by index', () => {
  const tasks = Array.from({ length: 100 }, (_, i) => ({ key: `k${i}`, fn: 'f', args: [i], ...(i % 2 ? { priority: i } : {}) }));
  const msg = { op: 'submit', fns: [], tasks };
  // The same form built from packed arrays (`map`) for the full columns; holes only where a task lacks one.
  const priority: unknown[] = new Array(tasks.length);
  tasks.forEach((t, i) => {
    if ('priority' in t) priority[i] = t.priority;
  });
  const dense = { ...msg, tasks: { $cols: ['key', 'fn', 'args', 'priority'], v: [tasks.map((t) => t.key), tasks.map((t) => t.fn), tasks.map((t) => t.args), priority] } };
  assert.equal(encodeBatch([msg]).length, serialize([dense]).length);
  assert.deepStrictEqual(decodeBatch(encodeBatch([msg])), [msg]);
});

/** Channel items as the scheduler sends them: values (any structured value) and futures with or without status and error. */
const statusArb = fc.constantFrom('pending', 'processing', 'finished', 'error', 'cancelled', 'lost');
const errorArb = fc.record({ name: fc.string(), message: fc.string() }, { requiredKeys: ['message'] }).map((e) => ({ ...e }));
const userValue = fc.oneof(
  fc.anything({ maxDepth: 2, withMap: true, withSet: true, withDate: true, withTypedArray: true, withNullPrototype: false, withBigInt: true }),
  fc.string().map((k) => ({ $sf: k })),
  fc.constant(undefined),
);
const wireItem = fc.oneof(
  userValue.map((v) => ({ v })),
  fc.string().map((k) => ({ k })),
  fc.tuple(fc.string(), statusArb).map(([k, s]) => ({ k, s })),
  fc.tuple(fc.string(), statusArb, errorArb).map(([k, s, e]) => ({ k, s, e })),
  fc.tuple(fc.string(), errorArb).map(([k, e]) => ({ k, e })),
);
/** What is not exactly a channel item travels as it is, and comes back the same too. */
const oddItem = fc.oneof(
  fc.record({ v: fc.integer(), x: fc.integer() }).map((o) => ({ ...o })),
  fc.record({ k: fc.integer() }).map((o) => ({ ...o })),
  fc.record({ k: fc.string(), s: fc.string() }).map((o) => ({ ...o })),
  fc.constant({ k: 'a', s: 'finished', e: undefined }),
  fc.constant({}),
  fc.constant(null),
  fc.array(fc.integer(), { maxLength: 2 }),
);

test('channel items (items and replay messages) round-trip exactly: values, futures with every status and error, holes, odd entries', () => {
  const list = fc.oneof(
    fc.array(wireItem, { maxLength: 20 }),
    fc.array(fc.oneof({ arbitrary: wireItem, weight: 5 }, { arbitrary: oddItem, weight: 1 }), { maxLength: 20 }),
    fc.sparseArray(wireItem, { maxLength: 12 }),
  );
  fc.assert(
    fc.property(fc.constantFrom('items', 'replay'), list, fc.nat(), (op, items, start) => {
      const m = op === 'items' ? { op, channel: 'c', start, items } : { op, channel: 'c', start, items, stopped: false, maxlen: null, epoch: 1 };
      const batch = [m, { op: 'chan-stop', channel: 'c' }];
      const back = decodeBatch(encodeBatch(batch));
      assert.deepStrictEqual(back, batch);
      const got = (back[0] as { items: unknown[] }).items;
      items.forEach((o, i) => {
        if (typeof o === 'object' && o !== null) assert.deepEqual(Object.keys(got[i] as object).sort(), Object.keys(o).sort(), 'the same own properties');
        else assert.equal(got[i], o);
      });
      assert.equal(items.length, got.length);
      for (let i = 0; i < items.length; i++) assert.equal(i in got, i in items, `entry ${i} is a hole exactly when it was one`);
    }),
  );
  // Shared messages are encoded through the same batch encoding.
  const shared = { op: 'items', channel: 'c', start: 3, items: [{ v: 1 }, { k: 'a', s: 'finished' }, { v: [2] }, { k: 'b', s: 'error', e: { message: 'no' } }] };
  assert.deepStrictEqual(decodeBatch(encodeShared(shared)), [shared]);
  const items = shared.items;
  encodeBatch([shared]);
  assert.equal(shared.items, items, 'the message encoded is not changed');
});

test('on the wire, a list of channel items is a list of values (no object per item)', () => {
  const values = { op: 'items', channel: 'c', start: 0, items: Array.from({ length: 100 }, (_, i) => ({ v: i })) };
  const [raw] = deserialize(encodeBatch([values])) as { items: unknown }[];
  assert.deepStrictEqual(raw.items, { $v: values.items.map((i) => i.v) });
  const mixed = { op: 'replay', channel: 'c', start: 0, items: [{ v: 1 }, { k: 'a', s: 'finished' }, { k: 'b' }, { k: 'c', s: 'error', e: { message: 'x' } }], stopped: false, maxlen: null, epoch: 1 };
  const [rawMixed] = deserialize(encodeBatch([mixed])) as { items: { $v: unknown[]; c: number[]; e: unknown[] } }[];
  assert.deepStrictEqual(rawMixed.items.$v, [1, 'a', 'b', 'c']);
  assert.ok(rawMixed.items.c.every((c) => typeof c === 'number'));
  assert.deepStrictEqual(rawMixed.items.e, [{ message: 'x' }]);
});

test('a malformed channel item list in column form is a WireError, never items the client would misread', () => {
  const huge: unknown[] = [];
  huge[2 ** 32 - 2] = 'x';
  const malformed: unknown[] = [
    { $v: 'nope' },
    { $v: huge },
    { $v: [1, 2], e: [{ message: 'x' }] },
    { $v: [1, 2], c: [0] },
    { $v: [1, 2], c: 'ab' },
    { $v: [1, 2], c: [0, 9] },
    { $v: [1, 2], c: [0, 1.5] },
    { $v: [1, 2], c: [0, '1'] },
    { $v: [1, 2], c: [0, 1] }, // a future whose key is not a string
    { $v: ['a', 'b'], c: [0, 64] }, // a value with an error
    { $v: ['a', 'b'], c: [0, 65] }, // an error that e lacks
    { $v: ['a', 'b'], c: [0, 1], e: [{ message: 'x' }] }, // an error no item has
    { $v: ['a'], c: [1], e: 'x' },
  ];
  for (const items of malformed) {
    for (const op of ['items', 'replay']) {
      assert.throws(
        () => decodeBatch(serialize([{ op, channel: 'c', start: 0, items }])),
        (err: Error) => err.name === 'WireError' && /channel item list/.test(err.message),
        `refused: ${op}, malformed form ${malformed.indexOf(items)}`,
      );
    }
  }
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});
