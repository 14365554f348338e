/**
 * Future handles are owning handles: one that is garbage collected releases its key exactly like
 * `release()`, and a handle that was released and is collected later releases nothing more (other handles
 * on the same key keep it). The collector is forced through V8's `gc`, exposed for this file only.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Client, Future } from '../../scheduler';
import { waitUntil } from '../support/wait';
import { withCluster } from './helpers';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Keys the scheduler holds, by public status. */
async function held(client: Client): Promise<number> {
  const tasks = (await client.schedulerInfo()).tasks;
  return Object.values(tasks).reduce((a, b) => a + (b ?? 0), 0);
}

/** Collects until `check` holds: finalization callbacks run after a collection, in a later turn. */
async function collectUntil(what: string, check: () => Promise<boolean>): Promise<void> {
  await waitUntil(what, async () => {
    gc();
    await new Promise<void>((resolve) => setImmediate(resolve));
    return check();
  });
}

/** Submits `n` tasks and waits for them in a frame of its own, so that no handle outlives it but every `keepEvery`-th (0: none). */
async function mapAndDrop(client: Client, n: number, keep: Future[], keepEvery: number): Promise<void> {
  const futures = client.map((x: number) => x * 2, Array.from({ length: n }, (_, i) => i), { pure: false });
  await client.gather(futures);
  if (keepEvery > 0) for (let i = 0; i < n; i += keepEvery) keep.push(futures[i]);
}

test('handles of a map that are collected release their keys; those still referenced keep theirs', async () => {
  await withCluster(1, async (client) => {
    const keep: Future[] = [];
    await mapAndDrop(client, 2000, keep, 100);
    assert.equal(await held(client), 2000);
    await collectUntil('the collected handles released their keys', async () => (await held(client)) === keep.length);
    // The kept handles still own their keys: their results are still there.
    assert.deepEqual(await client.gather(keep), keep.map((_, i) => i * 100 * 2));
    for (const f of keep) f.release();
    await waitUntil('released keys forgotten', async () => (await held(client)) === 0);
  });
});

test('a released handle collected later does not release the key another handle still holds', async () => {
  await withCluster(1, async (client) => {
    const other: { f?: Future } = {};
    await (async () => {
      const a = client.submit({ fn: (x: number) => x + 1, args: [41], key: 'gc-shared' });
      other.f = client.future('gc-shared');
      assert.equal(await a.result(), 42);
      a.release();
    })();
    // The released handle `a` is unreachable now; collecting it must leave the key to `other.f`.
    const registry = (client as unknown as { futures: { watchedHandles: number } }).futures;
    await collectUntil('the released handle collected', async () => registry.watchedHandles === 1);
    assert.equal(await held(client), 1, 'the key is still held by the other handle');
    assert.equal(await (other.f as Future).result(), 42);
    other.f = undefined;
    await collectUntil('the last handle collected released the key', async () => (await held(client)) === 0);
  });
});

test('slots of collected handles are reused: watching handles does not grow with handles made and dropped', async () => {
  await withCluster(1, async (client) => {
    const registry = (client as unknown as { futures: { watchedHandles: number; slotCount: number } }).futures;
    for (let round = 0; round < 3; round++) {
      await mapAndDrop(client, 1000, [], 0);
      await collectUntil(`round ${round}: every handle collected`, async () => registry.watchedHandles === 0 && (await held(client)) === 0);
    }
    assert.ok(registry.slotCount <= 1000, `slots: ${registry.slotCount} for at most 1000 handles at once`);
  });
});
