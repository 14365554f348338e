/** Messages between the scheduler and a worker process (`shared-futures worker ws://…`), over WebSocket. */
import type { ErrorInfo } from './errors';
import type { ExecTask, FnSpec } from './messages';

export type ToWorkerProcess =
  /**
   * Tasks to run. A dependency in a task's `at` is fetched by the worker process itself from one of the
   * holders named there (in order), at the peer addresses the scheduler sent: `peers` carries the address of
   * each holder this connection has not been told about yet.
   */
  | { op: 'run'; fns: FnSpec[]; tasks: ExecTask[]; peers?: Record<string, string> }
  /** Send these results (for a client's gather or another worker's task). */
  | { op: 'get'; req: number; keys: string[] }
  /** The answer to a `relay`: the values of its keys, in order. */
  | { op: 'relayed'; req: number; ok: true; values: unknown[] }
  | { op: 'relayed'; req: number; ok: false; error: ErrorInfo }
  /** Copy these results here from one of `from` (each holder's peer address in `peers`, as for `run`), and keep them. */
  | { op: 'copy'; copies: { key: string; from: string[] }[]; peers?: Record<string, string> }
  /** Drop these results: nobody needs them any more. */
  | { op: 'free'; keys: string[] }
  | { op: 'error'; error: ErrorInfo };

export type FromWorkerProcess =
  /** A batch of `n` tasks gave its thread back (the scheduler counts batches in flight); `ms`: how long its synchronous part took. */
  | { op: 'ran'; ms: number; n: number }
  /**
   * Outcomes. A large result stays in the worker process's store (`nbytes`: its serialized size) and moves
   * between machines peer to peer; a small one (at most INLINE_RESULT_MAX_BYTES) comes here `inline` with
   * its `value`, is kept by the scheduler and not stored by the worker.
   */
  | { op: 'done'; outcomes: ({ key: string; run: number; ok: true; nbytes?: number } | { key: string; run: number; ok: true; inline: true; value: unknown } | { key: string; run: number; ok: false; error: ErrorInfo })[] }
  | { op: 'crashed'; runs: { key: string; run: number }[]; reason: ErrorInfo }
  | { op: 'data'; req: number; ok: true; values: unknown[] }
  | { op: 'data'; req: number; ok: false; error: ErrorInfo }
  | { op: 'hb' }
  /**
   * No holder named in `at` could give these dependencies (`keys`) of these runs (each peer was unreachable
   * or no longer held them): the scheduler recomputes them or errs the runs. `dropped`: none of the batch's
   * tasks ran, so no `ran` follows for it.
   */
  /** Copies carried out (`ok`: keys now stored here) and not (`failed`, with why). */
  | { op: 'copied'; ok: string[]; failed: { key: string; why: string }[] }
  /**
   * No holder's peer server gave these dependencies (unreachable from here, e.g. a peer address this machine
   * cannot route to): the scheduler fetches them from the holders for this worker, as a last resort.
   */
  | { op: 'relay'; req: number; at: Record<string, string[]> }
  | { op: 'missing'; runs: { key: string; run: number }[]; keys: string[]; dropped: boolean };

/**
 * Results up to this size (serialized; a string by its length in UTF-16 bytes) travel with their completion
 * message and are kept by the scheduler, which answers gathers of them and ships them with the tasks that
 * need them. For such small values the scheduler's copy saves more socket hops than it costs bytes, and the
 * result outlives its worker. Larger ones stay where they were computed (the peer-to-peer data plane).
 */
export const INLINE_RESULT_MAX_BYTES = 8 * 1024;

/** How often a worker process says it is alive, and how long the scheduler waits before it gives up on one. */
export const HEARTBEAT_MS = 1000;
export const HEARTBEAT_TIMEOUT_MS = 10_000;

/**
 * Messages between peers: a worker process or a client (PeerClient, wire/peer-client.ts) asking a worker
 * process's peer server (worker/remote/peer-server.ts) for results it stores. The connection opens with the
 * JSON text handshake of role 'peer', carrying the scheduler's token.
 */
export type ToPeer = { op: 'get'; req: number; keys: string[] };

export type FromPeer =
  /** The values of the keys asked for, in order; `missing`: the keys this worker does not store (their values are undefined). */
  | { op: 'data'; req: number; values: unknown[]; missing?: string[] }
  | { op: 'error'; error: ErrorInfo };
