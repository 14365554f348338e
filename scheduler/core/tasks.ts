/** The scheduler's records of keys and workers, and the ready queue. Plain data: the TaskMachine moves them. */
import type { ErrorInfo } from '../protocol/errors';
import { Ring } from '../util/ring';
import type { ExecTask } from '../protocol/messages';
import type { OutboxBox } from './outbox';

export type { ExecTask };

/** Where a key is in its lifecycle; transitions.ts holds the table of moves between these. */
export type TaskState =
  | 'released' // known, not yet placed (or a placeholder waiting for its key to be defined)
  | 'waiting' // waiting for dependencies
  | 'queued' // ready, waiting for a thread
  | 'processing' // running on a worker
  | 'memory' // finished, result held
  | 'erred'
  | 'cancelled'
  | 'lost' // data gone with its worker and not recomputable
  | 'forgotten'; // nobody holds it: dropped from the scheduler

/**
 * What few records need (a priority, retries, a crash, copies on several workers, an error): made when one of
 * these is first set, so that the record itself stays small. In a cluster with 100,000 keys nearly every record
 * a stimulus reads is a cache miss per 64 bytes of it, and each new record is copied by the scavenges it lives
 * through: its size is paid on every stimulus.
 */
class TaskRare {
  priority = 0;
  /** The order of definition among tasks of another priority than 0 (the ReadyQueue's heap; the others keep arrival order). */
  seq = 0;
  retries = 0;
  /** Times the task was on a thread that died. */
  suspicious = 0;
  moreHolders: string[] | undefined = undefined;
  error: ErrorInfo | undefined = undefined;
}

/**
 * Everything the scheduler knows of one key. The fields are in the order of how often a stimulus reads them
 * (V8 lays them out in that order): an outcome, a dispatch or a release reads the first two or three cache
 * lines of it, not four; the rarely set ones are in `rare` (TaskRare), behind accessors.
 */
export class TaskRecord {
  state: TaskState = 'released';
  /** Id of the current run (set at dispatch); outcomes of any other run are stale and dropped. */
  run = 0;
  /** The worker running the current run (its state itself: an outcome finds it without a lookup by id). */
  runOn: WorkerState | undefined = undefined;
  /** Where it is in the running tasks of `runOn` (`WorkerState.processing`): taken off in O(1), see removeRunning. */
  runAt = -1;
  /**
   * Clients whose want-count of this key is above zero: one client, or a Set when several (most keys have
   * one). Their states themselves, so that a status change reaches their outboxes without a lookup by id.
   */
  wanters: Wanter | Set<Wanter> | undefined = undefined;
  /** The client whose want-count of this key is kept here (`wantN`) rather than in its own table: see clients.ts Wants. */
  wantOwner: { readonly id: string } | undefined = undefined;
  wantN = 0;
  /**
   * The worker processes holding the result: `holder` the first, `moreHolders` any others (copies made by
   * `replicate`). Most keys have one holder, which costs no array. Both undefined: the value is here (`value`).
   * Read them with `holderCount`, `holdsOn`, `forEachHolder`; change them through the TaskMachine.
   */
  holder: string | undefined = undefined;
  /** Byte size of the result as its worker process serialized it (0: not known, or kept here). */
  nbytes = 0;
  value: unknown = undefined;
  /** While queued: the worker whose own queue it is in (placed by data); undefined in the shared queue. */
  queuedOn: WorkerState | undefined = undefined;
  /** Function id; '' for data, and for a placeholder that waits for its key to be submitted or scattered. */
  fn = '';
  args: unknown[] | undefined = undefined;
  /** Keys this task needs, as records (set when it is defined). */
  deps: TaskRecord[] | undefined = undefined;
  /**
   * Tasks that counted themselves in `holds` of this one: one task, or a Set when several (most keys that have
   * dependents have one; a Set costs a table that each scavenge it lives through copies). Read it with
   * `dependentsOf`; change it with `addDependent` / `removeDependent`.
   */
  dependents: TaskRecord | Set<TaskRecord> | undefined = undefined;
  /** Whether this task counts in its dependencies' `holds` (and sits in their `dependents`). */
  linked = false;
  /** Dependencies not yet in memory, while waiting. */
  waitingOn = 0;
  /** Linked dependents: unfinished ones that will need the result, and remotely finished ones that may be recomputed. */
  holds = 0;
  /** Channel slots that hold the key. */
  channelRefs = 0;
  /** Links in the owner's list of the records it owns. */
  ownNext: TaskRecord | undefined = undefined;
  ownPrev: TaskRecord | undefined = undefined;
  /** The key table's links (records in the order their keys were made): see util/key-table.ts. */
  newer: TaskRecord | undefined = undefined;
  older: TaskRecord | undefined = undefined;
  /** The rarely set fields, made when one of them first is. */
  private rare: TaskRare | undefined = undefined;
  constructor(readonly key: string) {}

