/**
 * The other short-lived part: prints the status of the tracking keys it is interested in, one JSON line
 * each, from what the service appended to channel `output`. With --wait it waits for each to finish.
 *
 *   node status.js ws://host:port [--wait] key...
 */
import { Future } from 'shared-futures';
import type { Refusal } from './allowlist';
import { connect, whenReady, exitOnFailure } from './connect';

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const wait = args.includes('--wait');
  const [address, ...keys] = args.filter((a) => a !== '--wait');
  const client = await connect(address);
  const output = client.channel('output');
  await whenReady(output);
  const items = output.data;
  for (const key of keys) {
    const future = items.find((x): x is Future => x instanceof Future && x.key === key);
    const refusal = items.find((x) => typeof x === 'object' && x !== null && (x as Refusal).error === 'FunctionNotAllowed' && (x as Refusal).keys.includes(key)) as Refusal | undefined;
    if (future) {
      if (wait) await future.exception().catch(() => undefined);
      const line: Record<string, unknown> = { key, status: future.status };
      if (future.status === 'finished') line.result = await future.result();
      if (future.status === 'error') line.error = ((await future.exception()) as Error).message;
      console.log(JSON.stringify(line));
    } else if (refusal) {
      console.log(JSON.stringify({ key, status: 'refused', error: refusal.message }));
    } else {
      console.log(JSON.stringify({ key, status: 'unknown' }));
    }
  }
  await client.close();
}

main().catch(exitOnFailure);
