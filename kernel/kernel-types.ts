/** The types of the notebook kernel's API (kernel.ts re-exports them): options, outputs and results of runs. */
import type { MessagePort } from 'node:worker_threads';
import type { MimeData } from './display';
import type { ErrorOutput } from './thread/messages';

export type { ErrorOutput } from './thread/messages';
export type { MimeData } from './display';

/**
 * Where cells' `client` connects: a function giving a MessagePort to an in-process scheduler (called
 * again on every restart), or a remote scheduler's `ws://` address and token.
 */
export type KernelConnect = (() => MessagePort | Promise<MessagePort>) | { address: string; token?: string };

/** Options of `Kernel.start`. */
export interface KernelOptions {
  /** Folder that `require`/`import` in cells resolve from: the notebook's. Defaults to the current directory. */
  notebookDir?: string;
  /** The scheduler for `client`; without it `client` is undefined (the rest of the kernel works). */
  connect?: KernelConnect;
  /** The runtime module for the prelude (`Client`, `Future`, `Channel`, `zip`); `null` runs without it. */
  runtimeModule?: string | null;
  /** How long an interrupted cell may take to stop before the kernel thread is restarted. Default 2000 ms. */
  interruptGraceMs?: number;
  /** The kernel thread's entry; defaults to `kernel-worker.js` beside kernel.js. */
  threadScript?: string;
  /** Type check of each cell before it runs (default `warn`); `ExecuteOptions.typeCheck` overrides it. */
  typeCheck?: TypeCheckMode;
  /** Where the runtime's declarations and the notebook prelude are (LanguageEngineOptions.typesDir). */
  typesDir?: string;
}

/**
 * What the kernel does with a cell's type errors before running it: `warn` runs it and shows the errors
 * first in its output, `block` refuses it (like tslab), `off` does not check.
 */
export type TypeCheckMode = 'warn' | 'block' | 'off';

/** The modes of `TypeCheckMode`, for settings and command lines. */
export const TYPE_CHECK_MODES: readonly TypeCheckMode[] = ['warn', 'block', 'off'];

/** One output of a cell, in the order the cell produced it. */
export type KernelOutput =
  | { type: 'stream'; execution: number; name: 'stdout' | 'stderr'; text: string }
  | {
      type: 'display';
      execution: number;
      /** Stable id: an output with `update: true` replaces the earlier output with the same id. */
      outputId: string;
      data: MimeData;
      update: boolean;
      /** True for the value of the cell's final expression (nbformat `execute_result`). */
      result: boolean;
    }
  | ({ type: 'error'; execution: number } & ErrorOutput);

/** How a cell run ended. `aborted`: it never ran (an interrupt or restart cleared the queue). */
export type CellStatus = 'ok' | 'error' | 'interrupted' | 'aborted';

/** The outcome of `execute`. */
export interface CellRun {
  /** The execution count (`In [n]`), 0 for an aborted run. */
  execution: number;
  status: CellStatus;
  /** Outputs produced until the cell finished (later live updates arrive through `onOutput`). */
  outputs: KernelOutput[];
  error?: ErrorOutput;
}

/** Options of one execution. */
export interface ExecuteOptions {
  /** 'typescript' (default) or 'javascript' (also 'ts', 'js'). */
  language?: string;
  /** How stack frames name this cell; default `In [n]`. */
  label?: string;
  /** Called with each output as it comes. */
  onOutput?: (output: KernelOutput) => void;
  /** Type check of this run; default: the kernel's `typeCheck`. */
  typeCheck?: TypeCheckMode;
  /**
   * The notebook cell this source is (any stable string): the type check sees the cells that ran before,
   * each with the source of its latest run, so a cell run again replaces its earlier run. Default: a new id.
   */
  cellId?: string;
}

export type KernelStatus = 'starting' | 'idle' | 'busy' | 'restarting' | 'disposed';
