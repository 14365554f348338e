/**
 * Messages between the kernel (kernel/kernel.ts, on the main thread) and the kernel thread, the worker
 * thread that runs the cells (kernel/kernel-worker.ts). Not the scheduler's worker protocol.
 */
import type { MessagePort } from 'node:worker_threads';
import type { MimeData } from '../display';
import type { CellLocation } from '../stack';

/** How the kernel thread gets its `client`. */
export type KernelThreadConnect =
  | { kind: 'none' }
  | { kind: 'port'; port: MessagePort }
  | { kind: 'remote'; address: string; token?: string };

/** `workerData` of the kernel thread. */
export interface KernelThreadData {
  /** Folder that `require`/`import` resolve from (the notebook's). */
  notebookDir: string;
  /** The runtime module to load for the prelude, or undefined to run without it. */
  runtimeModule?: string;
  connect: KernelThreadConnect;
}

/** From the kernel to its thread. */
export type ToKernelThread =
  | { t: 'execute'; exec: number; code: string; sourceMap: string; fileName: string; label: string }
  | { t: 'interrupt'; exec: number }
  /** Re-render every live output now (the runner does this before writing a notebook). */
  | { t: 'flush'; req: number };

/** An error as an output shows it. */
export interface ErrorOutput {
  ename: string;
  evalue: string;
  /** First line `Name: message`, then frames, cell frames mapped to `cell:line:column`. */
  traceback: string[];
  location?: CellLocation;
}

/** From the kernel thread to the kernel. */
export type FromKernelThread =
  /** The thread is ready; `warning` says why the runtime is missing, when it is. */
  | { t: 'ready'; warning?: string }
  | { t: 'failed'; message: string }
  | { t: 'stream'; exec: number; name: 'stdout' | 'stderr'; text: string }
  | { t: 'display'; exec: number; outputId: string; data: MimeData; update: boolean; result: boolean }
  | ({ t: 'error'; exec: number } & ErrorOutput)
  | { t: 'done'; exec: number; status: 'ok' | 'error' | 'interrupted' }
  | { t: 'flushed'; req: number };

/** How the kernel thread sends a message to the kernel. */
export type PostToKernel = (message: FromKernelThread) => void;
