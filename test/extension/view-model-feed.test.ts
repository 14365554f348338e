import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client, LocalCluster } from '../../scheduler';
import { SchedulerFeed } from '../../extension/view-model-feed';
import { TreeViewModel, type TreeNode } from '../../extension/view-model';
import { DashboardModel } from '../../extension/view-model-dashboard';
import { waitUntil } from '../support/wait';

const label = (n: TreeNode): string =>
  n.kind === 'item' ? (n.key !== undefined ? `future:${n.status}` : `value ${n.preview}`) : n.kind === 'more' ? `more ${n.hidden}` : n.kind;

describe('SchedulerFeed against a LocalCluster', () => {
  let cluster: LocalCluster;
  let viewer: Client;
  let user: Client;
  before(async () => {
    cluster = await LocalCluster.start({ threads: 2 });
    viewer = await Client.connect(cluster, { name: 'viewer' });
    user = await Client.connect(cluster, { name: 'user' });
  });
  after(async () => {
    await user.close();
    await viewer.close();
    await cluster.close();
  });

  it('shows a channel, its items and their statuses as another client works', async () => {
    const tree = new TreeViewModel({ window: 5 });
    const dashboard = new DashboardModel(tree);
    const errors: unknown[] = [];
    const feed = new SchedulerFeed(tree, dashboard, { onError: (_w, e) => errors.push(e) });
    feed.follow(viewer, { kind: 'local', address: 'local' });
    try {
      const chan = user.channel('feed-test');
      chan.append('hello');
      await chan.flush();
      await waitUntil('the channel with its value', () => tree.children(tree.channel('feed-test') ?? tree.root).some((n) => label(n) === 'value "hello"'));
      const gate = user.channel('gate');
      const futures = user.map(async (x: number) => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { localClient } = require('shared-futures') as typeof import('../../scheduler');
        for await (const open of localClient().channel('gate')) if (open === 'go') break;
        return x * 2;
      }, [1, 2]);
      for (const f of futures) chan.append(f);
      await chan.flush();
      await waitUntil('two processing futures', () => tree.children(tree.channel('feed-test')).filter((n) => label(n) === 'future:processing').length === 2);
      assert.equal(dashboard.snapshot().counts.processing, 2);
      gate.append('go');
      await gate.flush();
      await Promise.all(futures.map((f) => f.result()));
      await waitUntil('two finished futures', () => tree.children(tree.channel('feed-test')).filter((n) => label(n) === 'future:finished').length === 2);
      await waitUntil('the task stream', () => dashboard.snapshot().stream.filter((e) => e.status === 'finished').length >= 2);
      // More items than the window: newest five and a "more" node.
      for (let i = 0; i < 10; i++) chan.append(i);
      await chan.flush();
      await waitUntil('the window', () => label(tree.children(tree.channel('feed-test')).at(-1) as TreeNode) === 'more 8');
      assert.deepEqual(tree.children(tree.channel('feed-test')).slice(0, 2).map(label), ['value 9', 'value 8']);
      await chan.stop();
      await waitUntil('the stopped channel', () => tree.channel('feed-test')?.stopped === true);
      await chan.delete();
      await waitUntil('the channel to go', () => tree.channel('feed-test') === undefined);
      assert.deepEqual(errors, []);
    } finally {
      feed.dispose();
    }
  });
});
