/** `shared-futures worker`: runs a scheduler's tasks on this machine's threads. */
import { availableParallelism } from 'node:os';
import type { Client } from '../scheduler/client/client';
import { WorkerProcess } from '../scheduler/worker/remote/worker-process';
import { isLoopback } from '../scheduler/wire/auth';
import { command, parseCommand, UsageError } from './args';
import { reachScheduler, schedulerTarget } from './connect';
import { CliFailure, connectAdvice, oneLine } from './failures';
import type { CliIo } from './io';

export const WORKER = command({
  name: 'worker',
  summary: "Runs a scheduler's tasks on this machine's threads until the scheduler goes away.",
  positionals: [{ name: 'ws://HOST:PORT', help: "the scheduler's address (as it printed it, ?token=… included or not)" }],
  options: {
    threads: { kind: 'int', value: 'N', min: 1, max: 1024, help: 'worker threads (default: the number of CPUs)' },
    token: { kind: 'string', value: 'TOKEN', help: "the scheduler's token (default: the one in the address, else SHARED_FUTURES_TOKEN)" },
    name: { kind: 'string', value: 'NAME', help: 'a name to show in the dashboard' },
    listen: { kind: 'string', value: 'HOST:PORT', help: 'where other workers and clients fetch results from this one (default 127.0.0.1 on a free port; beyond loopback a token is required)' },
  },
});

/** How long the scheduler may take to list a worker whose connection it accepted. */
const JOIN_TIMEOUT_MS = 30_000;

/** Starts a worker and resolves once the scheduler lists it (its `closed` says when the scheduler went away). */
export async function workerCommand(argv: readonly string[], io: CliIo): Promise<WorkerProcess> {
  const { values, positionals } = parseCommand(WORKER, argv);
  const { address, token } = schedulerTarget(positionals[0], values.token);
  const threads = values.threads ?? Math.max(1, availableParallelism());
  const listen = values.listen === undefined ? undefined : parseListen(values.listen);
  if (listen && token === undefined && !isLoopback(listen.host)) {
    throw new UsageError(`a token is required to listen on ${listen.host}, which other machines can reach: pass --token (or SHARED_FUTURES_TOKEN)`);
  }
  // A client first: a scheduler that is down or a wrong token is said in one line, and the client
  // then sees this worker join, so "serving" is printed only once it is true.
  const probe = await reachScheduler(address, token);
  let node: WorkerProcess | undefined;
  try {
    node = await WorkerProcess.start(address, { threads, token, name: values.name, ...(listen ? { listen } : {}), log: (level, m) => (level === 'warn' ? io.err : io.out)(`[worker] ${m}`) });
    await joined(probe, node, address);
  } catch (err) {
    await node?.close();
    throw err;
  } finally {
    await probe.close();
  }
  io.out(`Shared Futures worker ${node.id} with ${threads} threads, serving ${address}`);
  io.out(`Other workers and clients fetch its results at ${node.peerAddress}`);
  return node;
}

/** `--listen HOST:PORT` (`[::1]:PORT` for IPv6; PORT 0 for a free one). */
function parseListen(text: string): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:\s]+):(\d{1,5})$/.exec(text.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) throw new UsageError(`--listen takes HOST:PORT, for example 127.0.0.1:0 (got '${text}')`);
  return { host: m[1].replace(/^\[|\]$/g, ''), port };
}

/** Resolves when the scheduler lists `node`; rejects with advice when its connection ends first. */
async function joined(probe: Client, node: WorkerProcess, address: string): Promise<void> {
  let ended: Error | undefined;
  let closed = false;
  void node.closed.then((reason) => {
    closed = true;
    ended = reason;
  });
  const deadline = Date.now() + JOIN_TIMEOUT_MS;
  for (let wait = 10; ; wait = Math.min(wait * 2, 200)) {
    if (closed) {
      const advice = ended ? (connectAdvice(ended, address) ?? oneLine(ended.message)) : 'the connection closed';
      throw new CliFailure(`the worker could not join ${address}: ${advice}`);
    }
    const info = await probe.schedulerInfo();
    if (info.workers.some((w) => w.id === node.id)) return;
    if (Date.now() > deadline) throw new CliFailure(`${address} did not list this worker within ${JOIN_TIMEOUT_MS / 1000}s: check the scheduler's log`);
    await new Promise((resolve) => setTimeout(resolve, wait));
  }
}
