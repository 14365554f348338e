/** What crosses between the thread pool's adapter (main thread) and its pool threads. */
import type { ErrorInfo } from '../../protocol/errors';
import type { ExecTask, FnSpec } from '../../protocol/messages';

export interface Batch {
  fns: FnSpec[];
  tasks: ExecTask[];
  /** Pin the pool thread: the batch returns only once every task settled (a task suspected of killing threads runs truly alone). */
  pinThread?: boolean;
  /**
   * Buffers of the tasks' dependencies that no one else holds: moved to the pool thread instead of copied
   * (they are unusable on this side afterwards). A worker process gives the large results it fetched for
   * this batch alone.
   */
  transfer?: ArrayBuffer[];
}

/**
 * A batch as it crosses to a pool thread: parallel arrays instead of one object per task, so that the main
 * thread (which also runs the scheduler, and limits how many tiny tasks a second go through) copies a few
 * arrays rather than one object with its property names per task. ThreadRunner makes it from a Batch.
 */
export interface WireBatch {
  fns: FnSpec[];
  keys: string[];
  runs: number[];
  /** Per task, the index of its function in `fns`; one number when every task has the same function. */
  fn: number[] | number;
  args: unknown[][];
  /** Per task, its dependencies' values (undefined: none); absent when no task of the batch has any. */
  deps?: (Record<string, unknown> | undefined)[];
  pinThread?: boolean;
}

/** How a task of a WireBatch ended (WireResult.how): `out[i]` is the result, a primitive. */
export const ENDED_VALUE = 0;
/** `out[i]` is the result, v8-serialized. */
export const ENDED_SERIALIZED = 1;
/** `out[i]` is the task's ErrorInfo. */
export const ENDED_ERROR = 2;
/** Still awaiting: the outcome comes later on the thread's result port. */
export const ENDED_PENDING = 3;

/** What a pool thread returns for a WireBatch: per task, in the batch's order, how it ended and with what. */
export interface WireResult {
  threadId: number;
  how: Uint8Array;
  out: unknown[];
  /** Milliseconds the batch occupied its pool thread. */
  ms: number;
}

/** A task's outcome. Object results travel as v8-serialized bytes (`ser`), so one bad result fails alone. */
export type TaskOutcome =
  | { key: string; run: number; ok: true; value?: unknown; ser?: Uint8Array }
  | { key: string; run: number; ok: false; error: ErrorInfo };

/** One run of a task: the key and the run id the scheduler gave the dispatch. */
export interface RunId {
  key: string;
  run: number;
}

export interface BatchResult {
  threadId: number;
  /** Tasks that finished while the batch ran. */
  done: TaskOutcome[];
  /** Runs still awaiting something: their outcome comes later on the thread's result port. */
  pending: RunId[];
  /** Milliseconds the batch occupied its pool thread. */
  ms: number;
}

/** Messages on a thread's result port. */
export type ThreadMessage = { done: TaskOutcome[] } | { crash: ErrorInfo };

/** Messages a pool thread posts on its parentPort (Piscina forwards them as 'message' events). */
export type ThreadHello = { sfThread: number; port: import('node:worker_threads').MessagePort } | { sfClient: import('node:worker_threads').MessagePort };

/** Global through which `localClient()` reaches the pool thread's connection. */
export const LOCAL_CLIENT_HOOK = Symbol.for('shared-futures.local-client');
