/**
 * The task half of the scheduler's sans-I/O core: every key's record, the workers, the ready queue, and the
 * one loop that changes task states. A stimulus (a submit, a worker's outcome, a lost worker…) asks for
 * transitions; each goes through the table in `transitions.ts`, whose functions perform the side effects and
 * recommend more; `settle()` applies recommendations until none are left, then collects keys that nobody holds
 * any more (which may recommend more), until the state is at rest. About 410 lines: the settle loop, the
 * collector and dispatch share the records' hot fields and are kept side by side on purpose (the hot path).
 */
import type { ErrorInfo } from '../protocol/errors';
import type { TaskSpec } from '../protocol/messages';
import { futureRef } from '../protocol/messages';
import { StoryLog } from './story-log';
import { type ExecTask, ReadyQueue, TaskRecord, type WorkerState } from './tasks';
import {
  type TaskState,
  type TransitionArgs,
  type TransitionContext,
  TASK_STATES,
  transitionFunction,
} from './transitions';

/** Transitions the story log keeps by default (the newest). */
export const STORY_CAPACITY = 100_000;

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
  readonly tasks = new Map<string, TaskRecord>();
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
  private stimulusSeq = 0;

  constructor(
    private readonly now: () => number,
    private readonly observer: TransitionObserver,
    storyCapacity = STORY_CAPACITY,
  ) {
    this.story = new StoryLog(storyCapacity);
  }

  // ---------------------------------------------------------------- the loop

  /** Moves `t` to `to` now, through the table. */
  transition(t: TaskRecord, to: TaskState, args: TransitionArgs): void {
    const from = t.state;
    const fn = transitionFunction(t.key, from, to);
    t.state = to;
    this.counts[from]--;
    this.counts[to]++;
    fn(this, t, args);
    if (to === 'forgotten') this.tasks.delete(t.key);
    const time = this.now();
    this.story.add(t.key, args.event, from, to, time, this.stimulusKind, this.stimulusSeq);
    this.observer.transitioned(t, from, to, time, args.worker);
  }

  /** A new stimulus begins: what follows until `settle()` is its doing. */
  begin(kind: string): void {
    this.stimulusKind = kind;
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
    if (t.worker) this.workers.get(t.worker)?.processing.delete(t);
    t.worker = undefined;
  }

  setHolder(t: TaskRecord, worker: string): void {
    t.holder = worker;
    this.workers.get(worker)?.has.add(t);
  }

  dropData(t: TaskRecord): void {
    t.value = undefined;
    if (t.holder !== undefined) {
      const w = this.workers.get(t.holder);
      if (w) {
        w.has.delete(t);
        this.freeOn(t.holder, t.key);
      }
      t.holder = undefined;
    }
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
      this.tasks.set(key, t);
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
    t.seq = this.seq++;
    t.priority = typeof spec.priority === 'number' && Number.isFinite(spec.priority) ? spec.priority : 0;
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
    t.seq = this.seq++;
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

  addWorker(id: string, threads: number): void {
    this.workers.set(id, { id, threads, processing: new Set(), has: new Set() });
  }

  /** A worker left: its running tasks go back to the queue; results it held are recomputed, or lost. */
  removeWorker(id: string): WorkerState | undefined {
    const w = this.workers.get(id);
    if (!w) return undefined;
    for (const t of [...w.processing]) this.transition(t, 'queued', { event: 'worker-lost', worker: id });
    const held = [...w.has];
    this.workers.delete(id);
    this.argsByWorker.delete(id);
    if (this.lastWorker === id) {
      this.lastWorker = undefined;
      this.lastArgs = undefined;
    }
    const done = new Set<TaskRecord>();
    for (const t of held) this.recompute(t, w.has, done, id);
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

  /** Hands up to `max` ready tasks to worker `workerId` (queued -> processing), each as a new run. */
  takeReady(workerId: string, max: number): ExecTask[] {
    const w = this.workers.get(workerId);
    if (!w) return [];
    const out: ExecTask[] = [];
    const dispatched = this.dispatchArgs(workerId);
    while (out.length < max && this.ready.length > 0) {
      const t = this.ready.pop() as TaskRecord;
      if (t.state !== 'queued') continue; // moved on while queued (cancelled, forgotten, waiting again)
      // A task that was on a dying thread runs alone, so a crash can be pinned on it.
      if (t.suspicious > 0 && out.length > 0) {
        this.ready.push(t);
        break;
      }
      t.run = ++this.runs;
      t.worker = workerId;
      w.processing.add(t);
      this.transition(t, 'processing', dispatched);
      const exec: ExecTask = { key: t.key, run: t.run, fn: t.fn, args: t.args ?? [] };
      if (t.deps) {
        const deps: Record<string, unknown> = {};
        for (const d of t.deps) {
          if (d.holder === undefined) deps[d.key] = d.value;
          else (exec.at ??= {})[d.key] = [d.holder];
        }
        exec.deps = deps;
      }
      out.push(exec);
      if (t.suspicious > 0) {
        exec.alone = true;
        break;
      }
    }
    return out;
  }

  // Dispatch and finish are the hot path: their (immutable) transition arguments are made once per worker.
  private readonly argsByWorker = new Map<string, { dispatch: TransitionArgs; finished: TransitionArgs; finishedThere: TransitionArgs }>();

  // The last worker asked for, and its arguments (two fields: a miss, frequent with many workers, allocates nothing).
  private lastWorker: string | undefined;
  private lastArgs: { dispatch: TransitionArgs; finished: TransitionArgs; finishedThere: TransitionArgs } | undefined;

  private workerArgs(worker: string) {
    // Outcomes come in runs from one worker: the last one asked for is often the one asked for again.
    if (this.lastWorker === worker && this.lastArgs) return this.lastArgs;
    let args = this.argsByWorker.get(worker);
    if (!args) {
      args = {
        dispatch: Object.freeze({ event: 'dispatch', worker }),
        finished: Object.freeze({ event: 'task-finished', worker }),
        finishedThere: Object.freeze({ event: 'task-finished', worker, holder: worker }),
      };
      this.argsByWorker.set(worker, args);
    }
    this.lastWorker = worker;
    this.lastArgs = args;
    return args;
  }

  private dispatchArgs(worker: string): TransitionArgs {
    return this.workerArgs(worker).dispatch;
  }

  /** A finished run's arguments: the result stays on `worker` (`remote`), or is on the record already. */
  private finishedArgs(worker: string, remote: boolean): TransitionArgs {
    const args = this.workerArgs(worker);
    return remote ? args.finishedThere : args.finished;
  }

  /** The task of `key` if `run` on `worker` is its current run; otherwise the outcome is stale and noted in the story. */
  private current(key: string, worker: string, run: number, what: string): TaskRecord | undefined {
    const t = this.tasks.get(key);
    if (t !== undefined && t.state === 'processing' && t.run === run && t.worker === worker) return t;
    if (t) this.storyNote(t, `stale-${what}:run-${run}@${worker}`);
    return undefined;
  }

  taskFinished(key: string, worker: string, run: number, value: unknown, remote: boolean): void {
    const t = this.current(key, worker, run, 'result');
    if (!t) {
      // A remote worker keeps what it computed; unless it now holds this key's current result, it drops it.
      if (remote && this.tasks.get(key)?.holder !== worker) this.freeOn(worker, key);
      return;
    }
    t.suspicious = 0;
    if (!remote) t.value = value;
    this.transition(t, 'memory', this.finishedArgs(worker, remote));
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

  private freeOn(workerId: string, key: string): void {
    let keys = this.frees.get(workerId);
    if (!keys) this.frees.set(workerId, (keys = []));
    keys.push(key);
  }

  /** Keys remote workers may drop, by worker, since the last call. */
  drainFrees(): Map<string, string[]> {
    const out = this.frees;
    this.frees = new Map();
    return out;
  }

  /** Notes something that happened to `t` without a transition (a declined cancel). */
  storyNote(t: TaskRecord, event: string): void {
    this.story.add(t.key, event, t.state, t.state, this.now(), this.stimulusKind, this.stimulusSeq);
  }

  storyOf(key: string) {
    return this.story.storyOf(key);
  }
}

/** Nobody holds `t`: no client wants it, no channel slot, no dependent. */
export function isUnheld(t: TaskRecord): boolean {
  return t.wanters === undefined && t.channelRefs === 0 && t.holds === 0;
}
