/**
 * The one table of task transitions (after Dask's scheduler): `(from, to)` maps to the function that performs
 * exactly that transition's side effects — linking dependencies, queueing, dropping data, waking or failing
 * dependents — and recommends further transitions, which the TaskMachine applies until none are left. Nothing
 * else changes a task's state, and a pair that is not in the table throws at once.
 */
import type { ErrorInfo } from '../protocol/errors';
import type { FutureStatus } from '../protocol/messages';
import { addDependent, dependentsOf, removeDependent, type TaskRecord, type TaskState } from './tasks';

export type { TaskState };

/** What a transition needs besides the task: why it happens, and the payload of the stimulus. */
export interface TransitionArgs {
  /** What caused it (recorded in the key's story). */
  event: string;
  worker?: string;
  /** The result, when it is kept here. */
  value?: unknown;
  /** The remote worker that keeps the result. */
  holder?: string;
  /** Why a dispatch went to `worker` (recorded in the story): 'local-data', 'shared', 'stolen from <id>'. */
  why?: string;
  error?: ErrorInfo;
}

/** The part of the TaskMachine that transition functions act on. */
export interface TransitionContext {
  /** Puts a ready task in a queue: the own queue of the worker holding its data, or the shared one. */
  enqueue(t: TaskRecord): void;
  /** Asks for `t` to move to `to` once the current transition is done (dropped if `t` moved meanwhile). */
  recommend(t: TaskRecord, to: TaskState, args: TransitionArgs): void;
  /** `t` may have lost its last holder: checked by the collector after the stimulus. */
  candidate(t: TaskRecord): void;
  /** Takes `t` off the worker running it. */
  leaveWorker(t: TaskRecord): void;
  /** Records that `worker` holds the result of `t` (its only holder: a finished run). */
  setHolder(t: TaskRecord, worker: string): void;
  /** Drops the result of `t`, here or on every remote worker holding it. */
  dropData(t: TaskRecord): void;
}

type TransitionFn = (ctx: TransitionContext, t: TaskRecord, args: TransitionArgs) => void;

// ------------------------------------------------------------------ shared steps

/** Counts `t` in its dependencies' holds (once). */
function link(t: TaskRecord): void {
  if (t.linked || !t.deps) return;
  t.linked = true;
  for (const d of t.deps) {
    addDependent(d, t);
    d.holds++;
  }
}

/** Lets go of `t`'s dependencies: they may now be forgotten. */
function unlink(ctx: TransitionContext, t: TaskRecord): void {
  if (!t.linked || !t.deps) return;
  t.linked = false;
  for (const d of t.deps) {
    d.holds--;
    removeDependent(d, t);
    ctx.candidate(d);
  }
}

/** Waiting count from scratch: dependencies not in memory. */
function countWaiting(t: TaskRecord): number {
  let n = 0;
  if (t.deps) for (const d of t.deps) if (d.state !== 'memory') n++;
  return n;
}

const ACTIVE = new Set<TaskState>(['released', 'waiting', 'queued', 'processing']);

/** Dependents that have not finished: they fail, or are cancelled, with `t`. */
function cascade(ctx: TransitionContext, t: TaskRecord, to: 'erred' | 'cancelled', args: TransitionArgs): void {
  for (const d of dependentsOf(t)) if (ACTIVE.has(d.state)) ctx.recommend(d, to, args);
}

/** `t` reached memory: dependents waiting only for it become ready. */
function wakeDependents(ctx: TransitionContext, t: TaskRecord): void {
  const ds = t.dependents;
  // Nearly always one dependent: no iterator made for it.
  if (ds instanceof Set) for (const d of ds) wake(ctx, d);
  else if (ds !== undefined) wake(ctx, ds);
}

/** One of `d`'s dependencies reached memory: `d` is ready once none is left to wait for. */
function wake(ctx: TransitionContext, d: TaskRecord): void {
  if (d.state === 'waiting' && --d.waitingOn === 0) ctx.recommend(d, 'queued', { event: 'dependencies-ready' });
}

/** `t` left memory to be computed again: dependents must wait for it again. */
function unwakeDependents(ctx: TransitionContext, t: TaskRecord): void {
  for (const d of dependentsOf(t)) {
    if (d.state === 'waiting') d.waitingOn++;
    else if (d.state === 'queued') ctx.recommend(d, 'waiting', { event: `dependency-lost:${t.key}` });
  }
}

function toWaiting(ctx: TransitionContext, t: TaskRecord): void {
  link(t);
  t.waitingOn = countWaiting(t);
  if (t.waitingOn === 0) throw new Error(`${t.key} has no dependency to wait for`);
}

function toQueued(ctx: TransitionContext, t: TaskRecord): void {
  link(t);
  t.waitingOn = countWaiting(t);
  if (t.waitingOn !== 0) throw new Error(`${t.key} is not ready: ${t.waitingOn} dependencies are not in memory`);
  ctx.enqueue(t);
}

function toErred(ctx: TransitionContext, t: TaskRecord, args: TransitionArgs): void {
  t.error = args.error ?? { name: 'Error', message: `task ${t.key} failed`, key: t.key };
  unlink(ctx, t);
  t.args = undefined;
  cascade(ctx, t, 'erred', { event: `dependency-erred:${t.key}`, error: t.error });
}

function toCancelled(ctx: TransitionContext, t: TaskRecord): void {
  unlink(ctx, t);
  t.args = undefined;
  cascade(ctx, t, 'cancelled', { event: `dependency-cancelled:${t.key}` });
}

