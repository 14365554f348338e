/**
 * The one spawner of the tests and benchmarks: starts `dist/cli.js` subcommands, Node scripts or any
 * command, collects what they print (stderr apart too, for failure messages), waits for the line a process
 * prints when it is ready, and kills whole process trees: each process leads its own process group, so a
 * kill reaches what it started (a kernel's worker, a Python script's kernels) too.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The repository (this file runs from build/test/support). */
export const ROOT = path.resolve(__dirname, '..', '..', '..');
/** The built command line, `shared-futures`. */
export const CLI = path.join(ROOT, 'dist', 'cli.js');

export interface Proc {
  proc: ChildProcess;
  /** Everything it printed so far, stdout and stderr interleaved. */
  output(): string;
  /** What it printed on stdout so far. */
  stdout(): string;
  /** What it printed on stderr so far. */
  stderr(): string;
  /** Resolves with the first match of `re` in its output; rejects, with the output, when it exits first or after `ms`. */
  waitFor(re: RegExp, ms?: number): Promise<RegExpMatchArray>;
  /** Resolves with its exit code (or the signal's name) once it has ended. */
  exited: Promise<number | string>;
  /**
   * Resolves with its exit code once it has ended by itself and its output is complete (its stdout and stderr
   * closed); after `ms` kills its process tree and rejects, with the output.
   */
  finished(ms: number): Promise<number | string>;
  /** Kills its process tree (SIGKILL unless told) and resolves once it has ended. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export interface ProcOptions extends Omit<SpawnOptions, 'stdio' | 'detached'> {
  /** What to call it in failure messages (default: the command line). */
  name?: string;
  /**
   * Runs it at this nice value (0-19: higher is a lower CPU priority) instead of this process's. On Linux the
   * CPU scheduler shares the machine between sessions first (autogroups) and between a session's processes
   * after that; the process leads a session of its own, so both its nice value and its session's are set.
   */
  nice?: number;
}

const running = new Set<Proc>();

/** Sends `signal` to the process group of `proc` (the process and everything it started). */
function killTree(proc: ChildProcess, signal: NodeJS.Signals): void {
  if (proc.pid === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
  try {
    process.kill(-proc.pid, signal);
  } catch {
    proc.kill(signal);
  }
}

// A test run that ends (or fails) with processes still running takes them along. Being group leaders, they
// do not get the terminal's Ctrl-C or a signal to this process's group: pass those on, then end as the
// signal would have (the handler runs once, so raising it again does what it does by default).
const killRunning = () => {
  for (const p of running) killTree(p.proc, 'SIGKILL');
};
process.once('exit', killRunning);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    killRunning();
    process.kill(process.pid, signal);
  });
}

/** Spawns `command args` as the leader of a new session and process group; its output is collected and can be waited on. */
export function spawnProc(command: string, args: string[], options: ProcOptions = {}): Proc {
  const { name = [command, ...args].join(' '), nice, ...spawnOptions } = options;
  const proc = spawn(command, args, { ...spawnOptions, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  if (nice !== undefined && proc.pid !== undefined) lowerPriority(proc.pid, nice);
  let out = '';
  let std = '';
  let err = '';
  const watchers = new Set<() => void>();
  const wake = () => {
    for (const w of [...watchers]) w();
  };
  proc.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
    std += d.toString();
    wake();
  });
  proc.stderr?.on('data', (d: Buffer) => {
    out += d.toString();
    err += d.toString();
    wake();
  });
  // Ended, and everything it printed read: 'close' comes after 'exit' and the last output.
  let closed = false;
  const exited = new Promise<number | string>((resolve) => {
    proc.on('exit', (code, signal) => {
      running.delete(self);
      resolve(code ?? signal ?? -1);
    });
    proc.on('error', (e) => {
      out += `\nspawn error: ${e.message}`;
      err += `\nspawn error: ${e.message}`;
      running.delete(self);
      resolve(-1);
      closed = true;
      wake();
    });
  });
  const complete = new Promise<number | string>((resolve) => {
    proc.on('close', (code, signal) => {
      closed = true;
      resolve(code ?? signal ?? -1);
      wake();
    });
    proc.on('error', () => resolve(-1));
  });
  const waitFor = (re: RegExp, ms = 30_000) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const timer = setTimeout(() => finish(new Error(`'${name}' did not print ${String(re)} within ${ms} ms; its output:\n${out}`)), ms);
      const check = () => {
        const m = out.match(re);
        if (m) finish(undefined, m);
        else if (closed) finish(new Error(`'${name}' exited (${String(proc.exitCode ?? proc.signalCode)}) before printing ${String(re)}; its output:\n${out}`));
      };
      const finish = (e?: Error, m?: RegExpMatchArray) => {
        clearTimeout(timer);
        watchers.delete(check);
        if (e) reject(e);
        else resolve(m as RegExpMatchArray);
      };
      watchers.add(check);
      check();
    });
  const stop = async (signal: NodeJS.Signals = 'SIGKILL') => {
    killTree(proc, signal);
    await exited;
  };
  const finished = async (ms: number) => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), ms)));
    const code = await Promise.race([complete, late]);
    clearTimeout(timer);
    if (code !== 'late') return code;
    await stop();
    throw new Error(`'${name}' did not finish within ${ms} ms; its output:\n${out}`);
  };
  const self: Proc = { proc, output: () => out, stdout: () => std, stderr: () => err, waitFor, exited, finished, stop };
  running.add(self);
  return self;
}

