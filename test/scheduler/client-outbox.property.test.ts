/**
 * The client's outbox (scheduler/client/outbox.ts) merges what a client posts in one tick into one batch, and
 * lets a release made when nothing else leaves wait (up to RELEASE_DELAY_MS) for the client's next message.
 * Random sequences of wants, appends, releases, ticks, clock advances and reconnect holds check that whatever
 * the merging and waiting, the scheduler receives every want, item and release exactly once and in the order
 * the client made them, and that nothing waits for ever.
 */
import { afterEach, beforeEach, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { propertyRuns } from '../support/property-runs';
import { Outbox, RELEASE_DELAY_MS } from '../../scheduler/client/outbox';
import type { ClientMessage } from '../../scheduler/protocol/messages';

type Cmd =
  | { t: 'want'; k: number }
  | { t: 'release'; k: number; n: number }
  | { t: 'append'; ch: number; v: number }
  | { t: 'tick' }
  | { t: 'advance'; ms: number }
  | { t: 'hold' }
  | { t: 'resume' };

const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  fc.record({ t: fc.constant('want' as const), k: fc.nat(5) }),
  { arbitrary: fc.record({ t: fc.constant('release' as const), k: fc.nat(5), n: fc.integer({ min: 1, max: 3 }) }), weight: 3 },
  fc.record({ t: fc.constant('append' as const), ch: fc.nat(1), v: fc.nat(100) }),
  { arbitrary: fc.record({ t: fc.constant('tick' as const) }), weight: 3 },
  fc.record({ t: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: RELEASE_DELAY_MS + 5 }) }),
  fc.record({ t: fc.constant('hold' as const) }),
  fc.record({ t: fc.constant('resume' as const) }),
);

/** One message as the separate events it carries, in order (a merged message carries several). */
function events(m: ClientMessage): string[] {
  if (m.op === 'want') return m.keys.map((k) => `want ${k}`);
  if (m.op === 'release') return m.keys.map((k, i) => `release ${k} ${m.n?.[i] ?? 1}`);
  if (m.op === 'append') return m.items.map((it) => `append ${m.channel} ${JSON.stringify(it)}`);
  return [m.op];
}

/** Lets the microtasks run (the outbox flushes at the end of the tick). */
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

// Every test here runs on a mocked clock: the release delay passes when a test says so.
beforeEach(() => mock.timers.enable({ apis: ['setTimeout'] }));
afterEach(() => mock.timers.reset());

test('the scheduler gets every want, item and release once, in the order made, and nothing waits for ever', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(cmd, { maxLength: 40 }), async (cmds) => {
      const sent: string[] = [];
      const made: string[] = [];
      const outbox = new Outbox((batch) => {
        for (const m of batch) sent.push(...events(m));
      });
      let held = false;
      for (const c of cmds) {
        if (c.t === 'want') {
          outbox.want(`k${c.k}`);
          made.push(`want k${c.k}`);
        } else if (c.t === 'release') {
          outbox.release(`k${c.k}`, c.n);
          made.push(`release k${c.k} ${c.n}`);
        } else if (c.t === 'append') {
          outbox.append(`ch${c.ch}`, { v: c.v }, undefined);
          made.push(`append ch${c.ch} ${JSON.stringify({ v: c.v })}`);
        } else if (c.t === 'tick') await tick();
        else if (c.t === 'advance') {
          mock.timers.tick(c.ms);
          await tick();
        } else if (c.t === 'hold' && !held) {
          outbox.hold();
          held = true;
        } else if (c.t === 'resume' && held) {
          // Welcomed back: the resync follows what was queued (and made) before it.
          outbox.resume(() => false, [{ op: 'resync', keys: [], n: [] }]);
          made.push('resync');
          held = false;
        }
        // What left is what was made, in order, up to some point: nothing lost, duplicated or reordered so far.
        assert.deepEqual(sent, made.slice(0, sent.length));
      }
      if (held) {
        outbox.resume(() => false, [{ op: 'resync', keys: [], n: [] }]);
        made.push('resync');
      }
      await tick();
      mock.timers.tick(RELEASE_DELAY_MS);
      await tick();
      assert.deepEqual(sent, made, 'once the delay passed, everything made has left');
      assert.equal(outbox.releasesWaiting, 0);
    }),
    { numRuns: propertyRuns(1000, 200) },
  );
});

test('a release made when nothing else leaves goes with the next message, in one batch ahead of it', async () => {
  const batches: ClientMessage[][] = [];
  const outbox = new Outbox((batch) => batches.push(batch));
  outbox.release('a', 1);
  await tick();
  assert.equal(batches.length, 0, 'a release alone waits');
  assert.equal(outbox.releasesWaiting, 1);
  outbox.release('b', 2);
  mock.timers.tick(RELEASE_DELAY_MS - 1);
  await tick();
  assert.equal(batches.length, 0);
  outbox.want('c');
  await tick();
  assert.deepEqual(batches, [
    [
      { op: 'release', keys: ['a', 'b'], n: [1, 2] },
      { op: 'want', keys: ['c'] },
    ],
  ]);
  // Alone again: it leaves by itself once the delay passed.
  outbox.release('d', 1);
  mock.timers.tick(RELEASE_DELAY_MS);
  await tick();
  assert.deepEqual(batches[1], [{ op: 'release', keys: ['d'], n: [1] }]);
  assert.equal(outbox.releasesWaiting, 0);
});

test('a closed outbox drops its waiting releases and its timer', async () => {
  const batches: ClientMessage[][] = [];
  const outbox = new Outbox((batch) => batches.push(batch));
  outbox.release('a', 1);
  outbox.close();
  mock.timers.tick(RELEASE_DELAY_MS);
  await tick();
  assert.deepEqual(batches, []);
  assert.equal(outbox.releasesWaiting, 0);
});