function toMemory(ctx: TransitionContext, t: TaskRecord, args: TransitionArgs): void {
  t.error = undefined;
  if (args.holder !== undefined) {
    // Remotely held: keep the dependencies (linked) so the result can be recomputed should the worker go.
    ctx.setHolder(t, args.holder);
  } else {
    // The value comes with the stimulus (scatter, graph literal), or was put on the record by the finished run.
    if ('value' in args) t.value = args.value;
    unlink(ctx, t);
    t.args = undefined;
  }
  wakeDependents(ctx, t);
}

function fromProcessing(fn: TransitionFn): TransitionFn {
  return (ctx, t, args) => {
    ctx.leaveWorker(t);
    fn(ctx, t, args);
  };
}

function fromMemory(fn: TransitionFn): TransitionFn {
  return (ctx, t, args) => {
    ctx.dropData(t);
    fn(ctx, t, args);
  };
}

function recompute(to: 'waiting' | 'queued'): TransitionFn {
  return (ctx, t) => {
    ctx.dropData(t);
    unwakeDependents(ctx, t);
    if (to === 'waiting') toWaiting(ctx, t);
    else toQueued(ctx, t);
  };
}

const forget: TransitionFn = (ctx, t) => {
  unlink(ctx, t);
  t.value = undefined;
  t.args = undefined;
};

const lose: TransitionFn = (ctx, t, args) => {
  ctx.dropData(t);
  t.error = args.error;
  unlink(ctx, t);
  cascade(ctx, t, 'erred', { event: `dependency-lost:${t.key}`, error: t.error });
};

// ------------------------------------------------------------------ the table

const TABLE: { readonly [F in TaskState]: { readonly [T in TaskState]?: TransitionFn } } = {
  released: {
    waiting: toWaiting,
    queued: toQueued,
    memory: toMemory, // scatter, a graph literal, or a placeholder defined by one
    erred: toErred, // a dependency failed before it could wait
    cancelled: toCancelled, // a placeholder cancelled with force
    forgotten: forget,
  },
  waiting: {
    queued: (ctx, t) => {
      if (t.waitingOn !== 0) throw new Error(`${t.key} still waits for ${t.waitingOn} dependencies`);
      ctx.enqueue(t);
    },
    erred: toErred,
    cancelled: toCancelled,
    forgotten: forget,
  },
  queued: {
    processing: () => undefined, // the dispatcher sets run and worker
    waiting: (_ctx, t) => {
      // A dependency was lost: wait for it again.
      t.waitingOn = countWaiting(t);
      if (t.waitingOn === 0) throw new Error(`${t.key} has no dependency to wait for`);
    },
    erred: toErred,
    cancelled: toCancelled,
    forgotten: forget,
  },
  processing: {
    memory: fromProcessing(toMemory),
    erred: fromProcessing(toErred),
    queued: fromProcessing((ctx, t) => ctx.enqueue(t)), // retry, worker lost, thread died
    waiting: fromProcessing((_ctx, t) => {
      // Its dependencies could not be brought to the worker: wait for them again.
      t.waitingOn = countWaiting(t);
      if (t.waitingOn === 0) throw new Error(`${t.key} has no dependency to wait for`);
    }),
    cancelled: fromProcessing(toCancelled),
    forgotten: fromProcessing(forget),
  },
  memory: {
    cancelled: fromMemory(toCancelled),
    lost: lose,
    waiting: recompute('waiting'),
    queued: recompute('queued'),
    forgotten: fromMemory(forget),
  },
  erred: {
    forgotten: forget,
  },
  cancelled: {
    // Defined again (submitted or scattered anew): placed from scratch.
    waiting: toWaiting,
    queued: toQueued,
    memory: toMemory,
    erred: toErred,
    forgotten: forget,
  },
  lost: {
    // Defined again (submitted or scattered anew).
    waiting: toWaiting,
    queued: toQueued,
    memory: toMemory,
    erred: toErred,
    forgotten: forget,
  },
  forgotten: {},
};

/** Thrown when code asks for a transition the table does not allow: a bug, never user error. */
export class IllegalTransitionError extends Error {
  constructor(key: string, from: TaskState, to: TaskState) {
    super(`illegal transition of ${key}: ${from} -> ${to}`);
    this.name = 'IllegalTransitionError';
  }
}

export function isAllowed(from: TaskState, to: TaskState): boolean {
  return TABLE[from]?.[to] !== undefined;
}

export function assertTransition(key: string, from: TaskState, to: TaskState): void {
  if (!isAllowed(from, to)) throw new IllegalTransitionError(key, from, to);
}

/** The function performing `from -> to`; throws IllegalTransitionError when the table has none. */
export function transitionFunction(key: string, from: TaskState, to: TaskState): TransitionFn {
  const fn = TABLE[from]?.[to];
  if (!fn) throw new IllegalTransitionError(key, from, to);
  return fn;
}

/** What a user sees of a state. */
export function publicStatus(state: TaskState): FutureStatus {
  switch (state) {
    case 'processing':
      return 'processing';
    case 'memory':
      return 'finished';
    case 'erred':
      return 'error';
    case 'cancelled':
    case 'forgotten':
      return 'cancelled';
    case 'lost':
      return 'lost';
    default:
      return 'pending';
  }
}

/** Every state listed, for tests and counters. */
export const TASK_STATES = Object.keys(TABLE) as TaskState[];
