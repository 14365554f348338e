/**
 * Entry of the kernel thread: the worker thread in which the kernel (kernel.ts) runs cells, in one persistent
 * JavaScript context. It wires up the parts in kernel/thread/ (none does anything on import): output streams,
 * error stacks, display and live outputs, the prelude, cell execution, and the messages from the kernel.
 * Cells arrive already transpiled (transpile.ts). Bundled as dist/kernel-worker.js.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { CellSourceMaps } from './stack';
import { DisplayOutputs } from './thread/display-outputs';
import { installStackFormatter, reportUncaughtErrors } from './thread/errors';
import { CellExecutions } from './thread/execute';
import type { FromKernelThread, KernelThreadData, ToKernelThread } from './thread/messages';
import { notebookModules } from './thread/modules';
import { redirectOutput } from './thread/output-streams';
import { connectRuntime, installPrelude } from './thread/prelude';

function main(): void {
  const port = parentPort;
  if (!port) {
    throw new Error('kernel-worker.js runs as the worker thread of a notebook kernel (kernel.ts starts it)');
  }
  const data = workerData as KernelThreadData;
  const post = (message: FromKernelThread) => port.postMessage(message);
  const sourceMaps = new CellSourceMaps();
  const cells = new CellExecutions(post, sourceMaps);
  const currentExec = () => cells.currentExec();

  redirectOutput(post, currentExec);
  // This file's folder holds the kernel's code (build/kernel) or the bundle (dist): its frames are not the cell's.
  installStackFormatter(sourceMaps, __dirname);
  reportUncaughtErrors(post, currentExec, sourceMaps);
  const outputs = new DisplayOutputs(post, currentExec);
  installPrelude(data.notebookDir, notebookModules(data.notebookDir), (value, mime) => outputs.show(value, mime, false));

  port.on('message', (message: ToKernelThread) => {
    if (message.t === 'execute') {
      void cells.execute(message, (value, exec) => outputs.show(value, undefined, true, exec));
    } else if (message.t === 'interrupt') {
      cells.interrupt(message.exec);
    } else if (message.t === 'flush') {
      outputs.refreshAll();
      post({ t: 'flushed', req: message.req });
    }
  });

  connectRuntime(data).then(post, (err: unknown) => post({ t: 'failed', message: err instanceof Error ? err.message : String(err) }));
}

main();
