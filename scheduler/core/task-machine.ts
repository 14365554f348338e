/**
 * The task half of the scheduler's sans-I/O core: every key's record, the workers, the ready queue, and the
 * one loop that changes task states. A stimulus (a submit, a worker's outcome, a lost worker…) asks for
 * transitions; each goes through the table in `transitions.ts`, whose functions perform the side effects and
 * recommend more; `settle()` applies recommendations until none are left, then collects keys that nobody holds
 * any more (which may recommend more), until the state is at rest. Ready tasks wait in the shared queue or,
 * placed by their data, in one worker's own queue; `takeReady` takes its own, then the shared, then steals.
 * About 640 lines: the settle loop, the collector, placement and dispatch share the records' hot fields and
 * are kept side by side on purpose (the hot path).
 */
import type { ErrorInfo } from '../protocol/errors';
import type { TaskSpec } from '../protocol/messages';
import { futureRef } from '../protocol/messages';
import { KeyTable } from '../util/key-table';
import { LeastOccupancy, occupancy, QueueLengths } from './occupancy';
import { StoryLog } from './story-log';
import { addRunning, type ExecTask, holdsOn, ReadyQueue, removeRunning, TaskRecord, type WorkerState } from './tasks';
import {
  type TaskState,
  type TransitionArgs,
  type TransitionContext,
  TASK_STATES,
  transitionFunction,
} from './transitions';

/** Transitions the story log keeps by default (the newest). */
export const STORY_CAPACITY = 100_000;

/**
 * Placement by data (after Dask's `decide_worker`). A ready task whose dependencies' bytes are mostly on one
 * worker process is queued for that worker, so that they need not move. Below this total it is not worth it:
 * moving a few KiB costs about what a message does, while waiting for one particular worker can cost a task's
 * whole duration; such tasks go to the shared queue, taken by whichever worker is free first.
 */
export const PLACE_MIN_BYTES = 64 * 1024;

/**
 * The occupancy rule: the worker holding the data is skipped (the task goes to the shared queue) when its
 * occupancy — tasks queued on it plus tasks it is running, per thread — exceeds the least occupied worker's
 * times OCCUPANCY_FACTOR plus OCCUPANCY_SLACK. Moving the bytes costs a transfer once; waiting behind a long
 * queue costs the durations of the tasks ahead, which the core does not know. The slack lets a few tasks per
 * thread wait for their data's worker (they start within about one task's time), the factor keeps a loaded
 * cluster from sending everything elsewhere, and beyond both the wait is likely to cost more than the move.
 */
export const OCCUPANCY_FACTOR = 2;
export const OCCUPANCY_SLACK = 2;

/**
 * Work stealing: a worker with free threads and nothing in its own or the shared queue takes tasks from the
 * longest own queue, but only the part of it beyond what its worker will start soon (this many per thread):
 * stealing what the owner would start next moves data for nothing.
 */
export const STEAL_PER_THREAD = 2;

/** What drainFrees returns when nothing is to be freed (read only: nobody may add to it). */
const NO_FREES: ReadonlyMap<string, string[]> = new Map();

/** Why a task went to a worker, as the story records it. */
const WHY_LOCAL = 'local-data';
const WHY_SHARED = 'shared';

const SUBMITTED: TransitionArgs = Object.freeze({ event: 'submit' });
const RELEASED: TransitionArgs = Object.freeze({ event: 'released' });

interface Recommendation {
  t: TaskRecord;
  /** The state `t` was in when this was recommended: if it moved since, the recommendation is stale. */
  from: TaskState;
  to: TaskState;
  args: TransitionArgs;
}

/** Told of every transition, for status messages and observer events. */
export interface TransitionObserver {
  transitioned(t: TaskRecord, from: TaskState, to: TaskState, time: number, worker: string | undefined): void;
}