  private more(): TaskRare {
    return (this.rare ??= new TaskRare());
  }

  get priority(): number {
    return this.rare === undefined ? 0 : this.rare.priority;
  }
  set priority(p: number) {
    if (p !== 0 || this.rare !== undefined) this.more().priority = p;
  }
  get seq(): number {
    return this.rare === undefined ? 0 : this.rare.seq;
  }
  set seq(n: number) {
    if (n !== 0 || this.rare !== undefined) this.more().seq = n;
  }
  get retries(): number {
    return this.rare === undefined ? 0 : this.rare.retries;
  }
  set retries(n: number) {
    if (n !== 0 || this.rare !== undefined) this.more().retries = n;
  }
  /** Times the task was on a thread that died. */
  get suspicious(): number {
    return this.rare === undefined ? 0 : this.rare.suspicious;
  }
  set suspicious(n: number) {
    if (n !== 0 || this.rare !== undefined) this.more().suspicious = n;
  }
  get moreHolders(): string[] | undefined {
    return this.rare?.moreHolders;
  }
  set moreHolders(hs: string[] | undefined) {
    if (hs !== undefined || this.rare !== undefined) this.more().moreHolders = hs;
  }
  get error(): ErrorInfo | undefined {
    return this.rare?.error;
  }
  set error(e: ErrorInfo | undefined) {
    if (e !== undefined || this.rare !== undefined) this.more().error = e;
  }

  /** The id of the worker running the current run. */
  get worker(): string | undefined {
    return this.runOn?.id;
  }

  /** Known only by name: someone asked for the key (`client.future(key)`) before anyone defined it. */
  get placeholder(): boolean {
    return this.state === 'released' && this.fn === '' && this.deps === undefined;
  }
}

/** `t`'s dependents (see TaskRecord.dependents), for a loop. */
export function dependentsOf(t: TaskRecord): Iterable<TaskRecord> {
  const d = t.dependents;
  return d === undefined ? NO_TASKS : d instanceof Set ? d : [d];
}

const NO_TASKS: readonly TaskRecord[] = Object.freeze([]);

/** `dependent` counts itself in `holds` of `t`. */
export function addDependent(t: TaskRecord, dependent: TaskRecord): void {
  const d = t.dependents;
  if (d === undefined) t.dependents = dependent;
  else if (d instanceof Set) d.add(dependent);
  else if (d !== dependent) t.dependents = new Set([d, dependent]);
}

/** `dependent` no longer counts itself in `holds` of `t`. */
export function removeDependent(t: TaskRecord, dependent: TaskRecord): void {
  const d = t.dependents;
  if (d === dependent) t.dependents = undefined;
  else if (d instanceof Set) {
    d.delete(dependent);
    if (d.size === 1) t.dependents = d.values().next().value as TaskRecord;
    else if (d.size === 0) t.dependents = undefined;
  }
}

/**
 * Puts `t` on a worker's running tasks (`WorkerState.processing`). Each record knows its place there (`runAt`):
 * an in-process pool runs batches of thousands of tasks, and finding a finished one by a scan of the running
 * tasks made a large map quadratic.
 */
export function addRunning(running: TaskRecord[], t: TaskRecord): void {
  t.runAt = running.length;
  running.push(t);
}

/** Takes `t` off a worker's running tasks in O(1) (the last one takes its place); true when it was there. */
export function removeRunning(running: TaskRecord[], t: TaskRecord): boolean {
  const i = t.runAt;
  if (i < 0 || i >= running.length || running[i] !== t) return false;
  const last = running.pop() as TaskRecord;
  if (last !== t) {
    running[i] = last;
    last.runAt = i;
  }
  t.runAt = -1;
  return true;
}

/** How many worker processes hold the result of `t`. */
export function holderCount(t: TaskRecord): number {
  return t.holder === undefined ? 0 : 1 + (t.moreHolders?.length ?? 0);
}

