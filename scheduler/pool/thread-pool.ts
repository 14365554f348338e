/**
 * The scheduler's local worker: pulls ready tasks from the scheduler state in adaptive batches and runs
 * them on a ThreadRunner in this process. Results stay in the scheduler's memory.
 */
import { deserialize } from 'node:v8';
import { toErrorInfo } from '../errors';
import type { ExecTask } from '../core/state';
import type { SchedulerServer, WorkerAdapter } from '../server';
import type { Batch, TaskOutcome } from './batch';
import { BatchSizer } from './batch-sizer';
import { ThreadRunner } from './thread-runner';

export { workerEntryFile } from './thread-runner';

export class ThreadPool implements WorkerAdapter {
  private readonly runner: ThreadRunner;
  private readonly sizer: BatchSizer;
  private readonly maxInFlight: number;
  private closing = false;

  constructor(
    private readonly server: SchedulerServer,
    readonly threads: number,
    readonly id = 'local',
  ) {
    this.maxInFlight = threads * 2;
    this.sizer = new BatchSizer(threads);
    this.runner = new ThreadRunner(threads, {
      outcomes: (done) => this.apply(done),
      crashed: (keys, reason) => {
        for (const key of keys) this.server.state.taskCrashed(key, this.id, reason);
        this.server.afterEvent();
      },
      batchDone: (r, n) => {
        this.sizer.observe(r.ms, n);
        if (r.done.length === 0) this.server.afterEvent();
      },
      clientPort: (port) => this.server.acceptPort(port),
    });
  }

  pump(): void {
    const state = this.server.state;
    while (!this.closing && this.runner.batchesInFlight < this.maxInFlight && state.readyCount > 0) {
      const tasks = state.takeReady(this.id, this.sizer.next(state.readyCount));
      if (tasks.length === 0) break;
      this.dispatch(tasks);
    }
  }

  private dispatch(tasks: ExecTask[]): void {
    const remote = tasks.filter((t) => t.at !== undefined);
    if (remote.length > 0) {
      // Dependencies held by remote workers come here first.
      this.server.fillRemoteDeps(remote).then(
        () => this.runBatch(tasks),
        () => {
          // A worker holding a dependency went away: the scheduler recomputes it; these tasks wait for it.
          for (const t of tasks) this.server.state.taskNeedsDeps(t.key, this.id);
          this.server.afterEvent();
        },
      );
      return;
    }
    this.runBatch(tasks);
  }

  private runBatch(tasks: ExecTask[]): void {
    const fns = this.server.state.fns;
    const ids = new Set(tasks.map((t) => t.fn));
    const batch: Batch = { fns: [...ids].map((id) => fns.get(id)).filter((f) => f !== undefined), tasks };
    if (tasks.some((t) => t.alone)) batch.hold = true;
    this.runner.run(batch, (key) => {
      const t = this.server.state.tasks.get(key);
      return t?.state === 'processing' && t.worker === this.id;
    });
  }

  private apply(done: TaskOutcome[]): void {
    const state = this.server.state;
    for (const o of done) {
      if (!o.ok) {
        state.taskErred(o.key, this.id, o.error);
        continue;
      }
      let value = o.value;
      if (o.ser) {
        try {
          value = deserialize(o.ser);
        } catch (err) {
          state.taskErred(o.key, this.id, toErrorInfo(err));
          continue;
        }
      }
      state.taskFinished(o.key, this.id, value);
    }
    this.server.afterEvent();
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.runner.close();
  }
}
