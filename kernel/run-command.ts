/**
 * `shared-futures run notebook.sfnb [--scheduler ws://…] [--token T] [--out executed.sfnb] [--timeout S]
 * [--threads N] [--type-check warn|block|off]`: runs a notebook headless, printing outputs as they come.
 */
import { TYPE_CHECK_MODES, type TypeCheckMode } from './kernel';
import { outputAsText } from './outputs';
import { runNotebook } from './runner';
import { SfnbFormatError } from './serializer';

/** Parsed command line of `run`. */
export interface RunArguments {
  notebook: string;
  scheduler?: string;
  token?: string;
  out?: string;
  timeoutSec?: number;
  threads?: number;
  typeCheck?: TypeCheckMode;
}

export const RUN_USAGE =
  'usage: shared-futures run notebook.sfnb [--scheduler ws://host:port] [--token T] [--out executed.sfnb] [--timeout S] [--threads N] [--type-check warn|block|off]';

/** Thrown for a command line that does not parse; the message says what is wrong. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Parses the arguments after `run` (a leading `run` is accepted too). */
export function parseRunArguments(argv: readonly string[]): RunArguments {
  const args = argv[0] === 'run' ? argv.slice(1) : [...argv];
  const parsed: Partial<RunArguments> = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = (): string => {
      const v = inline ?? args[++i];
      if (v === undefined || (inline === undefined && v.startsWith('--'))) {
        throw new UsageError(`${flag} needs a value`);
      }
      return v;
    };
    switch (flag) {
      case '--scheduler': {
        const address = value();
        if (!/^wss?:\/\/[^/\s]+/.test(address)) {
          throw new UsageError(`--scheduler takes a ws:// or wss:// address, got '${address}'`);
        }
        parsed.scheduler = address;
        break;
      }
      case '--token':
        parsed.token = value();
        break;
      case '--type-check': {
        const mode = value();
        if (!(TYPE_CHECK_MODES as readonly string[]).includes(mode)) {
          throw new UsageError(`--type-check takes warn, block or off, got '${mode}'`);
        }
        parsed.typeCheck = mode as TypeCheckMode;
        break;
      }
      case '--out':
        parsed.out = value();
        break;
      case '--timeout':
      case '--threads': {
        const raw = value();
        const n = Number(raw);
        if (!Number.isFinite(n) || n <= 0 || (flag === '--threads' && !Number.isInteger(n))) {
          throw new UsageError(`${flag} takes a positive ${flag === '--threads' ? 'integer' : 'number'}, got '${raw}'`);
        }
        if (flag === '--timeout') {
          parsed.timeoutSec = n;
        } else {
          parsed.threads = n;
        }
        break;
      }
      default:
        if (arg.startsWith('-')) {
          throw new UsageError(`unknown option ${arg}`);
        }
        if (parsed.notebook !== undefined) {
          throw new UsageError(`one notebook at a time: got '${parsed.notebook}' and '${arg}'`);
        }
        parsed.notebook = arg;
    }
  }
  if (parsed.notebook === undefined) {
    throw new UsageError('which notebook? none was given');
  }
  if (parsed.token !== undefined && parsed.scheduler === undefined) {
    throw new UsageError('--token is for a remote scheduler: give --scheduler too');
  }
  return parsed as RunArguments;
}

/** Where `main` writes; process streams by default. */
export interface RunIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

const processIo: RunIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

/** Runs the command; resolves to the exit code (0 ok, 1 a cell failed, 2 bad usage or not a notebook). */
export async function main(argv: readonly string[], io: RunIo = processIo): Promise<number> {
  let args: RunArguments;
  try {
    args = parseRunArguments(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr(`shared-futures run: ${err.message}\n${RUN_USAGE}\n`);
      return 2;
    }
    throw err;
  }
  try {
    const result = await runNotebook(args.notebook, {
      scheduler: args.scheduler,
      token: args.token,
      out: args.out,
      timeoutSec: args.timeoutSec,
      threads: args.threads,
      typeCheck: args.typeCheck,
      onCellStart: (index) => io.stdout(`── cell ${index + 1} ──\n`),
      onOutput: (output, cellIndex) => {
        // Live outputs print once: first state, then only their final state, naming their cell.
        if (output.type === 'display' && output.update && !isFinalLiveUpdate(output.data)) {
          return;
        }
        const text = output.type === 'display' && output.update ? `(cell ${cellIndex + 1}, now) ${outputAsText(output)}` : outputAsText(output);
        if (output.type === 'error' || (output.type === 'stream' && output.name === 'stderr')) {
          io.stderr(text);
        } else {
          io.stdout(text);
        }
      },
    });
    if (!result.ok) {
      const error = result.error;
      io.stderr(`shared-futures run: cell ${(result.failedCell ?? 0) + 1} failed: ${error ? `${error.ename}: ${error.evalue}` : 'unknown error'}\n`);
      return 1;
    }
    io.stdout(`shared-futures run: ${result.executed} cells ran${args.out ? `, written to ${args.out}` : ''}\n`);
    return 0;
  } catch (err) {
    if (err instanceof SfnbFormatError) {
      io.stderr(`shared-futures run: ${args.notebook} is not a valid .sfnb notebook: ${err.message}\n`);
      return 2;
    }
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      io.stderr(`shared-futures run: ${(err as Error).message}\n`);
      return 2;
    }
    io.stderr(`shared-futures run: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

function isFinalLiveUpdate(data: Record<string, unknown>): boolean {
  const view = data['application/vnd.shared-futures+json'] as { done?: boolean } | undefined;
  return view?.done === true;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
