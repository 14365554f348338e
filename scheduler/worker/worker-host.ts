/**
 * The seam between the scheduler and its workers, what runs its tasks: the local thread pool (ThreadPool) and
 * worker processes (each seen through a RemoteWorkerAdapter).
 * Adapters pull work and report outcomes as stimuli through a WorkerHost; they never read or change the
 * core's state themselves, so every change goes through the core's transitions.
 */
import type { MessagePort } from 'node:worker_threads';
import type { ErrorInfo } from '../protocol/errors';
import type { ExecTask, FnSpec } from '../protocol/messages';

/** A worker as the scheduler sees it (the local thread pool, or the adapter of a worker process): pulls work when told. */
export interface WorkerAdapter {
  readonly id: string;
  pump(): void;
  close(): Promise<void>;
  /** Results this worker stores (worker processes only). */
  fetch?(keys: string[]): Promise<unknown[]>;
  /** Results this worker may drop (worker processes only). */
  free?(keys: string[]): void;
}

/** One run of a task, as dispatched (`ExecTask.run`). */
export interface RunRef {
  key: string;
  run: number;
}

/** How a run ended. */
export type RunOutcome = { key: string; run: number; ok: true; value?: unknown; nbytes?: number; inline?: true } | { key: string; run: number; ok: false; error: ErrorInfo };

/** What the scheduler offers its worker adapters. Each method is one stimulus, delivered at once. */
export interface WorkerHost {
  /** Ready tasks waiting for a worker. */
  readonly readyCount: number;
  /** Threads of every worker of the scheduler (its own pool and worker processes): a batch takes one thread's share of the ready tasks. */
  readonly totalThreads: number;
  /** Hands up to `max` ready tasks to `workerId`, each as a new run. */
  takeReady(workerId: string, max: number): ExecTask[];
  /** The functions with these ids, to ship with a batch. */
  functions(ids: Iterable<string>): FnSpec[];
  /** Whether `ref` is still the current run of its key on `workerId`. */
  isCurrentRun(workerId: string, ref: RunRef): boolean;
  /** How runs ended; `remote`: their results stay on the worker that computed them (`value` is not sent). */
  outcomes(workerId: string, outcomes: readonly RunOutcome[], remote?: boolean): void;
  /** The pool thread these runs were on died. */
  crashed(workerId: string, runs: RunRef[], reason: ErrorInfo): void;
  /** The dependencies of these runs could not be brought to the worker. */
  needsDeps(workerId: string, runs: RunRef[]): void;
  /** Brings dependencies stored on worker processes into the tasks' `deps` (all but those stored on `except`). */
  fillRemoteDeps(tasks: ExecTask[], except?: string): Promise<void>;
  /** A worker process's connection closed or its heartbeats stopped. */
  workerLost(id: string, why: string): void;
  /** A task's `localClient()` connects over this port. */
  acceptPort(port: MessagePort): void;
  /** Lets workers pull again (capacity came free). */
  wake(): void;
}
