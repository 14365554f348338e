/** Starts `shared-futures` scheduler and worker processes for tests, and stops them all. */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

export const CLI = path.resolve(__dirname, '../../../dist/cli.js');

export interface Started {
  proc: ChildProcess;
  output: () => string;
}

const started = new Set<ChildProcess>();

/** Spawns `node dist/cli.js ...args` and resolves once a line of its output matches `ready`. */
export function startCli(args: string[], ready: RegExp, env: NodeJS.ProcessEnv = {}): Promise<Started & { match: RegExpMatchArray }> {
  const proc = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  started.add(proc);
  proc.on('exit', () => started.delete(proc));
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`'${args.join(' ')}' did not print ${String(ready)} in time; output:\n${out}`)), 20_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = out.match(ready);
      if (m) {
        clearTimeout(timer);
        resolve({ proc, match: m, output: () => out });
      }
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', onData);
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`'${args.join(' ')}' exited with ${code} before it was ready; output:\n${out}`));
    });
  });
}

/** A scheduler process on loopback with a token; resolves with its address. */
export async function startScheduler(token: string, extra: string[] = []): Promise<Started & { address: string }> {
  const s = await startCli(['scheduler', '--port', '0', '--threads', '0', '--token', token, ...extra], /scheduler at (wss?:\/\/\S+)/);
  return { ...s, address: s.match[1] };
}

export async function startWorker(address: string, token: string, threads = 1): Promise<Started> {
  const w = await startCli(['worker', address, '--threads', String(threads), '--token', token], /Shared Futures worker (\S+)/);
  return w;
}

/** Kills every process started here. */
export async function stopAll(): Promise<void> {
  await Promise.all(
    [...started].map(
      (p) =>
        new Promise<void>((resolve) => {
          if (p.exitCode !== null || p.signalCode !== null) return resolve();
          p.once('exit', () => resolve());
          p.kill('SIGKILL');
        }),
    ),
  );
}
