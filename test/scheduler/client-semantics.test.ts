/** Dask semantics at the client: zip, map over several iterables, nested futures, timeouts, typed errors, marker-shaped data. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  CancelledError,
  ChannelDeletedError,
  ChannelStoppedError,
  Future,
  FutureLostError,
  FutureReleasedError,
  InvalidArgumentError,
  SerializationError,
  TaskError,
  zip,
  type Client,
} from '../../scheduler';
import { fromErrorInfo, toErrorInfo } from '../../scheduler/protocol/errors';
import { collect, withCluster } from './helpers';
import { propertyRuns } from '../support/property-runs';

// ------------------------------------------------------------ 2. zip

/** An async generator that yields `items` and then never yields again (nor ends). */
async function* thenHang<T>(items: T[], pulled: { n: number }): AsyncGenerator<T> {
  for (const item of items) {
    pulled.n++;
    yield item;
  }
  pulled.n++;
  await new Promise<never>(() => undefined);
}

async function* finite<T>(items: T[]): AsyncGenerator<T> {
  for (const item of items) yield await Promise.resolve(item);
}

test('zip ends as soon as the first input ends, without waiting for the others', async () => {
  const pulled = { n: 0 };
  assert.deepEqual(await collect(zip(finite([1, 2]), thenHang(['a', 'b', 'c'], pulled))), [
    [1, 'a'],
    [2, 'b'],
  ]);
  const pulled2 = { n: 0 };
  assert.deepEqual(await collect(zip(thenHang([1], pulled2), finite(['a']))), [[1, 'a']], 'the second input ending ends zip while the first hangs');
  assert.deepEqual(await collect(zip()), [], 'no inputs: nothing');
});

test('zip of channels ends when one channel stops, while the other stays open and quiet', async () => {
  await withCluster(1, async (client) => {
    const x = client.channel('zip-x');
    const y = client.channel('zip-y');
    [1, 2].forEach((i) => x.append(i));
    [10, 20, 30].forEach((i) => y.append(i));
    await Promise.all([x.flush(), y.flush()]);
    await x.stop();
    assert.deepEqual(await collect(zip(x, y)), [
      [1, 10],
      [2, 20],
    ]);
    // A channel that waits for its next item: zip must not wait for it either.
    const z = client.channel('zip-z');
    z.append('only');
    await z.flush();
    const w = client.channel('zip-w');
    w.append('w0');
    await w.flush();
    await w.stop();
    assert.deepEqual(await collect(zip(z, w)), [['only', 'w0']]);
  });
});

// ------------------------------------------------------------ 9. map

test('map zips several iterables, stopping at the shortest; options trail as a plain object', async () => {
  await withCluster(1, async (client) => {
    const add = (a: number, b: number) => a + b;
    assert.deepEqual(await client.gather(client.map(add, [1, 2, 3], [10, 20])), [11, 22]);
    function* naturals(): Generator<number> {
      for (let i = 0; ; i++) yield i;
    }
    assert.deepEqual(await client.gather(client.map(add, naturals(), new Set([100, 200]), { pure: false, priority: 1 })), [100, 201], 'an endless iterable stops with the shortest');
    assert.deepEqual(await client.gather(client.map((c: string) => c.toUpperCase(), 'ab')), ['A', 'B'], 'a string maps per character, as in Dask');
    assert.deepEqual(client.map(add, [], [1]), []);
  });
});

test('map over arrays (read by index) gives the tasks their iterators would: holes, lengths, a custom iterator', async () => {
  await withCluster(1, async (client) => {
    const args = (...xs: unknown[]) => xs;
    /** The same items through a generator: map's general path. */
    function* iterate<T>(a: T[]): Generator<T> {
      yield* a;
    }
    const arrays = fc.array(fc.array(fc.option(fc.integer(), { nil: undefined }), { maxLength: 5 }).map((a) => (a.length > 1 ? (delete a[1], a) : a)), { minLength: 1, maxLength: 3 });
    await fc.assert(
      fc.asyncProperty(arrays, fc.boolean(), async (lists, pure) => {
        const byIndex = (await client.gather(client.map(args, ...lists, { pure }))) as unknown[][];
        const byIterator = (await client.gather(client.map(args, ...lists.map((a) => iterate(a)), { pure }))) as unknown[][];
        assert.deepEqual(byIndex, byIterator);
        assert.equal(byIndex.length, Math.min(...lists.map((a) => a.length)));
      }),
      { numRuns: propertyRuns(200, 25) },
    );
    // An array whose iterator is not the built-in one is iterated, not indexed.
    const odd = [1, 2, 3, 4];
    Object.defineProperty(odd, Symbol.iterator, {
      value: function* () {
        yield 10;
      },
    });
    assert.deepEqual(await client.gather(client.map((x: number) => x + 1, odd)), [11]);
  });
});

