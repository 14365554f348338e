/**
 * channel-memory: 1,000,000 value items and 100,000 futures retained in channels; scheduler heap per
 * item. The client runs in a worker thread so the main thread's heap is the scheduler's alone.
 */
import { Worker } from 'node:worker_threads';
import { LocalCluster } from '../scheduler';
import { report } from './report';
import { waitUntil } from '../test/support/wait';

const CLIENT = `
const { parentPort, workerData } = require('node:worker_threads');
const { Client } = require(workerData.runtime);
(async () => {
  const client = await Client.connect(workerData.port);
  const values = client.channel('values');
  const futures = client.channel('futures');
  for (let i = 0; i < workerData.values; i++) {
    values.append({ id: i, tag: 'v' });
    if (i % 10000 === 9999) await values.flush();
  }
  await values.flush();
  const fs = client.map((x) => x, Array.from({ length: workerData.futures }, (_, i) => i), { pure: false });
  for (const f of fs) futures.append(f);
  await futures.flush();
  await client.gather(fs);
  for (const f of fs) f.release();
  await futures.flush();
  parentPort.postMessage('filled');
  parentPort.once('message', async () => { await client.close(); parentPort.postMessage('closed'); });
})().catch((e) => { console.error(e); process.exit(1); });
`;

function heap(): number {
  (globalThis as { gc?: () => void }).gc?.();
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed;
}

export async function run(): Promise<void> {
  if (typeof (globalThis as { gc?: unknown }).gc !== 'function') throw new Error('run with --expose-gc');
  const values = Number(process.env.SF_BENCH_VALUES ?? 1_000_000);
  const futures = Number(process.env.SF_BENCH_FUTURES ?? 100_000);
  const cluster = await LocalCluster.start({ threads: 1 });
  const before = heap();
  const port = cluster.createPort();
  const worker = new Worker(CLIENT, { eval: true, workerData: { port, runtime: require.resolve('../scheduler'), values, futures }, transferList: [port] });
  await new Promise<void>((resolve, reject) => {
    worker.once('message', () => resolve());
    worker.once('error', reject);
  });
  const retainedNow = () => cluster.server.state.channelInfos().reduce((s, c) => s + c.length, 0);
  await waitUntil(`${values + futures} retained items`, () => retainedNow() === values + futures, { timeoutMs: 60_000, detail: () => `found ${retainedNow()}` });
  const after = heap();
  const retained = retainedNow();
  const perItem = (after - before) / retained;
  report('channel-memory', perItem, 'bytes/item', { values, futures, heapMiB: Number(((after - before) / 2 ** 20).toFixed(1)) });
  worker.postMessage('close');
  await new Promise((r) => worker.once('message', r));
  await worker.terminate();
  await cluster.close();
}
