/** The examples of the README run and print what they promise. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client } from '../../scheduler';
import { withCluster } from './helpers';
import { waitUntil } from '../support/wait';

const run = promisify(execFile);
const examples = path.resolve(__dirname, '../../examples');

test('examples/pipeline: emit/emit/combine prints N sums and stops', async () => {
  const { stdout } = await run(process.execPath, [path.join(examples, 'pipeline.js'), '7'], { timeout: 60_000 });
  const sums = stdout.split('\n').filter((l) => /^sum \d+: \d\.\d{4}$/.test(l));
  assert.ok(sums.length >= 7, stdout);
  assert.match(stdout, /stopped after 7 sums/);
});

test('examples/short-lived: a later client gets the result of a closed client\'s task', async () => {
  const { stdout } = await run(process.execPath, [path.join(examples, 'short-lived.js')], { timeout: 60_000 });
  assert.match(stdout, /appended \S+ and leaves/);
  assert.match(stdout, /result: 42/);
});

/**
 * The idiom the example notebooks use to run again: a channel outlives the clients (and kernels) that made
 * it, so an example deletes it, then makes it afresh. Through the same client and through a new one; a
 * consumer still iterating the old channel ends there instead of going on with the new one's items.
 */
test('examples idiom: delete a channel, then make it afresh, through the same client and a new one', async () => {
  await withCluster(1, async (client, cluster) => {
    const first = client.channel<number>('again');
    first.append(1);
    await first.flush();
    // A consumer on another client, iterating the first channel (not stopped: it would wait for more).
    const other = await Client.connect(cluster);
    try {
      const consumed: number[] = [];
      const consumer = (async () => {
        for await (const item of other.channel<number>('again')) consumed.push(item);
      })();
      await waitUntil('the consumer to get the first item', () => consumed.length === 1, 5000);

      // Same client: delete, then make again.
      await client.channel('again').delete();
      const fresh = client.channel<number>('again');
      assert.notEqual(fresh, first, 'a new handle, not the deleted one');
      assert.equal(fresh.stopped, false);
      fresh.append(2);
      await fresh.flush();
      assert.deepEqual(fresh.data, [2]);
      // The consumer of the old channel ended with its items only.
      await consumer;
      assert.deepEqual(consumed, [1]);

      // A new client sees only the new channel, and can do the same again.
      const late = await Client.connect(cluster);
      try {
        const seen = late.channel<number>('again');
        await seen.ready;
        assert.deepEqual(seen.data, [2]);
        assert.equal(seen.stopped, false);
        await seen.delete();
        const again = late.channel<number>('again');
        again.append(3);
        await again.flush();
        assert.deepEqual(again.data, [3]);
        await waitUntil('the first client to hear of the delete', () => fresh.stopped, 5000);
      } finally {
        await late.close();
      }
    } finally {
      await other.close();
    }
  });
});