test('map refuses bad arguments with one clear line', async () => {
  await withCluster(1, async (client) => {
    const id = (x: unknown) => x;
    const refuses = (args: unknown[], pattern: RegExp) =>
      assert.throws(
        () => (client.map as (fn: unknown, ...rest: unknown[]) => Future[])(id, ...args),
        (e: unknown) => e instanceof InvalidArgumentError && pattern.test(e.message) && !e.message.includes('\n'),
        pattern.source,
      );
    refuses([], /at least one iterable/);
    refuses([{ pure: false }], /at least one iterable/);
    refuses([[1], 5], /argument 3 is not iterable/);
    refuses([5, [1]], /argument 2 is not iterable/);
    refuses([[1], new Date()], /neither an iterable nor a plain options object/);
    refuses([[1], { key: 'k' }], /key cannot be given/);
    refuses([[1], { retries: -1 }], /^map: retries must be a non-negative integer$/);
    refuses([[1], { pure: false }, [2]], /argument 3 is not iterable \(got an object\); options go last/);
    refuses([[1], { bogus: 1 }], /unknown option 'bogus'/);
  });
});

// ------------------------------------------------------------ 10. nested futures

test('futures nested in arrays, objects, Map keys and values and Set members arrive as their values', async () => {
  await withCluster(2, async (client) => {
    const a = client.submit(() => 1);
    const b = client.submit(() => 'two');
    const arg = { list: [a, { deep: [b] }], map: new Map<unknown, unknown>([[a, b], ['k', [b]]]), set: new Set([a, 'x']) };
    const got = (await client
      .submit((v: typeof arg) => ({
        list: v.list,
        entries: [...v.map.entries()],
        set: [...v.set],
      }), arg)
      .result()) as { list: unknown; entries: unknown; set: unknown };
    assert.deepEqual(got, { list: [1, { deep: ['two'] }], entries: [[1, 'two'], ['k', ['two']]], set: [1, 'x'] });
  });
});

test('a value holding a future is refused by append with what to do, and no library source', async () => {
  await withCluster(1, async (client) => {
    const chan = client.channel('nested');
    const f = client.submit(() => 1);
    for (const bad of [[f], { f }, new Map([['f', f]]), new Set([f])]) {
      assert.throws(
        () => chan.append(bad),
        (e: unknown) => e instanceof SerializationError && /append the future itself/.test(e.message) && /client\.future\(key\)/.test(e.message) && !/=>|function|class /.test(e.message),
      );
    }
    class Holder {
      readonly cb = function secret(): number {
        return 42;
      };
    }
    for (const bad of [{ deep: [new Holder()] }, { p: Promise.resolve(1) }, { c: chan }, { client }]) {
      assert.throws(
        () => chan.append(bad),
        (e: unknown) => e instanceof SerializationError && !/=>|\breturn\b|[{}]/.test(e.message) && !e.message.includes('\n'),
      );
    }
    chan.append(f);
    await chan.flush();
    assert.equal(chan.length, 1, 'the refused appends left nothing behind');
  });
});

// ------------------------------------------------------------ 14. timeouts and typed errors

test('timeouts are checked everywhere with InvalidArgumentError', async () => {
  await withCluster(1, async (client) => {
    const f = client.submit(() => 1);
    for (const bad of [-1, 'abc', Number.NaN, {}]) {
      const isBad = (e: unknown) => e instanceof InvalidArgumentError && /timeoutMs must be a non-negative number/.test(e.message);
      await assert.rejects(f.result(bad as number), isBad, `result(${String(bad)})`);
      await assert.rejects(f.exception(bad as number), isBad);
      await assert.rejects(f.wait(bad as number), isBad);
      await assert.rejects(client.gather([f], bad as number), isBad);
    }
    assert.equal(await f.result(Infinity), 1, 'Infinity waits without limit');
    assert.equal(await f.result(0), 1);
  });
});

