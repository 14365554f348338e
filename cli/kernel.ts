/** `shared-futures kernel install|uninstall|start`: the command lines of the Jupyter kernel (the work is kernel/jupyter/command.ts). */
import { command, parseCommand, type CommandInfo, type OptionValues, UsageError, usage, wantsHelp } from './args';
import { schedulerTarget } from './connect';
import type { CliIo } from './io';

const location = {
  user: { kind: 'flag', help: "install for this user (the default): Jupyter's user data folder" },
  'sys-prefix': { kind: 'flag', help: "install into the current Python environment (sys.prefix)" },
  prefix: { kind: 'string', value: 'DIR', help: 'install under DIR/share/jupyter/kernels' },
  name: { kind: 'string', value: 'NAME', help: 'the kernelspec name (default shared-futures)' },
} as const;

export const KERNEL_INSTALL = command({
  name: 'kernel install',
  summary: 'Installs the Jupyter kernelspec "TypeScript (Shared Futures)".',
  positionals: [],
  options: {
    ...location,
    scheduler: { kind: 'string', value: 'ws://HOST:PORT', help: 'its kernels join this scheduler (default: a per-user local one, started on first use)' },
  },
  exclusive: [['user', 'sys-prefix', 'prefix']],
});

export const KERNEL_UNINSTALL = command({
  name: 'kernel uninstall',
  summary: 'Removes the Jupyter kernelspec.',
  positionals: [],
  options: location,
  exclusive: [['user', 'sys-prefix', 'prefix']],
});

export const KERNEL_START = command({
  name: 'kernel start',
  summary: 'Serves one Jupyter connection file: what Jupyter runs, through the kernelspec.',
  positionals: [{ name: 'CONNECTION_FILE', help: 'the connection file Jupyter wrote (or -f FILE)', optional: true }],
  options: {
    file: { kind: 'string', short: 'f', value: 'FILE', help: 'the connection file' },
    scheduler: { kind: 'string', value: 'ws://HOST:PORT', help: 'join this scheduler (default: SHARED_FUTURES_SCHEDULER, else the per-user local one)' },
  },
});

const SUBCOMMANDS: Record<string, CommandInfo> = { install: KERNEL_INSTALL, uninstall: KERNEL_UNINSTALL, start: KERNEL_START };

/** `kernel --help`. */
export const KERNEL_USAGE = [
  'usage: shared-futures kernel install|uninstall|start [options]',
  '',
  'The Jupyter kernel: a kernelspec whose kernels join a per-user local scheduler (started when none runs), so',
  'notebooks share channels; --scheduler (or SHARED_FUTURES_SCHEDULER and SHARED_FUTURES_TOKEN in the',
  "kernel's environment) points them at a standalone one.",
  '',
  ...Object.values(SUBCOMMANDS).map((spec) => `  ${spec.name.padEnd(18)}${spec.summary}`),
  '',
  'shared-futures kernel COMMAND --help lists its options.',
].join('\n');

function where(values: OptionValues<typeof location>): { kind: 'user' } | { kind: 'sys-prefix' } | { kind: 'prefix'; dir: string } {
  if (values.prefix !== undefined) return { kind: 'prefix', dir: values.prefix };
  return values['sys-prefix'] ? { kind: 'sys-prefix' } : { kind: 'user' };
}

/** Runs `kernel …`; resolves to an exit code (`start` only when the kernel shuts down). Throws UsageError. */
export async function kernelCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    (sub === undefined ? io.err : io.out)(sub === undefined ? 'shared-futures kernel: which one? install, uninstall or start (see shared-futures kernel --help)' : KERNEL_USAGE);
    return sub === undefined ? 2 : 0;
  }
  const spec = Object.hasOwn(SUBCOMMANDS, sub) ? SUBCOMMANDS[sub] : undefined;
  if (!spec) throw new UsageError(`unknown kernel command '${sub}': use install, uninstall or start`);
  if (wantsHelp(rest)) {
    io.out(usage(spec));
    return 0;
  }
  // The Jupyter side lives with the notebook kernel; loaded only for this command.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const jupyter = require('../kernel/jupyter/command') as typeof import('../kernel/jupyter/command');
  switch (sub) {
    case 'install': {
      const { values } = parseCommand(KERNEL_INSTALL, rest);
      if (values.scheduler !== undefined) schedulerTarget(values.scheduler, undefined);
      return jupyter.installCommand({ location: where(values), name: values.name, scheduler: values.scheduler }, io);
    }
    case 'uninstall': {
      const { values } = parseCommand(KERNEL_UNINSTALL, rest);
      return jupyter.uninstallCommand({ location: where(values), name: values.name }, io);
    }
    default: {
      const { values, positionals } = parseCommand(KERNEL_START, rest);
      const file = values.file ?? positionals[0];
      if (file === undefined) throw new UsageError('kernel start needs the connection file: shared-futures kernel start CONNECTION_FILE');
      if (values.file !== undefined && positionals.length > 0) throw new UsageError('kernel start takes one connection file: give it with -f or as an argument, not both');
      if (values.scheduler !== undefined) schedulerTarget(values.scheduler, undefined);
      return jupyter.startCommand(file, { scheduler: values.scheduler }, io);
    }
  }
}
