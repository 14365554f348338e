/** Messages between the scheduler and a standalone worker process. */
import type { ErrorInfo } from './errors';
import type { FnSpec } from './messages';

/** A task handed to a worker. */
export interface ExecTask {
  key: string;
  /** The run this dispatch starts: the worker echoes it with the outcome. */
  run: number;
  fn: string;
  args: unknown[];
  /** Values of dependencies by key, when the task has any. */
  deps?: Record<string, unknown>;
  /** Dependencies whose data is on a remote worker: key -> worker id (the adapter brings them). */
  at?: Record<string, string>;
  /** The task was on a thread that died: it must have its thread to itself until it settles. */
  alone?: true;
}

export type ToWorker =
  | { op: 'run'; batch: number; fns: FnSpec[]; tasks: ExecTask[] }
  /** Send these results (for a client's gather or another worker's task). */
  | { op: 'get'; req: number; keys: string[] }
  /** Drop these results: nobody needs them any more. */
  | { op: 'free'; keys: string[] }
  | { op: 'error'; error: ErrorInfo };

export type FromWorker =
  /** A batch gave its threads back; `ms` is how long its synchronous part took. */
  | { op: 'ran'; batch: number; ms: number; n: number }
  /** Outcomes; successful results stay in the worker's store. */
  | { op: 'done'; outcomes: ({ key: string; run: number; ok: true } | { key: string; run: number; ok: false; error: ErrorInfo })[] }
  | { op: 'crashed'; runs: { key: string; run: number }[]; reason: ErrorInfo }
  | { op: 'data'; req: number; ok: true; values: unknown[] }
  | { op: 'data'; req: number; ok: false; error: ErrorInfo }
  | { op: 'hb' };

/** How often a worker says it is alive, and how long the scheduler waits before it gives up on one. */
export const HEARTBEAT_MS = 1000;
export const HEARTBEAT_TIMEOUT_MS = 10_000;
