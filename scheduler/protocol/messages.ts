/**
 * The messages between clients and the scheduler. Every transport (in-thread, MessagePort, WebSocket)
 * carries these same objects, batched as arrays. Field names are short because they are on the hot path.
 */
import type { ErrorInfo } from './errors';

/** Bumped whenever a message changes shape; checked in the handshake. */
export const PROTOCOL_VERSION = 5;

/** What a user sees of a task. */
export type FutureStatus = 'pending' | 'processing' | 'finished' | 'error' | 'cancelled' | 'lost';

/**
 * Marks a future inside task arguments; the worker replaces it with the dependency's value. A user object
 * that could be read as a marker (or as an escape) travels escaped instead: see `escapeUserObject`.
 */
export interface FutureRef {
  readonly $sf: string;
}

/** A function shipped to workers: by source, or by `'module#export'` reference. */
export interface FnSpec {
  /** Stable id of the function: a hash of its source or the reference itself. */
  id: string;
  /** Source text (`fn.toString()`), present the first time a connection ships this id. */
  src?: string;
  /** `'module#export'` reference. */
  ref?: string;
}

/** One task as a client submits it. */
export interface TaskSpec {
  key: string;
  /** Id of an FnSpec shipped in this message or earlier by this connection. */
  fn: string;
  /** Arguments; futures appear as FutureRef (only when `deps` is non-empty). */
  args: unknown[];
  /** Keys this task depends on (futures found in `args`). */
  deps?: string[];
  priority?: number;
  retries?: number;
  /** Graph task: string arguments naming an existing key or a key of the same submit are dependencies. */
  graph?: boolean;
  /** A literal value of a graph (no function): the task is born finished with this value. */
  value?: unknown;
}

/** A task as the scheduler hands it to a worker (the local thread pool or a worker process) to run. */
export interface ExecTask {
  key: string;
  /** The run this dispatch starts: the worker echoes it with the outcome. */
  run: number;
  fn: string;
  args: unknown[];
  /** Values of dependencies by key, when the task has any. */
  deps?: Record<string, unknown>;
  /** Dependencies whose data is on worker processes: key -> the ids of the workers holding it, the one to ask first first. */
  at?: Record<string, string[]>;
  /** The task was on a pool thread that died: it must have its thread to itself until it settles. */
  alone?: true;
}

/** An item of a channel on the wire: a future (key and its status) or a plain value. */
export type WireItem = { k: string; s?: FutureStatus; e?: ErrorInfo } | { v: unknown };

export type ClientMessage =
  /** `direct`: this client fetches results from worker processes itself (see GatherWhere). */
  | { op: 'hello'; client: string; version: number; name?: string; resume?: boolean; direct?: boolean }
  | { op: 'submit'; fns: FnSpec[]; tasks: TaskSpec[] }
  | { op: 'scatter'; req: number; items: { key: string; value: unknown }[] }
  /** Adds one to this client's want-count of each key; an unknown key waits as a placeholder. */
  | { op: 'want'; keys: string[] }
  /** Takes `n[i]` (default 1) off this client's want-count of `keys[i]`. */
  | { op: 'release'; keys: string[]; n?: number[] }
  /** After a reconnect: this client's want-counts are exactly these (every other key: zero). */
  | { op: 'resync'; keys: string[]; n: number[] }
  /** Drops this client's interest (cancelling the task when nobody else wants it); `force`: cancels it for everyone. */
  | { op: 'cancel'; req: number; keys: string[]; force?: boolean }
  /**
   * Values of `keys` (an array, in order). To a client that said `direct` in its hello, values held on worker
   * processes come back as a GatherWhere instead, unless `relay`: the scheduler fetches them itself.
   * `wait`: a key not settled yet (pending, processing) is waited for and the reply sent as soon as every
   * key settled (in the same batch as their statuses), instead of an ERR_NOT_FINISHED error.
   */
  | { op: 'gather'; req: number; keys: string[]; relay?: boolean; wait?: boolean }
  /**
   * `resume` (after a reconnect): a channel deleted while this client was subscribed stays deleted; `epoch`:
   * resume only that incarnation of the channel; `from`: after that many items.
   */
  | { op: 'sub'; channel: string; maxlen: number | null; from?: number; create?: boolean; epoch?: number; resume?: boolean }
  /** `epoch` (on append, stop, delete): the incarnation the sender's handle knows; another incarnation is not touched. */
  | { op: 'append'; channel: string; items: WireItem[]; epoch?: number }
  | { op: 'flush'; req: number; channel: string }
  | { op: 'stop'; req: number; channel: string; epoch?: number }
  | { op: 'unsub'; channel: string }
  | { op: 'delete'; req: number; channel: string; epoch?: number }
  | { op: 'channels'; req: number }
  | { op: 'info'; req: number }
  | { op: 'story'; req: number; key: string }
  /**
   * Copies each key's result to more worker processes, until `n` of them (at most all there are) hold it. The
   * reply's value is, by key, how many worker processes hold it (0 for a result kept by the scheduler itself).
   */
  | { op: 'replicate'; req: number; keys: string[]; n: number }
  | { op: 'events'; on: boolean }
  | { op: 'close' };