export class TaskMachine implements TransitionContext {
  /** Every key's record; looked up in the order keys were made, which the table answers without hashing. */
  readonly tasks = new KeyTable<TaskRecord>();
  readonly workers = new Map<string, WorkerState>();
  readonly ready = new ReadyQueue();
  readonly counts = Object.fromEntries(TASK_STATES.map((s) => [s, 0])) as Record<TaskState, number>;
  private readonly story: StoryLog;
  private recs: Recommendation[] = [];
  private candidates: TaskRecord[] = [];
  private frees = new Map<string, string[]>();
  private seq = 0;
  private runs = 0;
  /** The stimulus being handled (its kind and sequence number), recorded with every transition and drop in the story. */
  private stimulusKind = '';
  /** The client whose message it is, if it is one: the story reads `<client>:<kind>` (not made into a string per message). */
  private stimulusClient: string | undefined;
  private stimulusSeq = 0;

  constructor(
    private readonly now: () => number,
    private readonly observer: TransitionObserver,
    storyCapacity = STORY_CAPACITY,
  ) {
    this.story = new StoryLog(storyCapacity);
    this.least = new LeastOccupancy(this.workers);
  }

  // ---------------------------------------------------------------- the loop

  /** Moves `t` to `to` now, through the table. */
  transition(t: TaskRecord, to: TaskState, args: TransitionArgs): void {
    const from = t.state;
    const fn = transitionFunction(t.key, from, to);
    if (t.queuedOn !== undefined) this.unplace(t); // leaves its worker's own queue (the entry there goes stale)
    t.state = to;
    this.counts[from]--;
    this.counts[to]++;
    fn(this, t, args);
    if (to === 'forgotten') this.tasks.remove(t);
    const time = this.now();
    // Where (and why there) is the arguments' worker, or for a task placed by its data, the worker it waits for.
    const placed = t.queuedOn;
    const where = placed === undefined ? (args.worker !== undefined ? args : undefined) : placed.dispatchLocalArgs;
    this.story.add(t.key, args.event, from, to, time, this.stimulusKind, this.stimulusSeq, where, this.stimulusClient);
    this.observer.transitioned(t, from, to, time, args.worker);
  }

  /** A new stimulus begins: what follows until `settle()` is its doing. */
  begin(kind: string, client?: string): void {
    this.stimulusKind = kind;
    this.stimulusClient = client;
    this.stimulusSeq++;
  }

  recommend(t: TaskRecord, to: TaskState, args: TransitionArgs): void {
    this.recs.push({ t, from: t.state, to, args });
  }

  candidate(t: TaskRecord): void {
    this.candidates.push(t);
  }

  /** Applies recommendations, then forgets keys nobody holds, until nothing is left to do. */
  settle(): void {
    while (this.recs.length > 0 || this.candidates.length > 0) {
      while (this.recs.length > 0) {
        const recs = this.recs;
        this.recs = [];
        for (const r of recs) if (r.t.state === r.from && r.t.state !== r.to) this.transition(r.t, r.to, r.args);
      }
      // Collect: forgetting a key may let go of its dependencies (new candidates) or recommend more.
      while (this.candidates.length > 0) {
        const batch = this.candidates;
        this.candidates = [];
        for (const t of batch) {
          if (t.state !== 'forgotten' && this.tasks.get(t.key) === t && isUnheld(t)) this.transition(t, 'forgotten', RELEASED);
        }
      }
    }
  }

  // ---------------------------------------------------------------- context for transition functions

  leaveWorker(t: TaskRecord): void {
    const w = t.runOn;
    if (w !== undefined && !w.left && removeRunning(w.processing, t)) this.least.update(w);
    t.runOn = undefined;
  }

  /**
   * The worker whose outcome is being handled (taskFinished), so that the transition it causes finds it
   * without a lookup by id.
   */
  private outcomeOf: WorkerState | undefined;

  setHolder(t: TaskRecord, worker: string): void {
    t.holder = worker;
    t.moreHolders = undefined;
    const o = this.outcomeOf;
    const w = o !== undefined && o.id === worker && !o.left ? o : this.workers.get(worker);
    if (w) {
      w.has.add(t);
      w.nbytes += t.nbytes;
    }
  }

