/**
 * The seed's pipeline: two `emit` tasks append futures of Math.random() to channels `left` and `right`;
 * a `combine` task zips both channels and appends the sums to `sums`. All three are long-lived tasks that
 * await, on a 2-thread pool, together with the small tasks they submit. The main script prints the sums
 * and stops the channels after N items.
 *
 * Run: npm start   (or: node build/examples/pipeline.js [N])
 */
import { Client, type Future } from 'shared-futures';

async function emit(name: string): Promise<number> {
  const client = localClient();
  const chan = client.channel(name, { maxlen: 100 });
  let appended = 0;
  // Runs until someone stops the channel.
  while (!chan.stopped) {
    const f = client.submit({ fn: () => Math.random(), pure: false });
    try {
      chan.append(f);
      appended++;
    } catch {
      break; // stopped between the check and the append
    }
    f.release(); // the channel keeps it alive now
    await sleep(5);
  }
  return appended;
}

async function combine(): Promise<number> {
  const client = localClient();
  const sums = client.channel('sums', { maxlen: 100 });
  let n = 0;
  for await (const pair of zip(client.channel('left'), client.channel('right'))) {
    const [a, b] = pair as [Future<number>, Future<number>];
    const sum = client.submit((x: number, y: number) => x + y, a, b);
    sums.append(sum);
    sum.release();
    n++;
  }
  await sums.stop();
  return n;
}

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 10);
  const client = await Client.connect(undefined, { threads: 2 });
  const sums = client.channel('sums', { maxlen: 100 });
  const jobs = [client.submit({ fn: emit, args: ['left'], pure: false }), client.submit({ fn: emit, args: ['right'], pure: false }), client.submit({ fn: combine, pure: false })];
  let seen = 0;
  for await (const item of sums) {
    const sum = (await (item as Future).result()) as number;
    seen++;
    console.log(`sum ${seen}: ${sum.toFixed(4)}`);
    if (seen === n) {
      await client.channel('left').stop();
      await client.channel('right').stop();
    }
  }
  const [left, right, combined] = (await client.gather(jobs)) as number[];
  console.log(`emitted ${left} + ${right}, combined ${combined}; stopped after ${n} sums`);
  await client.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
