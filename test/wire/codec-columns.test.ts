/**
 * The codec sends the per-task lists of submit, run and done messages by column, and statuses as one byte
 * each: decoding gives back
 * exactly the objects encoded (same properties, absent ones absent, undefined ones present), and a
 * malformed column form is left for validation to refuse, never thrown or merged into a prototype.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serialize } from 'node:v8';
import fc from 'fast-check';
import { decodeBatch, encodeBatch } from '../../scheduler/wire/codec';
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