  /** One more worker holds a copy of `t`'s result (`replicate`). */
  addReplica(t: TaskRecord, worker: string): void {
    if (holdsOn(t, worker)) return;
    if (t.holder === undefined) t.holder = worker;
    else (t.moreHolders ??= []).push(worker);
    const w = this.workers.get(worker);
    if (w) {
      w.has.add(t);
      w.nbytes += t.nbytes;
    }
  }

  /** Worker `worker` no longer holds `t` (it left); the first of the others becomes the first holder. */
  private removeHolder(t: TaskRecord, worker: string): void {
    if (t.holder === worker) {
      const more = t.moreHolders;
      t.holder = more?.shift();
      if (more !== undefined && more.length === 0) t.moreHolders = undefined;
    } else if (t.moreHolders !== undefined) {
      const i = t.moreHolders.indexOf(worker);
      if (i >= 0) t.moreHolders.splice(i, 1);
      if (t.moreHolders.length === 0) t.moreHolders = undefined;
    }
  }

  dropData(t: TaskRecord): void {
    t.value = undefined;
    if (t.holder !== undefined) {
      this.dropOn(t, t.holder);
      if (t.moreHolders !== undefined) for (const h of t.moreHolders) this.dropOn(t, h);
      t.holder = undefined;
      t.moreHolders = undefined;
    }
    t.nbytes = 0;
  }

  private dropOn(t: TaskRecord, holder: string): void {
    const w = this.workers.get(holder);
    if (!w) return;
    if (w.has.delete(t)) w.nbytes -= t.nbytes;
    this.freeOn(holder, t.key);
  }

  // ---------------------------------------------------------------- queues and placement

  /** Ready tasks not yet taken: the shared queue and every worker's own (the shared one may count stale entries). */
  get readyCount(): number {
    return this.ready.length + this.placed;
  }

  /** Tasks queued on workers' own queues now. */
  private placed = 0;
  /** The workers with tasks in their own queue, by how many (those a worker may steal from). */
  private readonly queueLengths = new QueueLengths();
  private readonly least: LeastOccupancy;

  enqueue(t: TaskRecord): void {
    // Tasks without dependencies on worker processes (nearly all of them, in most workloads) pay one check.
    const deps = t.deps;
    if (deps !== undefined && this.remoteBytes(deps) >= PLACE_MIN_BYTES) {
      const w = this.placement(t, deps);
      if (w !== undefined) {
        (w.queue ??= new ReadyQueue(16)).push(t);
        w.queued++;
        this.queueLengths.grew(w);
        this.least.update(w);
        this.placed++;
        t.queuedOn = w;
        return;
      }
    }
    this.ready.push(t);
  }

  /** `t` leaves the own queue of the worker it was placed on (dispatched, moved on, or that worker left). */
  private unplace(t: TaskRecord): void {
    const w = t.queuedOn as WorkerState;
    // Emptied: the queue goes (with any stale entries, which would otherwise keep forgotten records alive).
    if (--w.queued === 0) w.queue = undefined;
    this.queueLengths.shrank(w);
    this.least.update(w);
    this.placed--;
    t.queuedOn = undefined;
  }

  /** Bytes of these dependencies held on worker processes. */
  private remoteBytes(deps: TaskRecord[]): number {
    let total = 0;
    for (const d of deps) if (d.holder !== undefined) total += d.nbytes;
    return total;
  }