/**
 * Sets process `pid`'s nice value and its session's (its autogroup, which it leads). A kernel without
 * autogroups has no file for the second, and a process that has already ended has neither; a nice value
 * this user may not set is an error.
 */
function lowerPriority(pid: number, nice: number): void {
  try {
    os.setPriority(pid, nice);
    fs.writeFileSync(`/proc/${pid}/autogroup`, String(nice));
  } catch (err) {
    // os.setPriority's errors carry the errno's name in `info`, fs's in `code`.
    const e = err as NodeJS.ErrnoException & { info?: { code?: string } };
    const code = e.info?.code ?? e.code;
    if (code !== 'ENOENT' && code !== 'ESRCH') throw err;
  }
}

/** Spawns `node script ...args` (with `nodeArgs` before the script, e.g. profiling flags). */
export function spawnNode(script: string, args: string[] = [], options: ProcOptions & { nodeArgs?: string[] } = {}): Proc {
  const { nodeArgs = [], ...rest } = options;
  return spawnProc(process.execPath, [...nodeArgs, script, ...args], { name: [path.basename(script), ...args].join(' '), ...rest });
}

/** Spawns `node dist/cli.js ...args`. */
export function spawnCli(args: string[], options: ProcOptions & { nodeArgs?: string[] } = {}): Proc {
  return spawnNode(CLI, args, { name: `shared-futures ${args.join(' ')}`, ...options });
}

/** Spawns `node dist/cli.js ...args` and resolves once its output matches `ready`, with the match. */
export async function startCli(args: string[], ready: RegExp, options: ProcOptions & { nodeArgs?: string[] } = {}): Promise<Proc & { match: RegExpMatchArray }> {
  const p = spawnCli(args, options);
  return Object.assign(p, { match: await p.waitFor(ready) });
}

/** A scheduler process (`shared-futures scheduler ...args`); resolves once it prints its address. */
export async function startScheduler(args: string[], options: ProcOptions & { nodeArgs?: string[] } = {}): Promise<Proc & { address: string }> {
  const p = await startCli(['scheduler', ...args], /scheduler at (wss?:\/\/\S+)/, options);
  return Object.assign(p, { address: p.match[1] });
}

/** A worker process (`shared-futures worker address ...args`); resolves once it says it joined. */
export async function startWorker(address: string, args: string[], options: ProcOptions & { nodeArgs?: string[] } = {}): Promise<Proc> {
  return startCli(['worker', address, ...args], /Shared Futures worker (\S+)/, options);
}

/** Kills every process started here and still running (their whole trees), and waits for them to end. */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((p) => p.stop()));
}

/** Like stopAll, SIGTERM first (so a CPU profile, when asked for, is written) and SIGKILL after `graceMs`. */
export async function terminateAll(graceMs = 5000): Promise<void> {
  await Promise.all(
    [...running].map(async (p) => {
      const timer = setTimeout(() => killTree(p.proc, 'SIGKILL'), graceMs);
      await p.stop('SIGTERM');
      clearTimeout(timer);
    }),
  );
}

/**
 * CPU time (user + system) process `pid` used so far, in milliseconds, from /proc (Linux; NaN elsewhere):
 * every thread's, or with `mainThread` its main thread's alone (a Node process's figure also counts V8's
 * helper threads and, in a worker, its pool threads). With other work on the machine, CPU per unit of work
 * is the figure that does not depend on how much of the machine a run got.
 */
export function processCpuMs(pid: number | undefined, mainThread = false): number {
  try {
    const stat = fs.readFileSync(mainThread ? `/proc/${pid}/task/${pid}/stat` : `/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces, in parentheses): utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return NaN;
  }
}

/** Clock ticks per second of /proc times (USER_HZ: 100 on Linux). */
const CLOCK_TICKS = 100;
