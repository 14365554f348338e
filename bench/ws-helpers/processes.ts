/**
 * Processes of the WebSocket benchmarks: a `shared-futures` scheduler, its workers and peer clients
 * (ws-helpers/peer.js), each its own Node process; all stopped by `stopAll`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';

const CLI = path.resolve(__dirname, '../../../dist/cli.js');
const PEER = path.resolve(__dirname, 'peer.js');

export const TOKEN = `bench-${randomUUID()}`;

export interface Proc {
  proc: ChildProcess;
  /** Resolves with the first match of `re` in its stdout/stderr. */
  waitFor(re: RegExp, ms?: number): Promise<RegExpMatchArray>;
  output(): string;
}

const started = new Set<ChildProcess>();

function start(args: string[], extraNodeArgs: string[] = []): Proc {
  const proc = spawn(process.execPath, [...extraNodeArgs, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SF_TOKEN: TOKEN } });
  started.add(proc);
  let out = '';
  const watchers = new Set<() => void>();
  const onData = (d: Buffer) => {
    out += d.toString();
    for (const w of watchers) w();
  };
  proc.stdout?.on('data', onData);
  proc.stderr?.on('data', onData);
  proc.on('exit', () => {
    started.delete(proc);
    for (const w of watchers) w();
  });
  return {
    proc,
    output: () => out,
    waitFor: (re, ms = 120_000) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => finish(new Error(`no ${String(re)} within ${ms} ms from '${args.join(' ')}':\n${out}`)), ms);
        const check = () => {
          const m = out.match(re);
          if (m) finish(undefined, m);
          else if (proc.exitCode !== null || proc.signalCode !== null) finish(new Error(`'${args.join(' ')}' exited before ${String(re)}:\n${out}`));
        };
        const finish = (err?: Error, m?: RegExpMatchArray) => {
          clearTimeout(timer);
          watchers.delete(check);
          if (err) reject(err);
          else resolve(m as RegExpMatchArray);
        };
        watchers.add(check);
        check();
      }),
  };
}

/** Node flags for every spawned process: SF_BENCH_PROFILE=dir writes a CPU profile of each. */
function profileFlags(name: string): string[] {
  const dir = process.env.SF_BENCH_PROFILE;
  return dir ? ['--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-name', `${name}-${process.pid}-${Date.now()}.cpuprofile`] : [];
}

/** A scheduler process on loopback; resolves with its address. */
export async function startScheduler(threads: number): Promise<{ address: string; proc: Proc }> {
  const p = start([CLI, 'scheduler', '--port', '0', '--threads', String(threads), '--token', TOKEN], profileFlags('scheduler'));
  const m = await p.waitFor(/scheduler at (ws:\/\/\S+)/);
  return { address: m[1], proc: p };
}

/** A worker process with `threads` threads. */
export async function startWorker(address: string, threads: number): Promise<Proc> {
  const p = start([CLI, 'worker', address, '--threads', String(threads), '--token', TOKEN], profileFlags('worker'));
  await p.waitFor(/Shared Futures worker/);
  return p;
}

/** A peer client process running one role of ws-helpers/peer.ts. */
export function startPeer(role: string, address: string, ...args: (string | number)[]): Proc {
  return start([PEER, role, address, ...args.map(String)], profileFlags(role));
}

/** The JSON a peer prints on its `RESULT ` line. */
export async function peerResult<T>(p: Proc): Promise<T> {
  const m = await p.waitFor(/^RESULT (.*)\n/m, 300_000);
  return JSON.parse(m[1]) as T;
}

/** Monotonic microseconds, comparable across processes of this machine (CLOCK_MONOTONIC). */
export function nowUs(): number {
  return Number(process.hrtime.bigint()) / 1000;
}

/** Stops every process started here. */
export async function stopAll(): Promise<void> {
  await Promise.all(
    [...started].map(
      (p) =>
        new Promise<void>((resolve) => {
          if (p.exitCode !== null || p.signalCode !== null) return resolve();
          const timer = setTimeout(() => p.kill('SIGKILL'), 5000);
          p.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
          // SIGTERM first, so a CPU profile (when asked for) is written.
          p.kill('SIGTERM');
        }),
    ),
  );
}
