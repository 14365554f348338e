/** Sizes batches so one occupies a thread for about TARGET_BATCH_MS of measured work. */
const TARGET_BATCH_MS = 10;
const MAX_BATCH = 4096;

export class BatchSizer {
  /** Measured milliseconds per task (exponential average); unknown at first. */
  private msPerTask = -1;

  constructor(private readonly threads: number) {}

  /**
   * How many of `ready` tasks the next batch takes: about TARGET_BATCH_MS of work, and no more than one
   * thread's share of them over every thread of the cluster (`clusterThreads`), so that the first worker
   * asked does not take the whole queue while others stand idle.
   */
  next(ready: number, clusterThreads = this.threads): number {
    const byTime = this.msPerTask < 0 ? 8 : Math.floor(TARGET_BATCH_MS / Math.max(this.msPerTask, 1e-4));
    const fair = Math.ceil(ready / Math.max(clusterThreads, 1));
    return Math.max(1, Math.min(MAX_BATCH, byTime, fair));
  }

  /** A batch of `tasks` occupied its thread `ms` milliseconds. */
  observe(ms: number, tasks: number): void {
    if (tasks <= 0) return;
    const per = ms / tasks;
    this.msPerTask = this.msPerTask < 0 ? per : this.msPerTask * 0.7 + per * 0.3;
  }
}
