/**
 * The `shared-futures` command: a standalone scheduler, a worker for it, a notebook run headless, or the
 * Jupyter kernel. Each command's options are one table (cli/args.ts) that both parses and writes its
 * --help; every failure is one line on stderr (cli/failures.ts), exit 2 for a usage mistake, 1 at run time.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type CommandInfo, UsageError, usage, wantsHelp } from './args';
import { failureLine } from './failures';
import { processIo, type CliIo } from './io';
import { KERNEL_INSTALL, KERNEL_START, KERNEL_UNINSTALL, KERNEL_USAGE, kernelCommand } from './kernel';
import { RUN, main as runMain } from './run';
import { SCHEDULER, schedulerCommand } from './scheduler';
import { WORKER, workerCommand } from './worker';

export type { CliIo };

const COMMANDS: Record<string, CommandInfo> = { scheduler: SCHEDULER, worker: WORKER, run: RUN };

export const USAGE = [
  'usage: shared-futures COMMAND [options]',
  '',
  ...[SCHEDULER, WORKER, RUN].map((spec) => `  ${spec.name.padEnd(11)}${spec.summary}`),
  `  ${'kernel'.padEnd(11)}Installs, removes or starts the Jupyter kernel.`,
  '',
  'shared-futures COMMAND --help lists its options; shared-futures --version prints the version.',
].join('\n');

/** The package's version, from its package.json (beside dist/ in the package, two folders up in a build/). */
export function version(): string {
  for (let dir = __dirname, i = 0; i < 4; dir = path.dirname(dir), i++) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'shared-futures' && pkg.version) return pkg.version;
    } catch {
      // not here: one folder up
    }
  }
  return 'unknown';
}

export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined) {
    io.err(USAGE);
    return 2;
  }
  if (command === '--help' || command === '-h' || command === 'help') {
    io.out(USAGE);
    return 0;
  }
  if (command === '--version' || command === '-v' || command === '-V') {
    io.out(`shared-futures ${version()}`);
    return 0;
  }
  if (Object.hasOwn(COMMANDS, command) && wantsHelp(rest)) {
    io.out(usage(COMMANDS[command]));
    return 0;
  }
  try {
    switch (command) {
      case 'scheduler': {
        const stop = await schedulerCommand(rest, io);
        await waitForSignal();
        await stop();
        return 0;
      }
      case 'worker': {
        const node = await workerCommand(rest, io);
        const reason = await Promise.race([node.closed, waitForSignal().then(() => 'signal' as const)]);
        await node.close();
        if (reason === 'signal') return 0;
        io.err(`shared-futures worker: the scheduler connection ended${reason ? `: ${reason.message}` : ''}`);
        return reason ? 1 : 0;
      }
      case 'run':
        return await runMain(rest, { stdout: (t) => process.stdout.write(t), stderr: (t) => process.stderr.write(t) });
      case 'kernel':
        return await kernelCommand(rest, io);
      default:
        throw new UsageError(
          command.startsWith('-') ? `unknown option ${command}: options go after the command, e.g. shared-futures scheduler --port 8786` : `unknown command '${command}': use scheduler, worker, run or kernel`,
        );
    }
  } catch (err) {
    const known = command === 'kernel' ? { install: KERNEL_INSTALL, uninstall: KERNEL_UNINSTALL, start: KERNEL_START }[rest[0] ?? ''] : COMMANDS[command];
    const { line, exitCode } = failureLine(known ? known.name : command === 'kernel' ? 'kernel' : undefined, err);
    io.err(line);
    return exitCode;
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

export { KERNEL_USAGE };
