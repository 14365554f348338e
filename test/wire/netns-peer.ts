/**
 * A client process of the several-hosts test (netns.system.test.ts), run inside its own network namespace:
 *
 *   node netns-peer.js produce ws://ADDR N   waits for two workers, submits N tasks and a sum of them,
 *                                            appends the futures to channel 'pipeline', stops it, exits
 *   node netns-peer.js consume ws://ADDR     iterates 'pipeline' to its end and prints what it got
 *
 * The token comes from SF_TOKEN. Output: READY when subscribed, `RESULT <json>` at the end.
 */
import { Client, type Future } from '../../scheduler';
import { waitUntil } from '../support/wait';
import { runAsChild } from '../support/child';

async function produce(address: string, n: number): Promise<void> {
  const client = await Client.connect(address, { token: process.env.SF_TOKEN, reconnect: false });
  await waitUntil('two workers to join', async () => (await client.schedulerInfo()).workers.length >= 2);
  const chan = client.channel('pipeline');
  await chan.ready;
  // Each task takes a little while, so both single-thread workers get some.
  const parts = client.map(
    async (x: number) => {
      await sleep(20);
      return { x, sq: x * x, pid: process.pid };
    },
    Array.from({ length: n }, (_, i) => i),
  );
  for (const f of parts) chan.append(f);
  // A dependent task: its inputs live on both workers and move to wherever it runs.
  chan.append(client.submit((...ps: { sq: number }[]) => ps.reduce((a, p) => a + p.sq, 0), ...parts));
  chan.append({ done: n });
  await chan.flush();
  await chan.stop();
  console.log(`RESULT ${JSON.stringify({ appended: n + 2 })}`);
  await client.close();
}

async function consume(address: string): Promise<void> {
  const client = await Client.connect(address, { token: process.env.SF_TOKEN, reconnect: false });
  const chan = client.channel('pipeline');
  await chan.ready;
  console.log('READY');
  const items: unknown[] = [];
  for await (const item of chan) items.push(item);
  const values = await Promise.all(items.map((it) => (typeof it === 'object' && it !== null && 'key' in it && 'result' in it ? (it as Future).result(30_000) : it)));
  console.log(`RESULT ${JSON.stringify({ values })}`);
  await client.close();
}

const [role, address, n] = process.argv.slice(2);
runAsChild(() => (role === 'produce' ? produce(address, Number(n)) : role === 'consume' ? consume(address) : Promise.reject(new Error(`unknown role ${role}`))));
