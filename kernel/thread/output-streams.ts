/**
 * The kernel thread's standard output: `console.*` and `process.stdout/stderr` writes become stream messages
 * tagged with the execution that wrote them, so output that comes late still lands in its cell.
 */
import { Console } from 'node:console';
import { Writable } from 'node:stream';
import type { PostToKernel } from './messages';

/** Replaces `console` and the writes of `process.stdout`/`process.stderr` of this thread. */
export function redirectOutput(post: PostToKernel, currentExec: () => number): void {
  const streamTo = (name: 'stdout' | 'stderr'): Writable =>
    new Writable({
      decodeStrings: false,
      write(chunk: unknown, _encoding, callback) {
        post({ t: 'stream', exec: currentExec(), name, text: String(chunk) });
        callback();
      },
    });
  globalThis.console = new Console({ stdout: streamTo('stdout'), stderr: streamTo('stderr'), colorMode: false });
  for (const [name, stream] of [['stdout', process.stdout], ['stderr', process.stderr]] as const) {
    // Writes go straight to the kernel, synchronously, so they keep their order with console output.
    (stream as unknown as { write: (chunk: unknown, ...rest: unknown[]) => boolean }).write = (chunk: unknown, ...rest: unknown[]) => {
      const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
      post({ t: 'stream', exec: currentExec(), name, text });
      const callback = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined;
      callback?.();
      return true;
    };
  }
}