test('errors the scheduler reports arrive as their own classes, built from key and channel fields', () => {
  const cancelled = fromErrorInfo({ name: 'CancelledError', message: 'gone', code: 'ERR_CANCELLED', key: 'k1' });
  assert.ok(cancelled instanceof CancelledError && !(cancelled instanceof TaskError));
  assert.equal(cancelled.key, 'k1');
  const lost = fromErrorInfo({ name: 'FutureLostError', message: 'future k2 was lost with worker w', code: 'ERR_FUTURE_LOST', key: 'k2' });
  assert.ok(lost instanceof FutureLostError);
  assert.equal(lost.key, 'k2');
  assert.equal(lost.message, 'future k2 was lost with worker w');
  const released = fromErrorInfo({ name: 'FutureReleasedError', message: 'x', code: 'ERR_FUTURE_RELEASED', key: 'a b' });
  assert.ok(released instanceof FutureReleasedError);
  assert.equal(released.key, 'a b', 'a key with a space survives: it is a field, not parsed from the message');
  const stopped = fromErrorInfo({ name: 'ChannelStoppedError', message: "channel 'it''s' is stopped", code: 'ERR_CHANNEL_STOPPED', channel: "it's" });
  assert.ok(stopped instanceof ChannelStoppedError);
  assert.equal(stopped.channel, "it's");
  const deleted = fromErrorInfo({ name: 'ChannelDeletedError', message: "channel 'c' was deleted", code: 'ERR_CHANNEL_DELETED', channel: 'c' });
  assert.ok(deleted instanceof ChannelDeletedError);
  assert.equal(deleted.channel, 'c');
  // The other way: our errors say what they are about.
  assert.equal(toErrorInfo(new CancelledError('k3')).key, 'k3');
  assert.equal(toErrorInfo(new ChannelStoppedError('c2')).channel, 'c2');
});

// ------------------------------------------------------------ 15. marker-shaped user data

const MARKERISH: unknown[] = [{ $sf: 'x' }, { $sf: 'nope' }, { $sfq: { $sf: 'x' } }, { $sfq: 1 }, { $sf: 5 }, { $sf: { $sf: 'x' } }, [{ $sf: 'x' }]];

test('user data shaped like a future marker arrives unchanged, also beside real dependencies', async () => {
  await withCluster(1, async (client) => {
    const dep = client.submit((_unused?: undefined) => 'dep', undefined);
    const id = (...args: unknown[]) => args;
    for (const m of MARKERISH) {
      assert.deepEqual(await client.submit(id, m).result(), [m], JSON.stringify(m));
      assert.deepEqual(await client.submit(id, m, dep).result(), [m, 'dep'], `${JSON.stringify(m)} beside a future`);
      assert.deepEqual(await client.submit(id, new Map([[m, m]]), new Set([m]), dep).result(), [new Map([[m, m]]), new Set([m]), 'dep']);
    }
    class Tagged {
      $sf = 'x';
      get [Symbol.toStringTag](): string {
        return 'Tagged';
      }
    }
    assert.deepEqual(await client.submit(id, new Tagged(), dep).result(), [{ $sf: 'x' }, 'dep'], 'a class instance the clone flattens is escaped too');
    const cyclic: Record<string, unknown> = { $sf: 'x' };
    cyclic.$sf = cyclic;
    const back = (await client.submit((o: Record<string, unknown>) => o.$sf === o, cyclic).result()) as boolean;
    assert.equal(back, true, 'a marker-shaped cycle keeps its shape');
  });
});

test('marker-shaped data round-trips through graph literals, graph arguments, scatter and channels', async () => {
  await withCluster(1, async (client) => {
    const graph = { lit: { $sf: 'x' }, x: { $sf: 'lit' }, both: [(a: unknown, b: unknown, c: unknown) => [a, b, c], 'lit', { $sf: 'lit' }, ['x']] };
    assert.deepEqual(await client.get(graph, ['lit', 'x', 'both']), [{ $sf: 'x' }, { $sf: 'lit' }, [{ $sf: 'x' }, { $sf: 'lit' }, [{ $sf: 'lit' }]]]);
    const [s] = await client.scatter([{ $sf: 'x' }]);
    assert.deepEqual(await s.result(), { $sf: 'x' });
    assert.deepEqual(await client.submit((v: unknown) => v, s).result(), { $sf: 'x' }, 'a dependency value is never decoded');
    const chan = client.channel('markers');
    for (const m of MARKERISH) chan.append(m);
    await chan.flush();
    assert.deepEqual(chan.data, MARKERISH);
  });
});