  /** The worker process holding most of `deps`' bytes, when it holds most of them and is not too busy. */
  private placement(t: TaskRecord, deps: TaskRecord[]): WorkerState | undefined {
    let total = 0;
    let best: WorkerState | undefined;
    let bestBytes = 0;
    for (const d of deps) {
      if (d.holder === undefined) continue;
      total += d.nbytes;
      for (let i = -1; i < (d.moreHolders?.length ?? 0); i++) {
        const h = i < 0 ? d.holder : (d.moreHolders as string[])[i];
        if (h === best?.id) continue;
        const w = this.workers.get(h);
        if (w === undefined) continue; // leaving
        let bytes = 0;
        for (const e of deps) if (e.holder !== undefined && holdsOn(e, h)) bytes += e.nbytes;
        if (bytes > bestBytes) {
          best = w;
          bestBytes = bytes;
        }
      }
    }
    // Mostly: more than half of the bytes. Otherwise they move wherever the task runs.
    if (best === undefined || bestBytes * 2 <= total) return undefined;
    const least = this.least.value();
    if (occupancy(best) > least * OCCUPANCY_FACTOR + OCCUPANCY_SLACK) {
      this.storyNote(t, 'not-placed', best.id, `busy: ${occupancy(best).toFixed(1)} tasks per thread, least ${least.toFixed(1)}`);
      return undefined;
    }
    return best;
  }

  // ---------------------------------------------------------------- defining keys

  /**
   * The record of `key`, created as a placeholder (released, nothing defined) when unknown. The caller holds
   * it at once (a want) or defines it; otherwise it must make it a `candidate` so that it is dropped again.
   */
  record(key: string): TaskRecord {
    let t = this.tasks.get(key);
    if (!t) {
      t = new TaskRecord(key);
      this.tasks.add(t);
      this.counts.released++;
    }
    return t;
  }

  /** Whether a submit of `t`'s key (re)defines it, instead of sharing what is there. */
  definable(t: TaskRecord): boolean {
    return t.placeholder || t.state === 'cancelled' || t.state === 'lost';
  }

  /** Defines `t` as a task (not yet placed: `place` does that once every task of the submit exists). */
  define(t: TaskRecord, spec: TaskSpec, fnId: string, args: unknown[], deps: TaskRecord[] | undefined): void {
    t.fn = fnId;
    t.args = args;
    t.deps = deps;
    t.linked = false;
    t.error = undefined;
    t.suspicious = 0;
    t.priority = typeof spec.priority === 'number' && Number.isFinite(spec.priority) ? spec.priority : 0;
    // Only tasks of another priority than 0 are ordered by it (the ReadyQueue's heap; the rest keep arrival order).
    if (t.priority !== 0) t.seq = ++this.seq;
    t.retries = typeof spec.retries === 'number' && spec.retries > 0 ? Math.floor(spec.retries) : 0;
  }

  /** Moves a defined task where it belongs now: erred (a dependency failed), waiting, or queued. */
  place(t: TaskRecord): void {
    let failed: TaskRecord | undefined;
    let waiting = false;
    for (const d of t.deps ?? []) {
      if (d.state === 'erred' || d.state === 'cancelled' || d.state === 'lost') failed ??= d;
      else if (d.state !== 'memory') waiting = true;
    }
    if (failed) {
      const error = failed.error ?? { name: 'CancelledError', message: `dependency ${failed.key} was ${failed.state}`, code: 'ERR_CANCELLED', key: failed.key };
      this.transition(t, 'erred', { event: `dependency-failed:${failed.key}`, error });
    } else {
      this.transition(t, waiting ? 'waiting' : 'queued', SUBMITTED);
    }
  }

  /** A value held here (scatter, graph literal): the key is in memory with it, unless it already is. */
  defineData(t: TaskRecord, value: unknown, event: string): void {
    if (!this.definable(t)) return;
    t.fn = '';
    t.deps = undefined;
    this.transition(t, 'memory', { event, value });
  }

  /** The record of a dependency key; an unknown key is created as erred so the dependent errs clearly. */
  depRecord(key: string): TaskRecord {
    const t = this.tasks.get(key);
    if (t) return t;
    const missing = this.record(key);
    this.candidate(missing); // nobody holds it unless a dependent links it (it errs instead)
    const error: ErrorInfo = { name: 'FutureReleasedError', message: `dependency ${key} is not held by the scheduler`, code: 'ERR_FUTURE_RELEASED', key };
    this.transition(missing, 'erred', { event: 'missing-dependency', error });
    return missing;
  }

