/**
 * `shared-futures kernel …`: install or remove the Jupyter kernelspec, and `kernel start`, the process
 * Jupyter runs with a connection file.
 *
 *   shared-futures kernel install [--user | --sys-prefix | --prefix DIR] [--name NAME] [--scheduler ws://HOST:PORT]
 *   shared-futures kernel uninstall [--user | --sys-prefix | --prefix DIR] [--name NAME]
 *   shared-futures kernel start CONNECTION_FILE [--scheduler ws://HOST:PORT]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { Kernel, type KernelConnect } from '../kernel';
import { ConnectionFileError, readConnectionFile } from './connection';
import { EngineIntrospection } from './engine-introspection';
import type { CellIntrospection } from './introspection';
import { DEFAULT_KERNEL_NAME, installKernelspec, KernelspecError, uninstallKernelspec, type SpecLocation } from './kernelspec';
import { JupyterServer } from './server';
import { resolveScheduler, UserSchedulerError } from './user-scheduler';

export const KERNEL_USAGE = `usage:
  shared-futures kernel install [--user | --sys-prefix | --prefix DIR] [--name NAME] [--scheduler ws://HOST:PORT]
  shared-futures kernel uninstall [--user | --sys-prefix | --prefix DIR] [--name NAME]
  shared-futures kernel start CONNECTION_FILE [--scheduler ws://HOST:PORT]   (what Jupyter runs)

install writes the kernelspec "TypeScript (Shared Futures)" for Jupyter (default --user). Its kernels join
a per-user local scheduler, started when none runs, so notebooks share channels; --scheduler (or
SHARED_FUTURES_SCHEDULER and SHARED_FUTURES_TOKEN in the kernel's environment) points them at a standalone one.`;

/** Where the command writes. */
export interface KernelCommandIo {
  out(line: string): void;
  err(line: string): void;
}

/** How `kernel start` gets completions and inspection (the language engine by default). */
export type IntrospectionFactory = () => CellIntrospection;

class KernelUsageError extends Error {}

function location(values: { user?: boolean; 'sys-prefix'?: boolean; prefix?: string }): SpecLocation {
  const chosen = [values.user && 'user', values['sys-prefix'] && 'sys-prefix', values.prefix !== undefined && 'prefix'].filter(Boolean);
  if (chosen.length > 1) throw new KernelUsageError(`choose one of --user, --sys-prefix and --prefix, not ${chosen.map((c) => `--${c}`).join(' and ')}`);
  if (values.prefix !== undefined) return { kind: 'prefix', dir: values.prefix };
  return values['sys-prefix'] ? { kind: 'sys-prefix' } : { kind: 'user' };
}

