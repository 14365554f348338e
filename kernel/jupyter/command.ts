/**
 * `shared-futures kernel …`: install or remove the Jupyter kernelspec, and `kernel start`, the process
 * Jupyter runs with a connection file. The command lines are parsed by the CLI (cli/kernel.ts); these
 * functions do the work and resolve to an exit code.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Kernel, type KernelConnect } from '../kernel';
import { ConnectionFileError, readConnectionFile } from './connection';
import { EngineIntrospection } from './engine-introspection';
import type { CellIntrospection } from './introspection';
import { DEFAULT_KERNEL_NAME, installKernelspec, KernelspecError, uninstallKernelspec, type SpecLocation } from './kernelspec';
import { JupyterServer } from './server';
import { resolveScheduler, UserSchedulerError } from './user-scheduler';

export type { SpecLocation };

/** Where the command writes. */
export interface KernelCommandIo {
  out(line: string): void;
  err(line: string): void;
}

/** How `kernel start` gets completions and inspection (the language engine by default). */
export type IntrospectionFactory = () => CellIntrospection;

/**
 * The real CLI script: run through a bin symlink (node_modules/.bin, a global install), argv[1] is the
 * link, and the logos are found beside the package's dist/, not beside the link.
 */
function cliScript(): string {
  return fs.realpathSync(path.resolve(process.argv[1] ?? path.join(__dirname, 'cli.js')));
}

/** `kernel install`: writes the kernelspec. */
export function installCommand(options: { location: SpecLocation; name?: string; scheduler?: string }, io: KernelCommandIo): number {
  const cliPath = cliScript();
  try {
    const dir = installKernelspec({
      location: options.location,
      name: options.name,
      scheduler: options.scheduler,
      cliPath,
      logoDir: path.join(path.dirname(cliPath), '..', 'media', 'jupyter'),
    });
    io.out(`Installed the kernelspec "${options.name ?? DEFAULT_KERNEL_NAME}" in ${dir}`);
    io.out(options.scheduler ? `Its kernels join the scheduler at ${options.scheduler}.` : 'Its kernels share a per-user local scheduler, started on first use.');
    return 0;
  } catch (err) {
    if (err instanceof KernelspecError) {
      io.err(`shared-futures kernel install: ${err.message}`);
      return 1;
    }
    throw err;
  }
}

/** `kernel uninstall`: removes the kernelspec. */
export function uninstallCommand(options: { location: SpecLocation; name?: string }, io: KernelCommandIo): number {
  const name = options.name ?? DEFAULT_KERNEL_NAME;
  try {
    const dir = uninstallKernelspec(options.location, name);
    if (!dir) {
      io.err(`shared-futures kernel uninstall: no kernelspec "${name}" is installed there (try --user, --sys-prefix or --prefix DIR)`);
      return 1;
    }
    io.out(`Removed the kernelspec ${dir}`);
    return 0;
  } catch (err) {
    if (err instanceof KernelspecError) {
      io.err(`shared-futures kernel uninstall: ${err.message}`);
      return 1;
    }
    throw err;
  }
}

/** `kernel start`: serves a connection file; resolves only when the kernel shuts down. */
export async function startCommand(
  connectionFile: string,
  options: { scheduler?: string },
  io: KernelCommandIo,
  introspection: IntrospectionFactory = () => new EngineIntrospection({ notebookDir: process.cwd(), log: (line) => io.err(`[shared-futures kernel] ${line}`) }),
): Promise<number> {
  try {
    return await startKernel(connectionFile, { scheduler: options.scheduler, cliPath: cliScript(), log: (line) => io.err(`[shared-futures kernel] ${line}`), introspection });
  } catch (err) {
    if (err instanceof ConnectionFileError) {
      io.err(`shared-futures kernel start: ${err.message}`);
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