  /** A graph argument: a string naming a key of the graph or an existing task becomes a dependency. */
  graphArg(a: unknown, graphKeys: Set<string>, deps: Set<string>): unknown {
    if (typeof a === 'string' && (graphKeys.has(a) || this.tasks.has(a))) {
      deps.add(a);
      return futureRef(a);
    }
    if (Array.isArray(a)) return a.map((x) => this.graphArg(x, graphKeys, deps));
    return a;
  }

  /** Cancels `t` for everyone (and, through the table, what depends on it). */
  cancel(t: TaskRecord, event: string): void {
    if (t.state === 'released' || t.state === 'waiting' || t.state === 'queued' || t.state === 'processing' || t.state === 'memory') {
      this.recommend(t, 'cancelled', { event });
    }
  }

  // ---------------------------------------------------------------- workers

  /** `holdsData`: a worker process, which keeps the results it computes; false for the scheduler's own pool. */
  addWorker(id: string, threads: number, holdsData = true): void {
    const w: WorkerState = {
      id,
      threads,
      processing: [],
      has: new Set(),
      nbytes: 0,
      holdsData,
      queue: undefined,
      queued: 0,
      counted: undefined,
      left: false,
      dispatchArgs: Object.freeze({ event: 'dispatch', worker: id, why: WHY_SHARED }),
      dispatchLocalArgs: Object.freeze({ event: 'dispatch', worker: id, why: WHY_LOCAL }),
      finishedArgs: Object.freeze({ event: 'task-finished', worker: id }),
      finishedThereArgs: Object.freeze({ event: 'task-finished', worker: id, holder: id }),
    };
    this.workers.set(id, w);
    this.least.update(w);
  }

  /**
   * A worker left: tasks queued on it go to the shared queue, its running tasks back to the queues; results
   * it held stay where another worker holds a copy, and are otherwise recomputed, or lost.
   */
  removeWorker(id: string): WorkerState | undefined {
    const w = this.workers.get(id);
    if (!w) return undefined;
    // Gone first, so that placing the tasks it ran or had queued never picks it.
    this.workers.delete(id);
    w.left = true;
    const queue = w.queue;
    if (queue !== undefined) {
      for (let t = queue.pop(); t !== undefined; t = queue.pop()) {
        if (t.queuedOn !== w) continue; // a stale entry
        this.unplace(t);
        this.ready.push(t);
        this.storyNote(t, 'unplaced', id, 'worker-lost');
      }
      w.queue = undefined;
    }
    // Counted until here (its queue's entries left it above); its running tasks are placed anew below.
    this.least.left(w);
    for (const t of [...w.processing]) this.transition(t, 'queued', { event: 'worker-lost', worker: id });
    const gone = new Set<TaskRecord>();
    for (const t of w.has) {
      this.removeHolder(t, id);
      if (t.holder === undefined) gone.add(t);
      else this.storyNote(t, 'replica-lost', id);
    }
    const done = new Set<TaskRecord>();
    for (const t of gone) this.recompute(t, gone, done, id);
    return w;
  }

  /** A result lost with its worker: computed again (its lost dependencies first), or marked lost. */
  private recompute(t: TaskRecord, lost: Set<TaskRecord>, done: Set<TaskRecord>, worker: string): void {
    if (done.has(t) || t.state !== 'memory') return;
    done.add(t);
    const deps = t.deps ?? [];
    for (const d of deps) if (lost.has(d)) this.recompute(d, lost, done, worker);
    if (t.fn === '' || deps.some((d) => d.state === 'lost' || d.state === 'erred' || d.state === 'cancelled' || d.state === 'forgotten')) {
      const error: ErrorInfo = { name: 'FutureLostError', message: `future ${t.key} was lost with worker ${worker} and cannot be recomputed`, code: 'ERR_FUTURE_LOST', key: t.key };
      this.transition(t, 'lost', { event: 'worker-lost', error });
      return;
    }
    const waiting = deps.some((d) => d.state !== 'memory');
    this.transition(t, waiting ? 'waiting' : 'queued', { event: 'recompute' });
  }

