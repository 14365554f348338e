/** `shared-futures run`: its command line; the running is the kernel's (kernel/run-command.ts). */
import { TYPE_CHECK_MODES } from '../kernel/kernel-types';
import type { RunArguments, RunIo } from '../kernel/run-command';
import { command, parseCommand, UsageError } from './args';
import { reachScheduler, schedulerTarget } from './connect';
import { failureLine } from './failures';

export { UsageError };

export const RUN = command({
  name: 'run',
  summary: 'Runs a notebook headless, printing its outputs as they come; exits 1 on the first failing cell.',
  positionals: [{ name: 'NOTEBOOK.sfnb', help: 'the notebook to run' }],
  options: {
    scheduler: { kind: 'string', value: 'ws://HOST:PORT', help: 'run against this scheduler (default: a local one, for this run only)' },
    token: { kind: 'string', value: 'TOKEN', help: "the scheduler's token (default: SHARED_FUTURES_TOKEN)" },
    out: { kind: 'string', value: 'FILE', help: 'also write the notebook with its outputs to FILE' },
    timeout: { kind: 'number', value: 'SECONDS', help: 'fail a cell that runs longer than this' },
    threads: { kind: 'int', value: 'N', min: 1, max: 1024, help: 'threads of the local scheduler, when there is no --scheduler (default: the number of CPUs)' },
    'type-check': { kind: 'choice', choices: TYPE_CHECK_MODES, help: 'type-check each cell first: warn runs it anyway (default), block refuses it, off skips the check' },
  },
});

/** Parses the words after `run` (a leading `run` is accepted too); throws UsageError. */
export function parseRunArguments(argv: readonly string[]): RunArguments {
  const { values, positionals } = parseCommand(RUN, argv[0] === 'run' ? argv.slice(1) : argv);
  if (values.token !== undefined && values.scheduler === undefined) throw new UsageError('--token is for a remote scheduler: give --scheduler too');
  if (values.threads !== undefined && values.scheduler !== undefined) {
    throw new UsageError('--threads sizes the local scheduler of this run; with --scheduler the workers of that scheduler run the cells — drop one of the two');
  }
  const args: RunArguments = { notebook: positionals[0] };
  if (values.scheduler !== undefined) {
    const target = schedulerTarget(values.scheduler, values.token);
    args.scheduler = target.address;
    if (target.token !== undefined) args.token = target.token;
  }
  if (values.out !== undefined) args.out = values.out;
  if (values.timeout !== undefined) args.timeoutSec = values.timeout;
  if (values.threads !== undefined) args.threads = values.threads;
  if (values['type-check'] !== undefined) args.typeCheck = values['type-check'] as RunArguments['typeCheck'];
  return args;
}

/** `shared-futures run …`; resolves to the exit code (0 ok, 1 a cell or the scheduler failed, 2 a usage mistake or not a notebook). */
export async function main(argv: readonly string[], io?: RunIo): Promise<number> {
  const err = (t: string) => (io ? io.stderr(t) : process.stderr.write(t));
  try {
    const args = parseRunArguments(argv);
    if (args.scheduler !== undefined) {
      // Reached here first, so a scheduler that is down or a wrong token is one line of advice, not a kernel failure.
      const probe = await reachScheduler(args.scheduler, args.token);
      await probe.close();
    }
    // The kernel (and TypeScript, which it loads) only when a notebook is run: `shared-futures scheduler` and
    // `worker` start without them, several times faster.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { processRunIo, runCommand } = require('../kernel/run-command') as typeof import('../kernel/run-command');
    return await runCommand(args, io ?? processRunIo);
  } catch (e) {
    const { line, exitCode } = failureLine('run', e);
    err(`${line}\n`);
    return exitCode;
  }
}
