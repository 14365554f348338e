/**
 * Channels across a dropped WebSocket connection: a subscriber that comes back sees each item of the log at
 * most once and in order (items evicted while it was away are skipped), a channel deleted while it was away
 * stays deleted, and a connection that is not recovered ends its iteration with ConnectionError.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Client, ConnectionError, LocalCluster } from '../../scheduler';
import { waitUntil } from '../support/wait';
import { proxyTo } from './proxy';

const token = 'resume-token-123456';

async function setup() {
  const cluster = await LocalCluster.start({ threads: 1, listen: { port: 0, token } });
  const proxy = await proxyTo(Number(new URL(cluster.address).port));
  const producer = await Client.connect(cluster.address, { token });
  return {
    cluster,
    proxy,
    producer,
    connectThroughProxy: (opts: { reconnect?: boolean } = {}) => Client.connect(`ws://127.0.0.1:${proxy.port}`, { token, ...opts }),
    async close(...clients: Client[]) {
      for (const c of clients) await c.close();
      await producer.close();
      await proxy.close();
      await cluster.close();
    },
  };
}

/** Reads a channel into `seen` until it ends; resolves with how it ended. */
function read(chan: AsyncIterable<unknown>, seen: unknown[]): Promise<'ended' | Error> {
  return (async () => {
    try {
      for await (const x of chan) seen.push(x);
      return 'ended' as const;
    } catch (err) {
      return err as Error;
    }
  })();
}

test('coming back after the scheduler evicted items yields no duplicate: the log resumes after the last item seen', async () => {
  const env = await setup();
  const client = await env.connectThroughProxy();
  try {
    const out = env.producer.channel('evicted-while-away', { maxlen: 2 });
    const chan = client.channel('evicted-while-away');
    const seen: unknown[] = [];
    const reading = read(chan, seen);
    out.append(0);
    out.append(1);
    await out.flush();
    await waitUntil('the first two seen', () => seen.length === 2);
    env.proxy.refuse(true);
    env.proxy.cut();
    for (let i = 2; i < 7; i++) out.append(i);
    await out.flush();
    env.proxy.refuse(false);
    await waitUntil('the retained items after reconnecting', () => seen.length === 4, 15_000);
    await out.stop();
    assert.equal(await reading, 'ended');
    assert.deepEqual(seen, [0, 1, 5, 6]);
  } finally {
    await env.close(client);
  }
});

test('a channel deleted while a subscriber was away stays deleted and ends its iteration', async () => {
  const env = await setup();
  const client = await env.connectThroughProxy();
  try {
    const chan = client.channel('deleted-while-away');
    await chan.ready;
    const seen: unknown[] = [];
    const reading = read(chan, seen);
    env.proxy.refuse(true);
    env.proxy.cut();
    await env.producer.channel('deleted-while-away').delete();
    // Made again by someone else meanwhile: another incarnation, which the returning subscriber must not join.
    const again = env.producer.channel('deleted-while-away');
    again.append('new life');
    await again.flush();
    env.proxy.refuse(false);
    assert.equal(await reading, 'ended');
    assert.deepEqual(seen, []);
    assert.equal(chan.stopped, true);
    const info = (await client.channels()).find((c) => c.name === 'deleted-while-away');
    assert.equal(info?.count, 1, 'the new incarnation is untouched by the returning subscriber');
  } finally {
    await env.close(client);
  }
});

test('a lost connection that is not recovered ends an iteration with ConnectionError, not like a stop', async () => {
  const env = await setup();
  const client = await env.connectThroughProxy({ reconnect: false });
  try {
    const chan = client.channel('lost');
    await chan.ready;
    const seen: unknown[] = [];
    const reading = read(chan, seen);
    env.proxy.cut();
    const end = await reading;
    assert.ok(end instanceof ConnectionError, `ended with ${String(end)}`);
    assert.equal(chan.stopped, false, 'the channel was not stopped');
  } finally {
    await env.close(client);
  }
});
