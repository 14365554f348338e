/**
 * The `shared-futures` command: a standalone scheduler, a worker for it, or a notebook run headless.
 *
 *   shared-futures scheduler [--host 127.0.0.1] [--port 8786] [--threads N] [--token T] [--cert F --key F]
 *   shared-futures worker ws://host:8786 [--threads N] [--token T] [--name NAME]
 *   shared-futures run notebook.sfnb [--scheduler ws://…] [--token T] [--out F] [--timeout S]
 *   shared-futures kernel install|uninstall|start …   (the Jupyter kernel, see kernel/jupyter/command.ts)
 */
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { LocalCluster } from '../scheduler/server/local-cluster';
import { WorkerProcess } from '../scheduler/worker/remote/worker-process';
import { SharedFuturesError } from '../scheduler/protocol/errors';

const USAGE = `usage:
  shared-futures scheduler [--host 127.0.0.1] [--port 8786] [--threads N] [--token T] [--cert FILE --key FILE]
  shared-futures worker ws://HOST:PORT [--threads N] [--token T] [--name NAME]
  shared-futures run NOTEBOOK.sfnb [--scheduler ws://HOST:PORT] [--token T] [--out FILE] [--timeout SECONDS]
  shared-futures kernel install [--user | --sys-prefix | --prefix DIR] [--name NAME] [--scheduler ws://HOST:PORT]
  shared-futures kernel uninstall [--user | --sys-prefix | --prefix DIR] [--name NAME]

The token may also come from the environment variable SHARED_FUTURES_TOKEN.`;

export interface CliIo {
  out(line: string): void;
  err(line: string): void;
}

const processIo: CliIo = {
  out: (l) => process.stdout.write(`${l}\n`),
  err: (l) => process.stderr.write(`${l}\n`),
};

class UsageError extends Error {}

function intOption(value: string | undefined, name: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be an integer from ${min} to ${max}, got '${value}'`);
  return n;
}

/** Starts a scheduler; resolves with a function that stops it. */
export async function schedulerCommand(argv: string[], io: CliIo = processIo): Promise<() => Promise<void>> {
  const { values } = parseArgs({
    args: argv,
    options: {
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '8786' },
      threads: { type: 'string' },
      token: { type: 'string' },
      cert: { type: 'string' },
      key: { type: 'string' },
    },
    strict: true,
  });
  const threads = intOption(values.threads, 'threads', 0, 1024) ?? Math.max(1, availableParallelism());
  const port = intOption(values.port, 'port', 0, 65535) as number;
  const token = values.token ?? process.env.SHARED_FUTURES_TOKEN;
  const cluster = await LocalCluster.start({ threads, listen: { host: values.host, port, token, cert: values.cert, key: values.key } });
  cluster.server.log = (level, message) => (level === 'warn' ? io.err : io.out)(`[scheduler] ${message}`);
  io.out(`Shared Futures scheduler at ${cluster.address} (${threads > 0 ? `${threads} local threads` : 'no local threads'})`);
  if (token === undefined) {
    // Shown once, like Jupyter's, so the user can pass it on; a token the user chose is never printed.
    io.out(`Connect with the token printed here (it was generated):`);
    io.out(`    ${cluster.address}/?token=${cluster.token}`);
  }
  return () => cluster.close();
}

/** Starts a worker; resolves with the node (its `closed` says when the scheduler went away). */
export function workerCommand(argv: string[], io: CliIo = processIo): WorkerProcess {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { threads: { type: 'string' }, token: { type: 'string' }, name: { type: 'string' } },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length !== 1) throw new UsageError('worker needs the scheduler address, e.g. shared-futures worker ws://127.0.0.1:8786');
  const url = new URL(positionals[0]);
  const token = values.token ?? url.searchParams.get('token') ?? process.env.SHARED_FUTURES_TOKEN;
  url.search = '';
  const threads = intOption(values.threads, 'threads', 1, 1024) ?? Math.max(1, availableParallelism());
  const node = WorkerProcess.start(url.toString().replace(/\/$/, ''), { threads, token, name: values.name, log: (level, m) => (level === 'warn' ? io.err : io.out)(`[worker] ${m}`) });
  io.out(`Shared Futures worker ${node.id} with ${threads} threads, serving ${url.host}`);
  return node;
}

export async function main(argv: string[], io: CliIo = processIo): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'scheduler': {
        const stop = await schedulerCommand(rest, io);
        await waitForSignal();
        await stop();
        return 0;
      }
      case 'worker': {
        const node = workerCommand(rest, io);
        const reason = await Promise.race([node.closed, waitForSignal().then(() => 'signal' as const)]);
        await node.close();
        if (reason === 'signal') return 0;
        io.err(`[worker] the scheduler connection ended${reason ? `: ${reason.message}` : ''}`);
        return reason ? 1 : 0;
      }
      case 'run': {
        // The notebook runner lives with the kernel; loaded only for this command.
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { main: runNotebook } = require('../kernel/run-command') as { main(argv: readonly string[]): Promise<number> };
        return await runNotebook(rest);
      }
      case 'kernel': {
        // The Jupyter kernel lives with the notebook kernel; loaded only for this command.
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { kernelCommand } = require('../kernel/jupyter/command') as typeof import('../kernel/jupyter/command');
        return await kernelCommand(rest, io);
      }
      case '--version':
      case '-v':
        io.out('shared-futures 0.1.0');
        return 0;
      case undefined:
      case '--help':
      case '-h':
      case 'help':
        io.out(USAGE);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command '${command}'`);
    }
  } catch (err) {
    if (err instanceof UsageError || (err instanceof TypeError && (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS'))) {
      io.err(`shared-futures: ${err.message}\n${USAGE}`);
      return 2;
    }
    if (err instanceof SharedFuturesError) {
      io.err(`shared-futures: ${err.message}`);
      return 1;
    }
    throw err;
  }
}

function waitForSignal(): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    process.on('SIGINT', done);
    process.on('SIGTERM', done);
  });
}
