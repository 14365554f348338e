/**
 * Errors in the kernel thread: stacks that name cells (`In [3]:2:5`) instead of generated scripts and leave
 * out the kernel's own frames, errors described as outputs, and uncaught errors reported to the cell that
 * caused them instead of ending the thread.
 */
import * as path from 'node:path';
import { inspect } from 'node:util';
import type { CellSourceMaps } from '../stack';
import type { ErrorOutput, PostToKernel } from './messages';

/**
 * Sets `Error.prepareStackTrace` of this thread to map cell frames through `sourceMaps`; frames of Node and of
 * files under `kernelDir` (the kernel's own code, or the bundle's folder) are left out.
 */
export function installStackFormatter(sourceMaps: CellSourceMaps, kernelDir: string): void {
  // The WebSocket library is the runtime's too: an error the scheduler answered with is raised in its receive
  // loop, and those frames say nothing about the cell.
  const wireLibrary = /[\\/]node_modules[\\/]ws[\\/]/;
  const isInternal = (fileName: string) =>
    fileName.startsWith('node:') || (path.isAbsolute(fileName) && isInside(fileName, kernelDir)) || wireLibrary.test(fileName);
  Error.stackTraceLimit = 50;
  Error.prepareStackTrace = sourceMaps.stackFormatter(isInternal);
}

function isInside(fileName: string, dir: string): boolean {
  const relative = path.relative(dir, path.dirname(fileName));
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}

/** A thrown value as an error output: name, message, the mapped stack and where in the cell it was thrown. */
export function describeError(err: unknown, sourceMaps: CellSourceMaps): ErrorOutput {
  if (typeof err === 'object' && err !== null && 'message' in err) {
    const error = err as Error;
    const stack = typeof error.stack === 'string' ? error.stack : `${error.name}: ${error.message}`;
    return {
      ename: String(error.name ?? 'Error'),
      evalue: String(error.message ?? ''),
      traceback: stack.split('\n'),
      location: sourceMaps.locationOf(error),
    };
  }
  const shown = inspect(err, { depth: 2, colors: false });
  return { ename: 'Uncaught', evalue: shown, traceback: [`Uncaught ${shown}`] };
}

/** Uncaught exceptions and unhandled rejections go to the stderr of the execution that caused them. */
export function reportUncaughtErrors(post: PostToKernel, currentExec: () => number, sourceMaps: CellSourceMaps): void {
  const report = (kind: string, err: unknown): void => {
    const { traceback } = describeError(err, sourceMaps);
    post({ t: 'stream', exec: currentExec(), name: 'stderr', text: `${kind} ${traceback.join('\n')}\n` });
  };
  process.on('uncaughtException', (err) => report('Uncaught', err));
  process.on('unhandledRejection', (reason) => report('Unhandled rejection:', reason));
}
