/** Shared helpers of the runtime tests. */
import { Client, LocalCluster } from '../../scheduler';

/** Runs `body` with a fresh cluster and client, closing both afterwards. */
export async function withCluster<T>(threads: number, body: (client: Client, cluster: LocalCluster) => Promise<T>): Promise<T> {
  const cluster = await LocalCluster.start({ threads });
  const client = await Client.connect(cluster);
  try {
    return await body(client, cluster);
  } finally {
    await client.close();
    await cluster.close();
  }
}

/** Polls `check` until it returns true (for asynchronous releases), failing after `ms`. */
export async function eventually(check: () => Promise<boolean> | boolean, ms = 5000, what = 'condition'): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > until) throw new Error(`${what} did not hold within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Collects everything a channel-like async iterable yields until it ends. */
export async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}