/** Whether worker `id` holds the result of `t`. */
export function holdsOn(t: TaskRecord, id: string): boolean {
  return t.holder === id || (t.moreHolders !== undefined && t.moreHolders.includes(id));
}

/** The holders of `t`, first holder first (a new array: not for the hot path). */
export function holdersOf(t: TaskRecord): string[] {
  if (t.holder === undefined) return [];
  return t.moreHolders === undefined ? [t.holder] : [t.holder, ...t.moreHolders];
}

/**
 * A worker. Its transition arguments (WorkerArgs) are its own fields, not an object it points to: an outcome
 * reads the worker anyway, and in a large cluster one more object is one more cache miss.
 */
export interface WorkerState extends WorkerArgs {
  id: string;
  threads: number;
  /**
   * The tasks running on it: a handful (at most its threads), in an array, in no order. A Set would do, but the
   * table of a Set whose entries come and go is made anew every few changes, and in a cluster of 1,000 workers
   * each of those tables lives long enough to be copied by scavenges; this array is never made anew.
   */
  processing: TaskRecord[];
  /** Results this (remote) worker holds. */
  has: Set<TaskRecord>;
  /** Sum of `nbytes` of what it holds. */
  nbytes: number;
  /** Whether it can hold results (a worker process); the scheduler's own pool keeps them in the scheduler. */
  holdsData: boolean;
  /** Tasks placed on this worker by their data, not yet taken (created at the first one: most workers never get any). */
  queue: ReadyQueue | undefined;
  /** How many tasks are queued on it now (its queue may also hold stale entries, skipped when taken). */
  queued: number;
  /** Its occupancy as LeastOccupancy last counted it (kept by that class alone). */
  counted?: number;
  /** It left (removeWorker): records still pointing at it must not count on it. */
  left: boolean;
}

/** A worker's transition arguments (transitions.ts TransitionArgs), immutable: dispatch and finish are the hot path, so they are made once, when it joins. */
export interface WorkerArgs {
  readonly dispatchArgs: WorkerTransitionArgs;
  readonly dispatchLocalArgs: WorkerTransitionArgs;
  readonly finishedArgs: WorkerTransitionArgs;
  readonly finishedThereArgs: WorkerTransitionArgs;
}

/** The part of transitions.ts TransitionArgs a worker's arguments use (declared here: tasks.ts imports no other part of the core). */
interface WorkerTransitionArgs {
  readonly event: string;
  readonly worker: string;
  readonly why?: string;
  readonly holder?: string;
}

/** A client as a key's wanter (clients.ts ClientState, which is its own outbox box): where its status updates go. */
export type Wanter = OutboxBox;

/**
 * Ready tasks, highest priority first. Priority-0 tasks (nearly all) wait in a FIFO in arrival order; only
 * tasks with another priority pay for the heap. Entries are dropped lazily: a popped task that is no longer
 * queued is skipped by the taker.
 */
export class ReadyQueue {
  private readonly fifo: Ring<TaskRecord>;
  private readonly heap: TaskRecord[] = [];

  constructor(capacity = 1024) {
    this.fifo = new Ring<TaskRecord>(capacity);
  }

  get length(): number {
    return this.fifo.length + this.heap.length;
  }

  push(t: TaskRecord): void {
    if (t.priority === 0) this.fifo.push(t);
    else this.heapPush(t);
  }

  pop(): TaskRecord | undefined {
    const top = this.heap[0];
    if (top !== undefined && (top.priority > 0 || this.fifo.length === 0)) return this.heapPop();
    return this.fifo.shift();
  }

  private heapPush(t: TaskRecord): void {
    const h = this.heap;
    h.push(t);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(h[i], h[p])) break;
      const x = h[i];
      h[i] = h[p];
      h[p] = x;
      i = p;
    }
  }

  private heapPop(): TaskRecord | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop() as TaskRecord;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && before(h[l], h[m])) m = l;
        if (r < h.length && before(h[r], h[m])) m = r;
        if (m === i) break;
        const x = h[i];
        h[i] = h[m];
        h[m] = x;
        i = m;
      }
    }
    return top;
  }
}

function before(a: TaskRecord, b: TaskRecord): boolean {
  return a.priority !== b.priority ? a.priority > b.priority : a.seq < b.seq;
}
