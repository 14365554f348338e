// A channel deleted and made again under the same name is another incarnation: a handle of the deleted one
// never reaches the new one — its appends are refused, its stop() and delete() leave the new channel alone.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Client, LocalCluster } from '../../scheduler';
import { waitUntil } from '../support/wait';

test("a deleted incarnation's handle cannot append to, stop or delete the channel made again under its name", async () => {
  const cluster = await LocalCluster.start({ threads: 1 });
  const a = await Client.connect(cluster);
  const b = await Client.connect(cluster);
  try {
    const stale = a.channel<number>('again');
    await stale.ready;
    await b.channel('again').delete();
    const fresh = b.channel<number>('again');
    fresh.append(1);
    await fresh.flush();
    await waitUntil('a to hear of the delete', () => stale.stopped, 5000);
    assert.throws(() => stale.append(2), { name: 'ChannelDeletedError' });
    await stale.stop();
    await stale.delete();
    assert.deepEqual(await b.channels(), [{ name: 'again', count: 1, length: 1, maxlen: null, stopped: false }]);
    assert.deepEqual(fresh.data, [1]);
  } finally {
    await a.close();
    await b.close();
    await cluster.close();
  }
});