/**
 * The answer to a gather of a `direct` client when worker processes hold some of the values: the values the
 * scheduler holds (holes elsewhere), and which worker holds the others, where its peer server listens, and
 * the positions of its keys in the request. The client fetches those itself (or gathers them again with `relay`).
 */
export interface GatherWhere {
  where: { worker: string; address: string; keys: string[]; index: number[] }[];
  values: unknown[];
}

/** Summary of one channel, as `client.channels()` returns it. */
export interface ChannelInfo {
  name: string;
  /** Appends ever made, evicted ones included. */
  count: number;
  /** Items retained now. */
  length: number;
  /** The scheduler's maxlen; null when unbounded. */
  maxlen: number | null;
  stopped: boolean;
}

export interface WorkerInfo {
  id: string;
  threads: number;
  /** Keys running on that worker now. */
  running: string[];
}

export interface SchedulerInfo {
  address: string;
  workers: WorkerInfo[];
  /** Keys the scheduler tracks, by status; a status with none is absent. */
  tasks: Partial<Record<FutureStatus, number>>;
}

/** One line of a key's story. */
export interface StoryEntry {
  time: number;
  event: string;
  from: string;
  to: string;
  /** The stimulus that caused it (a client message, a worker's outcome, a lost worker…). */
  stimulus?: string;
  /** The worker concerned: the one a dispatch sent the task to, that finished it, that a key was placed on. */
  worker?: string;
  /** Why it went there: 'local-data' (its dependencies' bytes are there), 'shared' (the shared queue), 'stolen from <id>'… */
  why?: string;
}

/** Batched change notifications for observers (tree view, dashboard). */
export type SchedulerEvent =
  /** `forgotten`: the scheduler dropped the key (nobody wants it); its status then reads 'cancelled'. */
  | { type: 'task'; key: string; status: FutureStatus; worker?: string; time: number; forgotten?: true }
  | { type: 'channel'; name: string; count: number; length: number; maxlen: number | null; stopped: boolean; deleted?: boolean }
  | { type: 'worker'; id: string; threads: number; state: 'joined' | 'left' };

export type SchedulerMessage =
  | { op: 'welcome'; client: string; address: string; version: number }
  | { op: 'status'; keys: string[]; s: FutureStatus[]; e?: (ErrorInfo | null)[] }
  | { op: 'items'; channel: string; start: number; items: WireItem[] }
  | { op: 'replay'; channel: string; start: number; items: WireItem[]; stopped: boolean; maxlen: number | null; epoch: number }
  | { op: 'chan-stop'; channel: string }
  | { op: 'chan-deleted'; channel: string }
  | { op: 'reply'; req: number; ok: true; value?: unknown }
  | { op: 'reply'; req: number; ok: false; error: ErrorInfo }
  | { op: 'error'; error: ErrorInfo }
  | { op: 'events'; events: SchedulerEvent[] };

/** Builds a FutureRef marker. */
export const futureRef = (key: string): FutureRef => ({ $sf: key });

/** True when `value` is a FutureRef marker. */
export function isFutureRef(value: unknown): value is FutureRef {
  return typeof value === 'object' && value !== null && typeof (value as FutureRef).$sf === 'string' && Object.keys(value).length === 1;
}

/** Key of the wrapper `{ $sfq: obj }` that carries a user object which would otherwise read as a marker. */
const ESCAPE_KEY = '$sfq';

/**
 * True when a user object with these own keys must travel escaped: it has the one key of a marker
 * (`$sf`) or of an escape (`$sfq`), whatever the value. Escaping both makes decoding the exact inverse.
 */
export function needsEscape(keys: readonly string[]): boolean {
  return keys.length === 1 && (keys[0] === '$sf' || keys[0] === ESCAPE_KEY);
}

/** Wraps a user object (already encoded inside) so that no reader takes it for a marker. */
export function escapeUserObject(obj: object): object {
  return { [ESCAPE_KEY]: obj };
}

/** The user object inside an escape wrapper, or undefined when `value` is not one. Its own key is never a marker. */
export function unescapeUserObject(value: object): object | undefined {
  const keys = Object.keys(value);
  if (keys.length !== 1 || keys[0] !== ESCAPE_KEY) return undefined;
  const inner = (value as Record<string, unknown>)[ESCAPE_KEY];
  return typeof inner === 'object' && inner !== null ? inner : undefined;
}

/** Longest channel name the scheduler accepts (checked by clients before sending, and by the scheduler). */
export const MAX_CHANNEL_NAME = 256;
