/**
 * The `run` command's work once its command line is parsed (the parsing is the CLI's, cli/run.ts): runs a
 * notebook headless, printing outputs as they come, and says in one line how it ended.
 */
import type { TypeCheckMode } from './kernel';
import { outputAsText } from './outputs';
import { runNotebook } from './runner';
import { SfnbFormatError } from './serializer';

/** What `run` was asked to do. */
export interface RunArguments {
  notebook: string;
  scheduler?: string;
  token?: string;
  out?: string;
  timeoutSec?: number;
  threads?: number;
  typeCheck?: TypeCheckMode;
}

/** Where `runCommand` writes; process streams by default. */
export interface RunIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

export const processRunIo: RunIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

/** Runs the notebook; resolves to the exit code (0 ok, 1 a cell failed, 2 no such file or not a notebook). */
export async function runCommand(args: RunArguments, io: RunIo = processRunIo): Promise<number> {
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
      const hint = error?.ename === 'ChannelStoppedError' && args.scheduler ? `: ${STOPPED_CHANNEL_HINT}` : '';
      io.stderr(`shared-futures run: cell ${(result.failedCell ?? 0) + 1} failed: ${error ? `${error.ename}: ${error.evalue}` : 'unknown error'}${hint}\n`);
      return 1;
    }
    io.stdout(`shared-futures run: ${result.executed} cells ran${args.out ? `, written to ${args.out}` : ''}\n`);
    return 0;
  } catch (err) {
    if (err instanceof SfnbFormatError) {
      io.stderr(`shared-futures run: ${args.notebook} is not a valid .sfnb notebook: ${oneLine(err.message)}\n`);
      return 2;
    }
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EISDIR') {
      io.stderr(`shared-futures run: ${code === 'ENOENT' ? 'no file' : 'a folder, not a notebook:'} ${(err as NodeJS.ErrnoException).path ?? args.notebook}: check the path\n`);
      return 2;
    }
    io.stderr(`shared-futures run: ${oneLine(err instanceof Error ? err.message : String(err))}\n`);
    return 1;
  }
}

/**
 * A standalone scheduler keeps channels between runs, so a notebook that stops a channel (as
 * examples/channels.sfnb does) finds it stopped when it runs again against the same scheduler.
 */
const STOPPED_CHANNEL_HINT =
  'channels outlive a run on a standalone scheduler, and one an earlier run stopped stays stopped (delete it with chan.delete(), use another name, or restart the scheduler)';

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

function isFinalLiveUpdate(data: Record<string, unknown>): boolean {
  const view = data['application/vnd.shared-futures+json'] as { done?: boolean } | undefined;
  return view?.done === true;
}
