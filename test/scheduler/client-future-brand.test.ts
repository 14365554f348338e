/**
 * One "is this a Future" check that holds across the runtime's bundles: a Future made by dist/runtime.js
 * (another copy of the Future class, as in the kernel's worker or the extension) is a Future to this copy.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { Client, Future, LocalCluster } from '../../scheduler';
import { isFuture } from '../../scheduler/client/future';
import { isFutureLike } from '../../kernel/runtime-types';

type Bundle = typeof import('../../scheduler');

test('a Future of another bundle is a Future: as a task argument, a channel item, to gather and to the kernel', async () => {
  // The runtime as the package ships it: a separate bundle, with its own Future class.
  const bundled = require(path.resolve(__dirname, '../../../dist/runtime.js')) as Bundle; // eslint-disable-line @typescript-eslint/no-require-imports
  assert.notEqual(bundled.Future, Future);
  const cluster = await LocalCluster.start({ threads: 1 });
  const here = await Client.connect(cluster);
  const there = await bundled.Client.connect(cluster);
  try {
    const foreign = there.submit((x: number) => x + 1, 1);
    assert.equal(foreign instanceof Future, false, 'instanceof fails across bundles');
    assert.equal(isFuture(foreign), true);
    assert.equal(isFutureLike(foreign), true);

    const dependent = here.submit((x: number) => x * 10, foreign as unknown as Future<number>);
    assert.equal(await dependent.result(5000), 20, 'a foreign future is a dependency, not a value');

    const chan = here.channel('across-bundles');
    chan.append(foreign);
    await chan.flush();
    const [item] = chan.futures;
    assert.ok(isFuture(item), 'a foreign future travels as a future');
    assert.equal((item as Future).key, foreign.key);

    assert.deepEqual(await here.gather([foreign as unknown as Future<number>], 5000), [2]);
    await assert.rejects(async () => here.scatter([foreign]), /a Future is not a value/);

    const lookalike = { key: 'k', status: 'finished', onStatus: () => ({ dispose: () => undefined }), result: async () => 1 };
    assert.equal(isFuture(lookalike), false, 'a shape alone is not a Future');
    assert.equal(isFutureLike(lookalike), false);
  } finally {
    await there.close();
    await here.close();
    await cluster.close();
  }
});
