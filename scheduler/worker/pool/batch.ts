/** What crosses between the thread pool adapter (main thread) and its worker threads. */
import type { ErrorInfo } from '../../protocol/errors';
import type { FnSpec } from '../../protocol/messages';
import type { ExecTask } from '../../protocol/worker-messages';

export interface Batch {
  fns: FnSpec[];
  tasks: ExecTask[];
  /** Keep the thread until every task settles (a task suspected of killing threads runs truly alone). */
  hold?: boolean;
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
  /** Milliseconds the batch held the thread. */
  ms: number;
}

/** Messages on a thread's result port. */
export type ThreadMessage = { done: TaskOutcome[] } | { crash: ErrorInfo };

/** Messages a worker thread posts on its parentPort (Piscina forwards them as 'message' events). */
export type ThreadHello = { sfThread: number; port: import('node:worker_threads').MessagePort } | { sfClient: import('node:worker_threads').MessagePort };

/** Global through which `localClient()` reaches the pool thread's connection. */
export const LOCAL_CLIENT_HOOK = Symbol.for('shared-futures.local-client');
