/** Dropped connections: a client reconnects and resumes; a killed client leaves whole appends or none. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Future, LocalCluster } from '../../scheduler';
import { spawnNode } from '../support/processes';
import { waitUntil } from '../support/wait';
import { proxyTo } from './proxy';

test('a client whose connection drops reconnects and resumes: wanted keys live on, channels continue without gap or duplicate', async () => {
  const token = 'reconnect-token-1234';
  const cluster = await LocalCluster.start({ threads: 1, listen: { port: 0, token } });
  const port = Number(new URL(cluster.address).port);
  const proxy = await proxyTo(port);
  const producer = await Client.connect(cluster.address, { token });
  const client = await Client.connect(`ws://127.0.0.1:${proxy.port}`, { token });
  try {
    const held = client.submit(async () => {
      await sleep(300);
      return 'survived';
    });
    const chan = client.channel('resume');
    const seen: unknown[] = [];
    const reading = (async () => {
      for await (const x of chan) {
        seen.push(x);
        if (x === 'end') return;
      }
    })();
    const out = producer.channel('resume');
    for (let i = 0; i < 10; i++) out.append(i);
    await out.flush();
    await waitUntil('first ten seen', () => seen.length === 10);
    proxy.cut();
    // While the client is away, the channel goes on.
    for (let i = 10; i < 20; i++) out.append(i);
    await out.flush();
    await waitUntil('client reconnected', async () => (await client.schedulerInfo().then(() => true, () => false)), 15_000);
    for (let i = 20; i < 25; i++) out.append(i);
    out.append('end');
    await out.flush();
    await reading;
    assert.deepEqual(seen, [...Array.from({ length: 25 }, (_, i) => i), 'end'], 'no gap, no duplicate');
    assert.equal(await held.result(10_000), 'survived', 'a key wanted before the drop is still held');
    assert.equal(chan.count, 26);
  } finally {
    await client.close();
    await producer.close();
    await proxy.close();
    await cluster.close();
  }
});

const APPENDER = `
const { Client } = require(process.argv[2]);
(async () => {
  const client = await Client.connect(process.argv[3], { token: process.argv[4] });
  const chan = client.channel('atomic');
  await chan.ready;
  console.log('ready');
  for (let i = 0; ; i++) {
    chan.append({ i, pad: 'x'.repeat(i % 7 === 0 ? 5000 : 10) });
    if (i % 50 === 0) await new Promise((r) => setImmediate(r));
  }
})();
`;

test('a client killed between append and flush: each append is in the channel once or not at all, the same for every subscriber', async () => {
  const token = 'atomic-token-12345';
  const cluster = await LocalCluster.start({ threads: 1, listen: { port: 0, token } });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sf-kill-'));
  const script = path.join(dir, 'appender.js');
  fs.writeFileSync(script, APPENDER);
  const a = await Client.connect(cluster.address, { token });
  const b = await Client.connect(cluster);
  try {
    const sa = a.channel('atomic');
    const sb = b.channel('atomic');
    await Promise.all([sa.ready, sb.ready]);
    for (let round = 0; round < 3; round++) {
      const child = spawnNode(script, [require.resolve('../../scheduler'), cluster.address, token]);
      await child.waitFor(/^ready$/m);
      // Killed at a different point each round: after its first append landed, after 20, after 200.
      const before = sa.count;
      const landed = [1, 20, 200][round];
      await waitUntil(`${landed} appends of appender ${round + 1} landed`, () => sa.count - before >= landed);
      await child.stop('SIGKILL');
    }
    // Let everything that arrived settle, then compare.
    const probe = a.channel('atomic');
    probe.append('probe');
    await probe.flush();
    await waitUntil('subscribers agree on the count', () => sb.count === sa.count);
    const items = sa.data.filter((x) => x !== 'probe') as { i: number }[];
    assert.ok(items.length > 0, 'some appends landed');
    assert.equal(JSON.stringify(sa.data), JSON.stringify(sb.data), 'every subscriber sees the same sequence');
    // Per killed client, the landed appends are 0..k-1: whole, in order, none twice.
    const runs: number[][] = [];
    for (const { i } of items) {
      if (i === 0) runs.push([]);
      runs[runs.length - 1].push(i);
    }
    assert.equal(runs.length, 3);
    for (const run of runs) assert.deepEqual(run, Array.from({ length: run.length }, (_, i) => i));
    assert.ok(sa.futures.every((x) => !(x instanceof Future)));
  } finally {
    await a.close();
    await b.close();
    await cluster.close();
  }
});

test('a large result crosses the wire in chunks and arrives whole', async () => {
  const token = 'chunk-token-123456';
  const cluster = await LocalCluster.start({ threads: 1, listen: { port: 0, token } });
  const client = await Client.connect(cluster.address, { token });
  try {
    const big = client.submit((n: number) => {
      const a = new Float64Array(n);
      for (let i = 0; i < n; i++) a[i] = i * 0.5;
      return a;
    }, 1_500_000); // 12 MB: twelve chunks
    const got = (await big.result()) as Float64Array;
    assert.equal(got.length, 1_500_000);
    assert.equal(got[1_499_999], 1_499_999 * 0.5);
  } finally {
    await client.close();
    await cluster.close();
  }
});
