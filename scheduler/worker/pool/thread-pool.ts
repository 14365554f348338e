/**
 * The scheduler's local worker: pulls ready tasks in adaptive batches and runs them on a ThreadRunner in this
 * process. Results stay in the scheduler's memory. Everything it learns goes back as stimuli through the
 * WorkerHost; it never touches the core's state.
 */
import { deserialize } from 'node:v8';
import { toErrorInfo } from '../../protocol/errors';
import type { ExecTask } from '../../protocol/messages';
import type { RunOutcome, WorkerAdapter, WorkerHost } from '../worker-host';
import type { Batch, TaskOutcome } from './batch';
import { BatchSizer } from './batch-sizer';
import { ThreadRunner } from './thread-runner';


export class ThreadPool implements WorkerAdapter {
  private readonly runner: ThreadRunner;
  private readonly sizer: BatchSizer;
  private readonly maxInFlight: number;
  private closing = false;

  constructor(
    private readonly host: WorkerHost,
    readonly threads: number,
    readonly id = 'local',
  ) {
    this.maxInFlight = threads * 2;
    this.sizer = new BatchSizer(threads);
    this.runner = new ThreadRunner(threads, {
      outcomes: (done) => this.apply(done),
      crashed: (runs, reason) => this.host.crashed(this.id, runs, reason),
      batchDone: (r, n) => {
        this.sizer.observe(r.ms, n);
        if (r.done.length === 0) this.host.wake();
      },
      clientPort: (port) => this.host.acceptPort(port),
    });
  }

  pump(): void {
    while (!this.closing && this.runner.batchesInFlight < this.maxInFlight && this.host.readyCount > 0) {
      const tasks = this.host.takeReady(this.id, this.sizer.next(this.host.readyCount, this.host.totalThreads));
      if (tasks.length === 0) break;
      this.dispatch(tasks);
    }
  }

  private dispatch(tasks: ExecTask[]): void {
    const remote = tasks.filter((t) => t.at !== undefined);
    if (remote.length > 0) {
      // Dependencies stored on worker processes come here first.
      this.host.fillRemoteDeps(remote).then(
        () => this.runBatch(tasks),
        // A worker process storing a dependency went away: the scheduler recomputes it; these tasks wait for it.
        () => this.host.needsDeps(this.id, tasks),
      );
      return;
    }
    this.runBatch(tasks);
  }

  private runBatch(tasks: ExecTask[]): void {
    const ids = new Set<string>();
    let alone = false;
    for (const t of tasks) {
      ids.add(t.fn);
      if (t.alone) alone = true;
    }
    const batch: Batch = { fns: this.host.functions(ids), tasks };
    if (alone) batch.pinThread = true;
    this.runner.run(batch, (r) => this.host.isCurrentRun(this.id, r));
  }

  private apply(done: TaskOutcome[]): void {
    const outcomes: RunOutcome[] = [];
    for (const o of done) {
      if (!o.ok || !o.ser) {
        outcomes.push(o);
        continue;
      }
      try {
        outcomes.push({ key: o.key, run: o.run, ok: true, value: deserialize(o.ser) });
      } catch (err) {
        outcomes.push({ key: o.key, run: o.run, ok: false, error: toErrorInfo(err) });
      }
    }
    this.host.outcomes(this.id, outcomes);
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.runner.close();
  }
}
