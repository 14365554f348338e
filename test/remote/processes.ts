/** Scheduler and worker processes for the remote tests, on top of the wire tests' spawner. */
import { spawnCli, type Proc } from '../wire/spawn';

export { stopAll } from '../wire/spawn';

/** Spawns `node dist/cli.js ...args` and resolves once its output matches `ready`. */
export async function startCli(args: string[], ready: RegExp): Promise<Proc & { match: RegExpMatchArray }> {
  const p = spawnCli(args);
  return { ...p, match: await p.waitFor(ready) };
}

/** A scheduler process on loopback with a token and no local threads; resolves with its address. */
export async function startScheduler(token: string, extra: string[] = []): Promise<Proc & { address: string }> {
  const s = await startCli(['scheduler', '--port', '0', '--threads', '0', '--token', token, ...extra], /scheduler at (wss?:\/\/\S+)/);
  return { ...s, address: s.match[1] };
}

/** A worker process joined to `address`; resolves once it says so. */
export function startWorker(address: string, token: string, threads = 1): Promise<Proc> {
  return startCli(['worker', address, '--threads', String(threads), '--token', token], /Shared Futures worker (\S+)/);
}
