/**
 * The local worker: a Piscina pool whose threads run batches of ready tasks pulled from the scheduler.
 * Batch size adapts to the measured time per task so a batch holds a thread for about TARGET_BATCH_MS;
 * a thread that dies fails only the task it was running (tasks with it run again, alone).
 */
import fs from 'node:fs';
import path from 'node:path';
import { deserialize } from 'node:v8';
import type { MessagePort } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { toErrorInfo, type ErrorInfo } from '../errors';
import type { ExecTask } from '../core/state';
import type { SchedulerServer, WorkerAdapter } from '../server';
import type { Batch, BatchResult, TaskOutcome, ThreadHello, ThreadMessage } from './batch';

const TARGET_BATCH_MS = 10;
const MAX_BATCH = 4096;

interface ThreadInfo {
  /** Known once the thread's hello arrived (it may come after the thread's first batch result). */
  port: MessagePort | undefined;
  /** Keys of async tasks still running on this thread. */
  pending: Set<string>;
  crash: ErrorInfo | undefined;
}

/** Finds the worker entry: beside the bundle (dist/pool-worker.js) or beside this file (tsc build). */
export function workerEntryFile(): string {
  const candidates = [path.join(__dirname, 'pool-worker.js'), path.join(__dirname, 'worker-entry.js')];
  for (const c of candidates) if (fs.existsSync(c)) return c;
  throw new Error(`the pool worker entry was not found (looked for ${candidates.join(', ')})`);
}

export class ThreadPool implements WorkerAdapter {
  readonly id: string;
  private readonly piscina: Piscina;
  private readonly threadsById = new Map<number, ThreadInfo>();
  private inFlight = 0;
  private readonly maxInFlight: number;
  /** Measured milliseconds per task (exponential average); unknown at first. */
  private msPerTask = -1;
  private asyncPending = 0;
  /** The last uncaught error a thread reported before dying. */
  private recentCrash: ErrorInfo | undefined;
  private readonly keepAlive: NodeJS.Timeout;
  private closing = false;

  constructor(
    private readonly server: SchedulerServer,
    readonly threads: number,
    id = 'local',
  ) {
    this.id = id;
    this.maxInFlight = threads * 2;
    this.piscina = new Piscina({
      filename: workerEntryFile(),
      minThreads: threads,
      maxThreads: threads,
      idleTimeout: Infinity,
      // A batch returns as soon as its synchronous part is done, so one batch at a time per thread.
      concurrentTasksPerWorker: 1,
      // Idle threads must keep their event loop turning: awaiting tasks live there.
      atomics: 'disabled',
    });
    this.piscina.on('message', (m: ThreadHello) => this.onThreadHello(m));
    // Errors of a thread with no batch in flight: the thread's own port reports the crash.
    this.piscina.on('error', () => undefined);
    this.keepAlive = setInterval(() => undefined, 1 << 30);
    this.keepAlive.unref();
  }

  private onThreadHello(m: ThreadHello): void {
    if ('sfClient' in m) {
      this.server.acceptPort(m.sfClient);
      return;
    }
    const info = this.thread(m.sfThread);
    info.port = m.port;
    m.port.on('message', (msg: ThreadMessage) => {
      if ('crash' in msg) info.crash = this.recentCrash = msg.crash;
      else this.onOutcomes(msg.done, info);
    });
    m.port.on('close', () => this.onThreadGone(m.sfThread, info));
    m.port.unref();
  }

  private thread(threadId: number): ThreadInfo {
    let info = this.threadsById.get(threadId);
    if (!info) this.threadsById.set(threadId, (info = { port: undefined, pending: new Set(), crash: undefined }));
    return info;
  }

  pump(): void {
    const state = this.server.state;
    while (!this.closing && this.inFlight < this.maxInFlight && state.readyCount > 0) {
      const tasks = state.takeReady(this.id, this.batchSize(state.readyCount));
      if (tasks.length === 0) break;
      this.dispatch(tasks);
    }
    this.updateKeepAlive();
  }

  private batchSize(ready: number): number {
    const byTime = this.msPerTask < 0 ? 8 : Math.floor(TARGET_BATCH_MS / Math.max(this.msPerTask, 1e-4));
    const fair = Math.ceil(ready / this.threads);
    return Math.max(1, Math.min(MAX_BATCH, byTime, fair));
  }

  private dispatch(tasks: ExecTask[]): void {
    const fns = this.server.state.fns;
    const ids = new Set(tasks.map((t) => t.fn));
    const batch: Batch = { fns: [...ids].map((id) => fns.get(id)).filter((f) => f !== undefined), tasks };
    this.inFlight++;
    this.piscina.run(batch).then(
      (r: BatchResult) => this.onBatchDone(tasks, r),
      (err: unknown) => this.onBatchFailed(tasks, toErrorInfo(err)),
    );
  }

  private onBatchDone(tasks: ExecTask[], r: BatchResult): void {
    this.inFlight--;
    if (tasks.length > 0) {
      const per = r.ms / tasks.length;
      this.msPerTask = this.msPerTask < 0 ? per : this.msPerTask * 0.7 + per * 0.3;
    }
    const thread = this.thread(r.threadId);
    const state = this.server.state;
    for (const key of r.pending) {
      // The outcome may have arrived first on the result port.
      const t = state.tasks.get(key);
      if (t?.state === 'processing' && t.worker === this.id && !thread.pending.has(key)) {
        thread.pending.add(key);
        this.asyncPending++;
      }
    }
    this.applyOutcomes(r.done);
  }

  private onBatchFailed(tasks: ExecTask[], reason: ErrorInfo): void {
    // The dying thread posts its uncaught error on its own port just before it exits; let that land
    // first so the task's error says what happened rather than only the exit code.
    setImmediate(() => {
      this.inFlight--;
      if (this.closing) return;
      const why = this.recentCrash ?? reason;
      this.recentCrash = undefined;
      const state = this.server.state;
      for (const t of tasks) state.taskCrashed(t.key, this.id, why);
      this.server.afterEvent();
      this.updateKeepAlive();
    });
  }

  private onOutcomes(done: TaskOutcome[], thread: ThreadInfo): void {
    for (const o of done) {
      if (thread.pending.delete(o.key)) this.asyncPending--;
    }
    this.applyOutcomes(done);
  }

  private applyOutcomes(done: TaskOutcome[]): void {
    const state = this.server.state;
    for (const o of done) {
      if (o.ok) {
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
      } else {
        state.taskErred(o.key, this.id, o.error);
      }
    }
    this.server.afterEvent();
    this.updateKeepAlive();
  }

  private onThreadGone(threadId: number, info: ThreadInfo): void {
    this.threadsById.delete(threadId);
    if (this.closing) return;
    const reason = info.crash ?? { name: 'Error', message: 'the worker thread exited' };
    const state = this.server.state;
    for (const key of info.pending) state.taskCrashed(key, this.id, reason);
    this.asyncPending -= info.pending.size;
    info.pending.clear();
    this.server.afterEvent();
    this.updateKeepAlive();
  }

  /** The process stays alive while tasks run, and may exit when the pool is idle. */
  private updateKeepAlive(): void {
    const busy = !this.closing && (this.inFlight > 0 || this.asyncPending > 0);
    if (busy) this.keepAlive.ref();
    else this.keepAlive.unref();
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    clearInterval(this.keepAlive);
    for (const t of this.threadsById.values()) t.port?.close();
    this.threadsById.clear();
    await this.piscina.destroy();
  }
}
