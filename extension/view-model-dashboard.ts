/**
 * The model behind the dashboard and the status bar, without `vscode`: task counts by status, workers and
 * the tasks each runs, finished tasks per second over the last minutes, and a task stream (which worker ran
 * which key, from when to when), built from scheduler events and corrected by `schedulerInfo()` polls.
 * `snapshot()` is plain JSON: it crosses to the webview as is. Listeners hear of changes at a bounded rate.
 */
import type { FutureStatus, SchedulerEvent, SchedulerInfo } from '../scheduler';
import { Batcher, realTimers, type Disposable, type Timers } from './view-model-batch';
import type { ConnectionState, TreeViewModel } from './view-model';
import type { ChannelProgress, DashboardSnapshot, StreamEntry } from './dashboard-rpc';

export type { ChannelProgress, DashboardSnapshot, StreamEntry };

export const STATUSES: readonly FutureStatus[] = ['pending', 'processing', 'finished', 'error', 'cancelled', 'lost'];

/** Options of the dashboard model. */
export interface DashboardModelOptions {
  /** Least time between two change notices (default 250 ms: 4 per second). */
  minIntervalMs?: number;
  timers?: Timers;
  /** Seconds of throughput history (default 300). */
  historySeconds?: number;
  /** Task-stream entries kept (default 300). */
  streamLength?: number;
  /** Running keys listed per worker (default 8). */
  runningShown?: number;
}

const BUCKET_MS = 1000;
/** Open task-stream entries kept at most, so a flood of dispatches cannot grow memory without bound. */
const MAX_OPEN = 10_000;

function zeroCounts(): Record<FutureStatus, number> {
  return { pending: 0, processing: 0, finished: 0, error: 0, cancelled: 0, lost: 0 };
}

/** Counts, workers, throughput and task stream. */
export class DashboardModel implements Disposable {
  private connection: ConnectionState;
  private counts = zeroCounts();
  private readonly statusOf = new Map<string, FutureStatus>();
  private readonly workers = new Map<string, { threads: number; running: Set<string> }>();
  private readonly workerOf = new Map<string, string>();
  private finishedTotal = 0;
  private erroredTotal = 0;
  private readonly buckets: number[];
  private bucketEnd: number;
  private readonly open = new Map<string, StreamEntry>();
  private readonly done: StreamEntry[] = [];
  private readonly timers: Timers;
  private readonly streamLength: number;
  private readonly runningShown: number;
  private readonly listeners = new Set<() => void>();
  private readonly batcher: Batcher<true>;

  constructor(
    private readonly tree: TreeViewModel | undefined,
    options: DashboardModelOptions = {},
  ) {
    this.timers = options.timers ?? realTimers;
    this.streamLength = options.streamLength ?? 300;
    this.runningShown = options.runningShown ?? 8;
    this.buckets = new Array<number>(options.historySeconds ?? 300).fill(0);
    this.bucketEnd = this.bucketEndOf(this.timers.now());
    this.batcher = new Batcher(() => {
      for (const l of [...this.listeners]) l();
    }, options.minIntervalMs ?? 250, this.timers);
    tree?.onDidChange(() => this.batcher.add(true));
  }

