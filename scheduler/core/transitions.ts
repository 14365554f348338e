/**
 * The one table of allowed task transitions (after Dask's scheduler): every state change of a task goes
 * through `assertTransition`, and a transition that is not listed throws at once.
 */
import type { FutureStatus } from '../protocol';

export type TaskState =
  | 'released' // known, not yet placed
  | 'waiting' // waiting for dependencies
  | 'queued' // ready, waiting for a thread
  | 'processing' // running on a worker
  | 'memory' // finished, result held
  | 'erred'
  | 'cancelled'
  | 'lost' // data gone with its worker and not recomputable
  | 'forgotten'; // nobody wants it: dropped from the scheduler

const ALLOWED: Record<TaskState, readonly TaskState[]> = {
  released: ['waiting', 'queued', 'memory', 'erred', 'cancelled', 'forgotten'],
  waiting: ['queued', 'erred', 'cancelled', 'forgotten'],
  queued: ['processing', 'waiting', 'erred', 'cancelled', 'forgotten'], // waiting again: a dependency was lost
  processing: ['memory', 'erred', 'queued', 'waiting', 'cancelled', 'forgotten'], // waiting: its dependencies were lost
  memory: ['cancelled', 'lost', 'waiting', 'queued', 'forgotten'],
  erred: ['forgotten'],
  cancelled: ['waiting', 'queued', 'erred', 'forgotten'], // submitted again
  lost: ['forgotten'],
  forgotten: [],
};

const TABLE = new Map<TaskState, ReadonlySet<TaskState>>(
  (Object.keys(ALLOWED) as TaskState[]).map((from) => [from, new Set(ALLOWED[from])]),
);

/** Thrown when code asks for a transition the table does not allow: a bug, never user error. */
export class IllegalTransitionError extends Error {
  constructor(key: string, from: TaskState, to: TaskState) {
    super(`illegal transition of ${key}: ${from} -> ${to}`);
    this.name = 'IllegalTransitionError';
  }
}

export function isAllowed(from: TaskState, to: TaskState): boolean {
  return TABLE.get(from)?.has(to) ?? false;
}

export function assertTransition(key: string, from: TaskState, to: TaskState): void {
  if (!isAllowed(from, to)) throw new IllegalTransitionError(key, from, to);
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
export const TASK_STATES = Object.keys(ALLOWED) as TaskState[];
