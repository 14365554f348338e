/** Messages between the scheduler and a worker process (`shared-futures worker ws://…`), over WebSocket. */
import type { ErrorInfo } from './errors';
import type { ExecTask, FnSpec } from './messages';

export type ToWorkerProcess =
  | { op: 'run'; fns: FnSpec[]; tasks: ExecTask[] }
  /** Send these results (for a client's gather or another worker's task). */
  | { op: 'get'; req: number; keys: string[] }
  /** Drop these results: nobody needs them any more. */
  | { op: 'free'; keys: string[] }
  | { op: 'error'; error: ErrorInfo };

export type FromWorkerProcess =
  /** A batch of `n` tasks gave its thread back (the scheduler counts batches in flight); `ms`: how long its synchronous part took. */
  | { op: 'ran'; ms: number; n: number }
  /** Outcomes; successful results stay in the worker process's store (`nbytes`: a result's serialized size). */
  | { op: 'done'; outcomes: ({ key: string; run: number; ok: true; nbytes?: number } | { key: string; run: number; ok: false; error: ErrorInfo })[] }
  | { op: 'crashed'; runs: { key: string; run: number }[]; reason: ErrorInfo }
  | { op: 'data'; req: number; ok: true; values: unknown[] }
  | { op: 'data'; req: number; ok: false; error: ErrorInfo }
  | { op: 'hb' };

/** How often a worker process says it is alive, and how long the scheduler waits before it gives up on one. */
export const HEARTBEAT_MS = 1000;
export const HEARTBEAT_TIMEOUT_MS = 10_000;
