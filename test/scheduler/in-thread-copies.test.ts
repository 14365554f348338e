/**
 * A client in the scheduler's thread never shares a mutable object with the scheduler or another client:
 * results that are objects arrive as copies; a gather of primitives may skip the copy (nothing in it can be
 * changed), but the array itself is the caller's own.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '../../scheduler';
import { withCluster } from './helpers';

test('gathered object results are copies: changing one does not change what another gather or client sees', async () => {
  await withCluster(1, async (client, cluster) => {
    const other = await Client.connect(cluster);
    try {
      const f = client.submit({ fn: () => ({ n: 1, list: [1, 2] }), key: 'copies-object' });
      const [a] = (await client.gather([f])) as { n: number; list: number[] }[];
      a.n = 99;
      a.list.push(3);
      const [b] = (await client.gather([f])) as { n: number; list: number[] }[];
      assert.deepEqual(b, { n: 1, list: [1, 2] });
      assert.deepEqual(await other.future('copies-object').result(), { n: 1, list: [1, 2] });
      const mixed = client.map((x: number) => (x === 2 ? { x } : x), [1, 2, 3], { pure: false });
      const first = (await client.gather(mixed)) as unknown[];
      (first[1] as { x: number }).x = -1;
      assert.deepEqual(await client.gather(mixed), [1, { x: 2 }, 3], 'an object among primitives is copied too');
    } finally {
      await other.close();
    }
  });
});

test('a gather of primitives gives each call its own array', async () => {
  await withCluster(1, async (client) => {
    const futures = client.map((x: number) => (x % 2 === 0 ? x : `s${x}`), [0, 1, 2, 3, 4], { pure: false });
    const first = (await client.gather(futures)) as unknown[];
    assert.deepEqual(first, [0, 's1', 2, 's3', 4]);
    first[0] = 'changed';
    first.length = 1;
    const second = (await client.gather(futures)) as unknown[];
    assert.notEqual(first, second);
    assert.deepEqual(second, [0, 's1', 2, 's3', 4]);
  });
});
