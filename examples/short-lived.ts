/**
 * Short-lived clients hand work to each other through a channel: the first submits a slow task, appends
 * its future, flushes and closes; the scheduler keeps the future alive. A second client, started after
 * the first is gone, iterates the channel and prints the result.
 *
 * Run: npm start   (or: node build/examples/short-lived.js)
 */
import { Client, LocalCluster, type Future } from 'shared-futures';

async function main(): Promise<void> {
  // In production the scheduler is a long-running process; here it is in-process.
  const cluster = await LocalCluster.start({ threads: 2 });

  const producer = await Client.connect(cluster);
  const slow = producer.submit(async (x: number) => {
    await sleep(200);
    return x * 2;
  }, 21);
  const handoff = producer.channel('handoff');
  handoff.append(slow);
  await handoff.flush();
  console.log(`producer ${producer.id} appended ${slow.key} and leaves`);
  await producer.close();

  const consumer = await Client.connect(cluster);
  for await (const item of consumer.channel('handoff')) {
    const future = item as Future;
    console.log(`consumer ${consumer.id} got ${String(future)}`);
    console.log(`result: ${String(await future.result())}`);
    break;
  }
  await consumer.close();
  await cluster.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