  /** Calls `listener` (at a bounded rate) after changes. */
  onDidChange(listener: () => void): Disposable {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  /** Tasks processing and finished now, for the status bar. */
  get liveCounts(): { processing: number; finished: number } {
    return { processing: this.counts.processing, finished: this.counts.finished };
  }

  get currentConnection(): ConnectionState {
    return this.connection;
  }

  /** A new connection (or none): counts and history start again. */
  setConnection(connection: ConnectionState): void {
    this.connection = connection;
    this.counts = zeroCounts();
    this.statusOf.clear();
    this.workers.clear();
    this.workerOf.clear();
    this.open.clear();
    this.done.length = 0;
    this.finishedTotal = 0;
    this.erroredTotal = 0;
    this.buckets.fill(0);
    this.bucketEnd = this.bucketEndOf(this.timers.now());
    this.batcher.add(true);
  }

  /** The scheduler's own view: counts and workers are taken from it as they are. */
  applyInfo(info: SchedulerInfo): void {
    const counts = zeroCounts();
    for (const s of STATUSES) counts[s] = info.tasks[s] ?? 0;
    this.counts = counts;
    this.workers.clear();
    this.workerOf.clear();
    for (const w of info.workers) {
      this.workers.set(w.id, { threads: w.threads, running: new Set(w.running) });
      for (const key of w.running) this.workerOf.set(key, w.id);
    }
    this.batcher.add(true);
  }

  /** One batch of scheduler events. */
  applyEvents(events: readonly SchedulerEvent[]): void {
    const now = this.timers.now();
    this.advance(now);
    let changed = false;
    for (const e of events) {
      if (e.type === 'task') {
        this.applyTask(e.key, e.status, e.worker, e.time, e.forgotten === true);
        changed = true;
      } else if (e.type === 'worker') {
        if (e.state === 'joined') this.workers.set(e.id, { threads: e.threads, running: new Set() });
        else this.workers.delete(e.id);
        changed = true;
      }
    }
    if (changed) this.batcher.add(true);
  }

  /** Sends a pending change notice now. */
  flush(): void {
    this.batcher.flushNow();
  }

  /** What the dashboard draws now. */
  snapshot(): DashboardSnapshot {
    const now = this.timers.now();
    this.advance(now);
    const channels: ChannelProgress[] = [];
    if (this.tree) {
      for (const node of this.tree.children(this.tree.root)) {
        if (node.kind !== 'channel') continue;
        const byStatus: Partial<Record<FutureStatus, number>> = {};
        let values = 0;
        for (const item of this.tree.children(node)) {
          if (item.kind !== 'item') continue;
          if (item.status === undefined) values++;
          else byStatus[item.status] = (byStatus[item.status] ?? 0) + 1;
        }
        channels.push({ name: node.name, count: node.count, length: node.length, stopped: node.stopped, byStatus, values });
      }
    }
    const stream = [...this.done.slice(-this.streamLength), ...[...this.open.values()].slice(-this.streamLength)]
      .sort((a, b) => a.start - b.start)
      .slice(-this.streamLength)
      .map((e) => ({ ...e }));
    return {
      connection: this.connection ?? null,
      counts: { ...this.counts },
      finishedTotal: this.finishedTotal,
      erroredTotal: this.erroredTotal,
      workers: [...this.workers].map(([id, w]) => ({ id, threads: w.threads, running: [...w.running].slice(0, this.runningShown), runningCount: w.running.size })),
      channels,
      throughput: { bucketMs: BUCKET_MS, end: this.bucketEnd, finished: [...this.buckets] },
      stream,
      now,
    };
  }

  dispose(): void {
    this.batcher.dispose();
    this.listeners.clear();
  }

  private applyTask(key: string, status: FutureStatus, worker: string | undefined, time: number, dropped = false): void {
    const prev = this.statusOf.get(key);
    if (prev === status && !dropped) return;
    // A task the scheduler forgets leaves the counts (its event says so; older schedulers only said 'cancelled').
    const forgotten = dropped || (status === 'cancelled' && (prev === 'finished' || prev === 'error' || prev === 'lost'));
    if (prev !== undefined) this.counts[prev] = Math.max(0, this.counts[prev] - 1);
    if (forgotten) {
      this.statusOf.delete(key);
    } else {
      this.counts[status]++;
      this.statusOf.set(key, status);
    }
    if (status === 'finished') {
      this.finishedTotal++;
      this.buckets[this.buckets.length - 1]++;
    } else if (status === 'error') {
      this.erroredTotal++;
    }
    // Workers' running sets and the task stream.
    const was = this.workerOf.get(key);
    if (was !== undefined && (status !== 'processing' || worker !== was)) {
      this.workers.get(was)?.running.delete(key);
      this.workerOf.delete(key);
    }
    if (status === 'processing' && worker !== undefined) {
      let w = this.workers.get(worker);
      if (w === undefined) this.workers.set(worker, (w = { threads: 0, running: new Set() }));
      w.running.add(key);
      this.workerOf.set(key, worker);
      this.open.delete(key);
      this.open.set(key, { key, worker, start: time, status });
      if (this.open.size > MAX_OPEN) this.open.delete(this.open.keys().next().value as string);
    } else {
      const entry = this.open.get(key);
      if (entry !== undefined) {
        this.open.delete(key);
        entry.end = time;
        entry.status = status;
        this.done.push(entry);
        if (this.done.length > 2 * this.streamLength) this.done.splice(0, this.done.length - this.streamLength);
      }
    }
  }

  private bucketEndOf(time: number): number {
    return Math.floor(time / BUCKET_MS) * BUCKET_MS + BUCKET_MS;
  }

  /** Shifts the throughput buckets so the last one covers `now`. */
  private advance(now: number): void {
    const steps = Math.floor((now - this.bucketEnd) / BUCKET_MS) + 1;
    if (steps <= 0) return;
    if (steps >= this.buckets.length) this.buckets.fill(0);
    else {
      this.buckets.copyWithin(0, steps);
      this.buckets.fill(0, this.buckets.length - steps);
    }
    this.bucketEnd += steps * BUCKET_MS;
  }
}