  /**
   * Hands up to `max` ready tasks to worker `workerId` (queued -> processing), each as a new run: from its own
   * queue first, then the shared queue, then (work stealing) from the longest own queue of another worker.
   */
  takeReady(workerId: string, max: number): ExecTask[] {
    const w = this.workers.get(workerId);
    if (!w) return [];
    const out: ExecTask[] = [];
    if (w.queued > 0 && !this.takeFrom(w.queue as ReadyQueue, w, w, max, out, w.dispatchLocalArgs)) return out;
    if (out.length < max && this.ready.length > 0 && !this.takeFrom(this.ready, undefined, w, max, out, w.dispatchArgs)) return out;
    if (out.length < max && this.placed > 0) {
      // Work stealing: the longest own queue of another worker, beyond what that worker will start soon.
      const victim = this.queueLengths.longestExcept(w);
      const spare = victim === undefined ? 0 : victim.queued - victim.threads * STEAL_PER_THREAD;
      if (victim !== undefined && spare > 0) {
        const stolen: TransitionArgs = { event: 'dispatch', worker: workerId, why: `stolen from ${victim.id}` };
        this.takeFrom(victim.queue as ReadyQueue, victim, w, Math.min(max, out.length + spare), out, stolen);
      }
    }
    return out;
  }

  /**
   * Dispatches tasks of `queue` (the own queue of `owner`, or the shared one) to `w` until `out` has `max`.
   * False when it stopped for a task that must run alone: nothing more may go with it.
   */
  private takeFrom(queue: ReadyQueue, owner: WorkerState | undefined, w: WorkerState, max: number, out: ExecTask[], args: TransitionArgs): boolean {
    while (out.length < max && queue.length > 0) {
      const t = queue.pop() as TaskRecord;
      if (t.state !== 'queued' || t.queuedOn !== owner) continue; // moved on while queued: a stale entry
      // A task that was on a dying thread runs alone, so a crash can be pinned on it.
      if (t.suspicious > 0 && out.length > 0) {
        queue.push(t);
        return false;
      }
      t.run = ++this.runs;
      t.runOn = w;
      addRunning(w.processing, t); // queued until now: not running anywhere
      this.least.update(w);
      this.transition(t, 'processing', args);
      const exec: ExecTask = { key: t.key, run: t.run, fn: t.fn, args: t.args ?? [] };
      if (t.deps) {
        const deps: Record<string, unknown> = {};
        for (const d of t.deps) {
          if (d.holder === undefined) deps[d.key] = d.value;
          else (exec.at ??= {})[d.key] = d.moreHolders === undefined ? [d.holder] : this.holderOrder(d, w.id);
        }
        exec.deps = deps;
      }
      out.push(exec);
      if (t.suspicious > 0) {
        exec.alone = true;
        return false;
      }
    }
    return true;
  }

  /**
   * Every holder of `d`, in the order to ask them: the dispatching worker first when it holds a copy (then
   * nothing moves), then the others least occupied first (a busy worker serves data later).
   */
  private holderOrder(d: TaskRecord, dispatchedTo: string): string[] {
    const others = [d.holder as string, ...(d.moreHolders as string[])].filter((h) => h !== dispatchedTo);
    others.sort((a, b) => occupancyOf(this.workers.get(a)) - occupancyOf(this.workers.get(b)));
    return holdsOn(d, dispatchedTo) ? [dispatchedTo, ...others] : others;
  }

  /** The task of `key` if `run` on `worker` is its current run; otherwise the outcome is stale and noted in the story. */
  private current(key: string, worker: string, run: number, what: string): TaskRecord | undefined {
    const t = this.tasks.get(key);
    if (t !== undefined && t.state === 'processing' && t.run === run && t.runOn !== undefined && t.runOn.id === worker) return t;
    if (t) this.storyNote(t, `stale-${what}:run-${run}@${worker}`);
    return undefined;
  }

