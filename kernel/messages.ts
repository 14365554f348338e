/** Messages between the kernel (main thread) and its worker thread. */
import type { MessagePort } from 'node:worker_threads';
import type { MimeData } from './display';
import type { CellLocation } from './stack';

/** How the worker gets its `client`. */
export type WorkerConnect =
  | { kind: 'none' }
  | { kind: 'port'; port: MessagePort }
  | { kind: 'remote'; address: string; token?: string };

/** `workerData` of the kernel worker. */
export interface KernelWorkerData {
  /** Folder that `require`/`import` resolve from (the notebook's). */
  notebookDir: string;
  /** The runtime module to load for the prelude, or undefined to run without it. */
  runtimeModule?: string;
  connect: WorkerConnect;
}

export type ToWorker =
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

export type FromWorker =
  | { t: 'ready'; client: boolean; runtime: boolean; warning?: string }
  | { t: 'failed'; message: string }
  | { t: 'stream'; exec: number; name: 'stdout' | 'stderr'; text: string }
  | { t: 'display'; exec: number; outputId: string; data: MimeData; update: boolean; result: boolean }
  | ({ t: 'error'; exec: number } & ErrorOutput)
  | { t: 'done'; exec: number; status: 'ok' | 'error' | 'interrupted' }
  | { t: 'flushed'; req: number };
