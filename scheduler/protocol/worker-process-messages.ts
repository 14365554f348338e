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

type Msg = Record<string, unknown>;
const isObj = (v: unknown): v is Msg => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStr = (v: unknown): v is string => typeof v === 'string';
const isStrArray = (v: unknown): v is string[] => Array.isArray(v) && v.every(isStr);
const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const isError = (v: unknown) => isObj(v) && isStr(v.name) && isStr(v.message);
const isRunRefs = (v: unknown) => Array.isArray(v) && v.every((r) => isObj(r) && isStr(r.key) && isCount(r.run));

/** What is wrong with an outcome of a `done`, or undefined. */
function checkOutcome(o: unknown): string | undefined {
  if (!isObj(o) || !isStr(o.key) || !isCount(o.run)) return 'an outcome needs key: string and run: a count';
  if (o.ok === false) return isError(o.error) ? undefined : `the failed outcome of ${o.key} needs error: {name, message}`;
  if (o.ok !== true) return `the outcome of ${o.key} needs ok: boolean`;
  if (o.inline !== undefined && o.inline !== true) return `the outcome of ${o.key}: inline is true or absent`;
  if (o.nbytes !== undefined && !isCount(o.nbytes)) return `the outcome of ${o.key}: nbytes is a count`;
  return undefined;
}

/** Field checks of the messages a worker process sends, per op, each returning what is wrong (or undefined). */
const FROM_WORKER_CHECKS: Record<FromWorkerProcess['op'], (m: Msg) => string | undefined> = {
  ran: (m) => (typeof m.ms === 'number' && isCount(m.n) ? undefined : 'ran needs ms: number and n: a count'),
  done: (m) => {
    if (!Array.isArray(m.outcomes)) return 'done needs outcomes: []';
    for (const o of m.outcomes) {
      const wrong = checkOutcome(o);
      if (wrong !== undefined) return `done: ${wrong}`;
    }
    return undefined;
  },
  crashed: (m) => (isRunRefs(m.runs) && isError(m.reason) ? undefined : 'crashed needs runs: [{key, run}] and reason: {name, message}'),
  data: (m) => (isCount(m.req) && (m.ok === true ? Array.isArray(m.values) : m.ok === false && isError(m.error)) ? undefined : 'data needs req: a count and values: [] (ok: true) or error: {name, message} (ok: false)'),
  hb: () => undefined,
  copied: (m) => (isStrArray(m.ok) && Array.isArray(m.failed) && m.failed.every((f) => isObj(f) && isStr(f.key) && isStr(f.why)) ? undefined : 'copied needs ok: string[] and failed: [{key, why}]'),
  relay: (m) => (isCount(m.req) && isObj(m.at) && Object.values(m.at).every(isStrArray) ? undefined : 'relay needs req: a count and at: {key: holders[]}'),
  missing: (m) => (isRunRefs(m.runs) && isStrArray(m.keys) && typeof m.dropped === 'boolean' ? undefined : 'missing needs runs: [{key, run}], keys: string[] and dropped: boolean'),
};

/**
 * The one check of a message a worker process sends, applied by the scheduler (RemoteWorkerAdapter) before
 * it acts on it, so the core sees only well-formed outcomes: what is wrong with it, or undefined.
 */
export function checkFromWorkerProcess(message: unknown): string | undefined {
  if (!isObj(message) || !isStr(message.op)) return 'a worker message must be an object with a string op';
  const check = Object.prototype.hasOwnProperty.call(FROM_WORKER_CHECKS, message.op) ? FROM_WORKER_CHECKS[message.op as FromWorkerProcess['op']] : undefined;
  if (!check) return `unknown worker message op ${JSON.stringify(message.op.slice(0, 40))}`;
  return check(message);
}
