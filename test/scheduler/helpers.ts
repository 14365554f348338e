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

/** Collects everything a channel-like async iterable yields until it ends. */
export async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}
