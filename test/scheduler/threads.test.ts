/** Clients on other threads (the notebook kernel's case) and the built bundle. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { Client, LocalCluster } from '../../scheduler';
import { waitUntil } from '../support/wait';

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { Client } = require(workerData.runtime);
(async () => {
  const client = await Client.connect(workerData.port);
  const f = client.submit((x) => x * 3, 14);
  const chan = client.channel('from-thread');
  chan.append(f);
  chan.append('hello from a thread');
  await chan.flush();
  parentPort.postMessage({ id: client.id, result: await f.result() });
  // Stays connected until told, waiting on nothing but the port: the port must keep the thread alive.
  const done = await client.submit(async () => { await sleep(50); return 'late'; }).result();
  parentPort.postMessage({ done });
  await client.close();
})().catch((e) => parentPort.postMessage({ error: String(e) }));
`;

test('a client in a worker thread connects through cluster.createPort() and shares channels', async () => {
  const cluster = await LocalCluster.start({ threads: 1 });
  const main = await Client.connect(cluster);
  try {
    const port = cluster.createPort();
    const worker = new Worker(WORKER, { eval: true, workerData: { port, runtime: require.resolve('../../scheduler') }, transferList: [port] });
    const messages: Record<string, unknown>[] = [];
    await new Promise<void>((resolve, reject) => {
      worker.on('message', (m: Record<string, unknown>) => {
        messages.push(m);
        if ('done' in m || 'error' in m) resolve();
      });
      worker.on('error', reject);
      worker.on('exit', () => resolve());
    });
    assert.deepEqual(messages.map((m) => m.error).filter(Boolean), []);
    assert.equal(messages[0].result, 42);
    assert.equal(messages[1]?.done, 'late', 'the thread stayed alive while it waited');
    const chan = main.channel('from-thread');
    await chan.ready;
    assert.equal(chan.length, 2);
    assert.equal(chan.data[1], 'hello from a thread');
  } finally {
    await main.close();
    await cluster.close();
  }
});

test('dist/runtime.js exports the public API and runs a task on its bundled pool worker', async () => {
  const bundle = path.resolve(__dirname, '../../../dist/runtime.js');
  assert.ok(fs.existsSync(bundle), 'npm run build makes dist/runtime.js');
  assert.ok(fs.existsSync(path.join(path.dirname(bundle), 'pool-worker.js')), 'and the pool worker beside it');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const sf = require(bundle) as typeof import('../../scheduler');
  for (const name of ['Client', 'LocalCluster', 'Future', 'Channel', 'zip', 'ChannelStoppedError', 'TaskError', 'CancelledError', 'TimeoutError']) {
    assert.ok(name in sf, `exports ${name}`);
  }
  const cluster = await sf.LocalCluster.start({ threads: 1 });
  const client = await sf.Client.connect(cluster);
  try {
    const f = client.submit(async (x: number) => {
      const inner = localClient().submit((y: number) => y + 1, x);
      return inner.result();
    }, 41);
    assert.equal(await f.result(), 42);
    assert.ok(f instanceof sf.Future);
  } finally {
    await client.close();
    await cluster.close();
  }
});

test('a thread that ends without closing its client (a kernel restart) releases everything that client held', async () => {
  const cluster = await LocalCluster.start({ threads: 1 });
  const observer = await Client.connect(cluster);
  try {
    const port = cluster.createPort();
    const code = `
      const { parentPort, workerData } = require('node:worker_threads');
      const { Client } = require(workerData.runtime);
      (async () => {
        const client = await Client.connect(workerData.port);
        const f = client.submit({ fn: () => 'held', key: 'held-by-thread' });
        await f.result();
        parentPort.postMessage('holding');
        setInterval(() => {}, 1000); // stays alive until terminated
      })();`;
    const worker = new Worker(code, { eval: true, workerData: { port, runtime: require.resolve('../../scheduler') }, transferList: [port] });
    await new Promise((r) => worker.once('message', r));
    assert.equal((await observer.schedulerInfo()).tasks.finished, 1);
    await worker.terminate();
    await waitUntil('the future of the terminated thread to be released', async () => ((await observer.schedulerInfo()).tasks.finished ?? 0) === 0);
  } finally {
    await observer.close();
    await cluster.close();
  }
});