  /** `nbytes`: the size of a result kept on its worker process (`remote`). */
  taskFinished(key: string, worker: string, run: number, value: unknown, remote: boolean, nbytes = 0): void {
    const t = this.current(key, worker, run, 'result');
    if (!t) {
      // A remote worker keeps what it computed; unless it now holds this key's current result, it drops it.
      if (remote) {
        const now = this.tasks.get(key);
        if (now === undefined || !holdsOn(now, worker)) this.freeOn(worker, key);
      }
      return;
    }
    t.suspicious = 0;
    if (!remote) t.value = value;
    else t.nbytes = nbytes;
    const w = t.runOn as WorkerState;
    this.outcomeOf = w;
    try {
      this.transition(t, 'memory', remote ? w.finishedThereArgs : w.finishedArgs);
    } finally {
      this.outcomeOf = undefined;
    }
  }

  taskErred(key: string, worker: string, run: number, error: ErrorInfo): void {
    const t = this.current(key, worker, run, 'error');
    if (!t) return;
    if (t.retries > 0) {
      t.retries--;
      this.transition(t, 'queued', { event: 'retry', worker });
      return;
    }
    this.transition(t, 'erred', { event: 'task-erred', worker, error: { ...error, key: t.key } });
  }

  /** The thread running the task died. The first time the task runs again alone; the second time it errs. */
  taskCrashed(key: string, worker: string, run: number, reason: ErrorInfo): void {
    const t = this.current(key, worker, run, 'crash');
    if (!t) return;
    if (t.suspicious === 0) {
      t.suspicious = 1;
      this.transition(t, 'queued', { event: 'thread-died', worker });
      return;
    }
    const error: ErrorInfo = { name: 'WorkerCrashedError', message: `the worker thread died while running ${t.key}: ${reason.message}`, stack: reason.stack, code: 'ERR_WORKER_CRASHED', key: t.key };
    this.transition(t, 'erred', { event: 'thread-died', worker, error });
  }

  /** A dispatched task's dependencies could not be brought (their worker was lost): it waits for them again. */
  taskNeedsDeps(key: string, worker: string, run: number): void {
    const t = this.current(key, worker, run, 'missing-deps');
    if (!t) return;
    const failed = (t.deps ?? []).find((d) => d.state === 'erred' || d.state === 'lost' || d.state === 'cancelled');
    if (failed) {
      const error = failed.error ?? { name: 'FutureLostError', message: `dependency ${failed.key} is ${failed.state}`, code: 'ERR_FUTURE_LOST', key: failed.key };
      this.transition(t, 'erred', { event: 'dependency-unavailable', worker, error });
      return;
    }
    const waiting = (t.deps ?? []).some((d) => d.state !== 'memory');
    this.transition(t, waiting ? 'waiting' : 'queued', { event: 'dependency-lost', worker });
  }

  /** Tells worker `workerId` it may drop its copy of `key` (with the next `drainFrees`). */
  freeOn(workerId: string, key: string): void {
    let keys = this.frees.get(workerId);
    if (!keys) this.frees.set(workerId, (keys = []));
    keys.push(key);
  }

  /** Keys remote workers may drop, by worker, since the last call. */
  drainFrees(): ReadonlyMap<string, string[]> {
    const out = this.frees;
    // Nearly every drain finds none: nothing is allocated for it (the server drains after every event).
    if (out.size === 0) return NO_FREES;
    this.frees = new Map();
    return out;
  }

  /** Notes something that happened to `t` without a transition (a declined cancel, a copy made). */
  storyNote(t: TaskRecord, event: string, worker?: string, why?: string): void {
    this.story.add(t.key, event, t.state, t.state, this.now(), this.stimulusKind, this.stimulusSeq, worker === undefined && why === undefined ? undefined : { worker, why }, this.stimulusClient);
  }

  storyOf(key: string) {
    return this.story.storyOf(key);
  }
}


export { occupancy } from './occupancy';

function occupancyOf(w: WorkerState | undefined): number {
  return w === undefined ? Infinity : occupancy(w);
}

/** Nobody holds `t`: no client wants it, no channel slot, no dependent. */
export function isUnheld(t: TaskRecord): boolean {
  return t.wanters === undefined && t.channelRefs === 0 && t.holds === 0;
}
