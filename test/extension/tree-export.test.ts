import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client, LocalCluster } from '../../scheduler';
import { buildExport, errorText } from '../../extension/channel-commands-export';
import type { ChannelNode } from '../../extension/view-model';

describe('Export Channel Snapshot content', () => {
  let cluster: LocalCluster;
  let client: Client;
  before(async () => {
    cluster = await LocalCluster.start({ threads: 1 });
    client = await Client.connect(cluster);
  });
  after(async () => {
    await client.close();
    await cluster.close();
  });

  it('lists every retained item: keys, statuses, serializable results, errors as text, values', async () => {
    const chan = client.channel('export-test', { maxlen: 3 });
    chan.append('evicted');
    const ok = client.submit((x: number) => x * x, 3);
    const failed = client.submit(() => {
      throw new TypeError('boom in a task');
    });
    const big = client.submit(() => 10n ** 20n);
    for (const f of [ok, failed, big]) chan.append(f);
    await chan.flush();
    await Promise.allSettled([ok.result(), failed.result(), big.result()]);
    const node: ChannelNode = { kind: 'channel', id: 'channel:export-test', name: 'export-test', count: 4, length: 3, maxlen: 3, stopped: false };
    const snapshot = await buildExport(node, chan.futures, chan.count);
    assert.equal(snapshot.name, 'export-test');
    assert.equal(snapshot.count, 4);
    assert.equal(snapshot.length, 3, 'the evicted value is not retained');
    const [first, second, third] = snapshot.items;
    assert.deepEqual(first, { index: 1, key: ok.key, status: 'finished', result: 9 });
    assert.ok('key' in second && second.status === 'error');
    assert.match((second as { error: string }).error, /TypeError: boom in a task/);
    assert.deepEqual(third, { index: 3, key: big.key, status: 'finished', note: 'result is not JSON-serializable' });
    // The whole snapshot is JSON.
    assert.deepEqual(JSON.parse(JSON.stringify(snapshot)), snapshot);
  });

  it('writes values as they are and an error with its name, message and stack', () => {
    const err = new RangeError('out of range');
    assert.match(errorText(err), /^RangeError: out of range\n\s+at /);
    const bare = new Error('no stack');
    bare.stack = undefined;
    assert.equal(errorText(bare), 'Error: no stack\n');
    assert.equal(errorText(undefined), '');
  });
});
