/**
 * Starting the kernel thread (kernel-worker.js), the worker thread in which a kernel's cells run: hands it the
 * scheduler connection and waits for its `ready`.
 */
import { Worker, type MessagePort } from 'node:worker_threads';
import type { KernelConnect } from './kernel-types';
import type { FromKernelThread, KernelThreadConnect, KernelThreadData } from './thread/messages';

/** What happens to a started thread. */
export interface KernelThreadEvents {
  /** Every message after `ready`. */
  message(message: FromKernelThread): void;
  /** The thread ended on its own after it was ready. */
  exit(code: number): void;
}

/** How the kernel thread reaches the scheduler, and the port to transfer to it. */
async function threadConnect(connect: KernelConnect | undefined): Promise<{ connect: KernelThreadConnect; transfer: MessagePort[] }> {
  if (connect === undefined) {
    return { connect: { kind: 'none' }, transfer: [] };
  }
  if (typeof connect === 'function') {
    const port = await connect();
    return { connect: { kind: 'port', port }, transfer: [port] };
  }
  return { connect: { kind: 'remote', address: connect.address, token: connect.token }, transfer: [] };
}

/**
 * Starts a kernel thread. `onStarted` gets the Worker at once (so it can be terminated while it starts); the
 * promise resolves with the runtime warning of its `ready`, or rejects when it failed to start.
 */
export async function startKernelThread(
  script: string,
  options: { notebookDir: string; runtimeModule: string | undefined; connect: KernelConnect | undefined },
  onStarted: (thread: Worker) => void,
  events: KernelThreadEvents,
): Promise<{ warning: string | undefined }> {
  const { connect, transfer } = await threadConnect(options.connect);
  const data: KernelThreadData = { notebookDir: options.notebookDir, runtimeModule: options.runtimeModule, connect };
  const thread = new Worker(script, { workerData: data, transferList: transfer, stdout: false, stderr: false });
  onStarted(thread);
  return new Promise((resolve, reject) => {
    let started = false;
    thread.on('message', (message: FromKernelThread) => {
      if (message.t === 'ready') {
        started = true;
        resolve({ warning: message.warning });
      } else if (message.t === 'failed') {
        reject(new Error(`the kernel could not start: ${message.message}`));
        void thread.terminate();
      } else {
        events.message(message);
      }
    });
    thread.on('error', (err) => {
      if (!started) {
        reject(err);
      }
    });
    thread.on('exit', (code) => {
      if (!started) {
        reject(new Error(`the kernel thread exited with code ${code} before it was ready`));
        return;
      }
      events.exit(code);
    });
  });
}
