/**
 * Processes of the WebSocket benchmarks: a `shared-futures` scheduler, its workers and peer clients
 * (ws-helpers/peer.js), each its own Node process; all stopped by `stopAll`.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import * as processes from '../../test/support/processes';
import type { Proc } from '../../test/support/processes';

export type { Proc } from '../../test/support/processes';

const PEER = path.resolve(__dirname, 'peer.js');

export const TOKEN = `bench-${randomUUID()}`;

/** What every process gets: the token in its environment, profiling flags when asked for. */
function options(name: string) {
  return { env: { ...process.env, SF_TOKEN: TOKEN }, nodeArgs: profileFlags(name) };
}

/** Node flags for every spawned process: SF_BENCH_PROFILE=dir writes a CPU profile of each. */
function profileFlags(name: string): string[] {
  const dir = process.env.SF_BENCH_PROFILE;
  return dir ? ['--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-name', `${name}-${process.pid}-${Date.now()}.cpuprofile`] : [];
}

/** A scheduler process on loopback; resolves with its address. */
export async function startScheduler(threads: number): Promise<{ address: string; proc: Proc }> {
  const p = await processes.startScheduler(['--port', '0', '--threads', String(threads), '--token', TOKEN], options('scheduler'));
  return { address: p.address, proc: p };
}

/** A worker process with `threads` threads. */
export function startWorker(address: string, threads: number): Promise<Proc> {
  return processes.startWorker(address, ['--threads', String(threads), '--token', TOKEN], options('worker'));
}

/** A peer client process running one role of ws-helpers/peer.ts. */
export function startPeer(role: string, address: string, ...args: (string | number)[]): Proc {
  return processes.spawnNode(PEER, [role, address, ...args.map(String)], options(role));
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

/** Stops every process started here: SIGTERM first, so a CPU profile (when asked for) is written. */
export function stopAll(): Promise<void> {
  return processes.terminateAll(5000);
}

/** CPU time (user + system, every thread, ms) of process `pid`, or of this process when `pid` is absent (see processCpuMs). */
export function cpuMs(pid?: number): number {
  if (pid !== undefined) return processes.processCpuMs(pid);
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** CPU time (ms) of the main thread alone of process `pid` (this process by default; see processCpuMs). */
export function mainThreadCpuMs(pid = process.pid): number {
  return processes.processCpuMs(pid, true);
}
