/** Spawns `shared-futures` CLI processes (and helper scripts) for the wire tests, and stops every one. */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import path from 'node:path';

export const CLI = path.resolve(__dirname, '../../../dist/cli.js');

export interface Proc {
  proc: ChildProcess;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  /** Resolves with the first match of `re` in its output; rejects when it exits first or after `ms`. */
  waitFor(re: RegExp, ms?: number): Promise<RegExpMatchArray>;
  /** Resolves with its exit code (or the signal's name). */
  exited: Promise<number | string>;
}

const started = new Set<ChildProcess>();

/** Spawns `command args`; its output is collected and can be waited on. */
export function spawnProc(command: string, args: string[], opts: SpawnOptions = {}): Proc {
  const proc = spawn(command, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
  started.add(proc);
  let out = '';
  const watchers: (() => void)[] = [];
  const onData = (d: Buffer) => {
    out += d.toString();
    for (const w of [...watchers]) w();
  };
  proc.stdout?.on('data', onData);
  proc.stderr?.on('data', onData);
  const exited = new Promise<number | string>((resolve) => {
    proc.on('exit', (code, signal) => {
      started.delete(proc);
      resolve(code ?? signal ?? -1);
      for (const w of [...watchers]) w();
    });
    proc.on('error', (err) => {
      out += `\nspawn error: ${err.message}`;
      started.delete(proc);
      resolve(-1);
      for (const w of [...watchers]) w();
    });
  });
  const waitFor = (re: RegExp, ms = 20_000) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const timer = setTimeout(() => {
        done();
        reject(new Error(`'${[command, ...args].join(' ')}' did not print ${String(re)} within ${ms} ms; output:\n${out}`));
      }, ms);
      const check = () => {
        const m = out.match(re);
        if (m) {
          done();
          resolve(m);
        } else if (proc.exitCode !== null || proc.signalCode !== null) {
          done();
          reject(new Error(`'${[command, ...args].join(' ')}' exited (${String(proc.exitCode ?? proc.signalCode)}) before printing ${String(re)}; output:\n${out}`));
        }
      };
      const done = () => {
        clearTimeout(timer);
        const i = watchers.indexOf(check);
        if (i >= 0) watchers.splice(i, 1);
      };
      watchers.push(check);
      check();
    });
  return { proc, output: () => out, waitFor, exited };
}

/** Spawns `node dist/cli.js ...args`. */
export function spawnCli(args: string[], opts: SpawnOptions = {}): Proc {
  return spawnProc(process.execPath, [CLI, ...args], opts);
}

/** A scheduler process; resolves once it prints its address. */
export async function startScheduler(args: string[], opts: SpawnOptions = {}): Promise<Proc & { address: string }> {
  const p = spawnCli(['scheduler', ...args], opts);
  const m = await p.waitFor(/scheduler at (wss?:\/\/\S+)/);
  return { ...p, address: m[1] };
}

/** Kills every process started here (SIGKILL) and waits for them to go. */
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