/** Runs `kernel …`; resolves to an exit code (`start` resolves only when the kernel shuts down). */
export async function kernelCommand(
  argv: string[],
  io: KernelCommandIo,
  introspection: IntrospectionFactory = () => new EngineIntrospection({ notebookDir: process.cwd(), log: (line) => io.err(`[shared-futures kernel] ${line}`) }),
): Promise<number> {
  const [sub, ...rest] = argv;
  // The real file: run through a bin symlink (node_modules/.bin, a global install), argv[1] is the link,
  // and the logos are found beside the package's dist/, not beside the link.
  const cliPath = fs.realpathSync(path.resolve(process.argv[1] ?? path.join(__dirname, 'cli.js')));
  try {
    switch (sub) {
      case 'install': {
        const { values } = parseArgs({
          args: rest,
          options: { user: { type: 'boolean' }, 'sys-prefix': { type: 'boolean' }, prefix: { type: 'string' }, name: { type: 'string' }, scheduler: { type: 'string' } },
          strict: true,
        });
        const dir = installKernelspec({
          location: location(values),
          name: values.name,
          scheduler: values.scheduler,
          cliPath,
          logoDir: path.join(path.dirname(cliPath), '..', 'media', 'jupyter'),
        });
        io.out(`Installed the kernelspec "${values.name ?? DEFAULT_KERNEL_NAME}" in ${dir}`);
        io.out(values.scheduler ? `Its kernels join the scheduler at ${values.scheduler}.` : 'Its kernels share a per-user local scheduler, started on first use.');
        return 0;
      }
      case 'uninstall': {
        const { values } = parseArgs({
          args: rest,
          options: { user: { type: 'boolean' }, 'sys-prefix': { type: 'boolean' }, prefix: { type: 'string' }, name: { type: 'string' } },
          strict: true,
        });
        const dir = uninstallKernelspec(location(values), values.name ?? DEFAULT_KERNEL_NAME);
        if (!dir) {
          io.err(`shared-futures kernel: no kernelspec "${values.name ?? DEFAULT_KERNEL_NAME}" is installed there (try --user, --sys-prefix or --prefix DIR)`);
          return 1;
        }
        io.out(`Removed the kernelspec ${dir}`);
        return 0;
      }
      case 'start': {
        const { values, positionals } = parseArgs({
          args: rest,
          options: { scheduler: { type: 'string' }, f: { type: 'string' } },
          allowPositionals: true,
          strict: true,
        });
        const file = values.f ?? positionals[0];
        if (file === undefined || positionals.length > 1) throw new KernelUsageError('kernel start needs exactly one connection file');
        return await startKernel(file, { scheduler: values.scheduler, cliPath, log: (line) => io.err(`[shared-futures kernel] ${line}`), introspection });
      }
      case undefined:
      case '--help':
      case '-h':
      case 'help':
        io.out(KERNEL_USAGE);
        return sub === undefined ? 2 : 0;
      default:
        throw new KernelUsageError(`unknown kernel command '${sub}'`);
    }
  } catch (err) {
    if (err instanceof KernelUsageError || (err instanceof TypeError && (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS'))) {
      io.err(`shared-futures kernel: ${err.message}\n${KERNEL_USAGE}`);
      return 2;
    }
    if (err instanceof KernelspecError || err instanceof ConnectionFileError) {
      io.err(`shared-futures kernel: ${err.message}`);
      return 1;
    }
    throw err;
  }
}

interface StartOptions {
  scheduler?: string;
  cliPath: string;
  log: (line: string) => void;
  introspection?: IntrospectionFactory;
}

/** Serves one connection file until a shutdown_request (or SIGTERM, or the parent Jupyter's death). */
async function startKernel(connectionFile: string, options: StartOptions): Promise<number> {
  const info = readConnectionFile(connectionFile);
  const { log } = options;
  let description = 'none';
  // Sockets first, so Jupyter's heartbeat and kernel_info see a live kernel at once; requests wait for this.
  const starting = (async () => {
    let connect: KernelConnect | undefined;
    try {
      const target = await resolveScheduler({ scheduler: options.scheduler, cliPath: options.cliPath, log });
      connect = { address: target.address, token: target.token };
      description = `${target.address} (${target.source})`;
    } catch (err) {
      if (!(err instanceof UserSchedulerError)) throw err;
      log(`${err.message}; cells run without a client`);
      description = `none: ${err.message}`;
    }
    let kernel: Kernel;
    try {
      kernel = await Kernel.start({ notebookDir: process.cwd(), connect });
    } catch (err) {
      log(`could not connect to ${description}: ${(err as Error).message}; cells run without a client`);
      description = `none: ${(err as Error).message}`;
      kernel = await Kernel.start({ notebookDir: process.cwd() });
    }
    if (kernel.warning) log(kernel.warning);
    log(`serving ${connectionFile}; client: ${description}`);
    return kernel;
  })();

  return new Promise<number>((resolve) => {
    let server: JupyterServer | undefined;
    const stop = async (why: string) => {
      log(why);
      await server?.close();
      resolve(0);
    };
    // interrupt_mode is "message": a terminal's Ctrl+C reaching the whole process group must not kill us.
    process.on('SIGINT', () => log('SIGINT ignored: interrupt with an interrupt_request'));
    process.once('SIGTERM', () => void stop('SIGTERM: shutting down'));
    const parent = Number(process.env.JPY_PARENT_PID);
    if (Number.isInteger(parent) && parent > 1) {
      setInterval(() => {
        try {
          process.kill(parent, 0);
        } catch {
          void stop(`the Jupyter process ${parent} that started this kernel is gone: shutting down`);
        }
      }, 2000).unref();
    }
    starting.catch((err: unknown) => {
      log(`the kernel could not start: ${(err as Error).message}`);
      resolve(1);
    });
    JupyterServer.start(info, {
      kernel: starting,
      introspection: options.introspection?.(),
      log,
      schedulerDescription: () => description,
      onShutdown: (restart) => {
        log(`shut down${restart ? ' (Jupyter restarts the kernel)' : ''}`);
        resolve(0);
      },
    }).then(
      (started) => (server = started),
      (err: unknown) => {
        log(`cannot serve ${connectionFile}: ${(err as Error).message}`);
        void starting.then((kernel) => kernel.dispose()).finally(() => resolve(1));
      },
    );
  });
}