/** Structured values including marker- and escape-shaped objects, Maps and Sets. */
const structured = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, tie('leaf'), tie('array'), tie('object'), tie('marker'), tie('map'), tie('set')),
  leaf: fc.oneof(fc.integer(), fc.string(), fc.boolean(), fc.constant(null), fc.constant(undefined), fc.double({ noNaN: true })),
  array: fc.array(tie('value'), { maxLength: 4 }),
  object: fc.dictionary(fc.oneof(fc.string(), fc.constantFrom('$sf', '$sfq', '__proto__')), tie('value'), { maxKeys: 3, noNullPrototype: true }),
  marker: fc.tuple(fc.constantFrom('$sf', '$sfq'), fc.oneof(fc.string(), tie('value'))).map(([k, v]) => ({ [k]: v })),
  map: fc.array(fc.tuple(tie('value'), tie('value')), { maxLength: 3 }).map((es) => new Map(es)),
  set: fc.array(tie('value'), { maxLength: 3 }).map((vs) => new Set(vs)),
})).value;

/** Puts real futures at random places of a structured value; returns the value and what it must arrive as. */
function withFutures(client: Client, deps: Future[], values: unknown[]) {
  return fc.letrec((tie) => ({
    node: fc.oneof({ depthSize: 'small' }, tie('fut'), tie('array'), tie('object'), tie('map'), tie('set')),
    fut: fc.nat(deps.length - 1).map((i) => ({ sent: deps[i] as unknown, expected: values[i] })),
    array: fc.array(tie('node'), { maxLength: 3 }).map((ns) => pair(ns, (xs) => xs)),
    object: fc.dictionary(fc.constantFrom('a', 'b', '$sf', '$sfq'), tie('node'), { maxKeys: 2, noNullPrototype: true }).map((d) => {
      const keys = Object.keys(d);
      const sent: Record<string, unknown> = {};
      const expected: Record<string, unknown> = {};
      for (const k of keys) {
        sent[k] = (d[k] as Pair).sent;
        expected[k] = (d[k] as Pair).expected;
      }
      return { sent: sent as unknown, expected: expected as unknown };
    }),
    map: fc.array(tie('node'), { maxLength: 2 }).map((ns) => ({
      sent: new Map((ns as Pair[]).map((n, i) => [i, n.sent])) as unknown,
      expected: new Map((ns as Pair[]).map((n, i) => [i, n.expected])) as unknown,
    })),
    set: tie('node').map((n) => ({ sent: new Set([(n as Pair).sent]) as unknown, expected: new Set([(n as Pair).expected]) as unknown })),
  })).node as fc.Arbitrary<Pair>;
}

type Pair = { sent: unknown; expected: unknown };

function pair(ns: unknown[], wrap: (xs: unknown[]) => unknown): Pair {
  const ps = ns as Pair[];
  return { sent: wrap(ps.map((p) => p.sent)), expected: wrap(ps.map((p) => p.expected)) };
}

test('property: any structured argument arrives unchanged; futures anywhere arrive as their values', async () => {
  await withCluster(2, async (client) => {
    const id = (...args: unknown[]) => args;
    const values = [{ $sf: 'v0' }, 7, 'three'];
    const deps = values.map((v) => client.submit((x: unknown) => x, v));
    await client.gather(deps);
    await fc.assert(
      fc.asyncProperty(structured, async (v) => {
        assert.deepEqual(await client.submit({ fn: id, args: [v], pure: false }).result(), [v]);
        assert.deepEqual(await client.submit({ fn: id, args: [v, deps[1]], pure: false }).result(), [v, 7]);
        const chan = client.channel('prop');
        chan.append(v);
        await chan.flush();
        assert.deepEqual(chan.data.at(-1), v);
      }),
      { numRuns: 150 },
    );
    await fc.assert(
      fc.asyncProperty(withFutures(client, deps, values), structured, async (p, extra) => {
        assert.deepEqual(await client.submit({ fn: id, args: [p.sent, extra], pure: false }).result(), [p.expected, extra]);
      }),
      { numRuns: 150 },
    );
  });
});
