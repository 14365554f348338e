/**
 * Runs batches on a Piscina pool and reports what happens to each task: outcomes (now, or later for
 * tasks that await), and crashes of the thread a task was on. Used by the scheduler's local pool and by
 * standalone worker processes alike; who pulls work and where results go is theirs to decide.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { MessagePort } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { toErrorInfo, type ErrorInfo } from '../../protocol/errors';
import { ENDED_ERROR, ENDED_PENDING, ENDED_SERIALIZED, type Batch, type BatchResult, type RunId, type TaskOutcome, type ThreadHello, type ThreadMessage, type WireBatch, type WireResult } from './batch';

export interface RunnerEvents {
  /** Tasks finished or failed (a batch's synchronous part, or awaiting tasks as they settle). */
  outcomes(done: TaskOutcome[]): void;
  /** The thread running these runs died; `reason` is its uncaught error when it said. */
  crashed(runs: RunId[], reason: ErrorInfo): void;
  /** A batch gave its thread back (its awaiting tasks go on); for flow control and timing. */
  batchDone(result: BatchResult, tasks: number): void;
  /** A task's `localClient()` asked for a connection (in-process pools only). */
  clientPort?(port: MessagePort): void;
}

interface ThreadInfo {
  /** Known once the thread's hello arrived (it may come after the thread's first batch result). */
  port: MessagePort | undefined;
  /** Awaiting runs still going on this thread, by run id. */
  pending: Map<number, RunId>;
  crash: ErrorInfo | undefined;
}

/** Finds the pool thread's entry file: beside the bundle (dist/pool-worker.js) or beside this file (tsc build). */
function workerEntryFile(): string {
  const candidates = [path.join(__dirname, 'pool-worker.js'), path.join(__dirname, 'worker-entry.js')];
  for (const c of candidates) if (fs.existsSync(c)) return c;
  throw new Error(`the pool worker entry was not found (looked for ${candidates.join(', ')})`);
}

export class ThreadRunner {
  private readonly piscina: Piscina;
  private readonly threadsById = new Map<number, ThreadInfo>();
  private inFlight = 0;
  private asyncPending = 0;
  private recentCrash: ErrorInfo | undefined;
  private readonly keepAlive: NodeJS.Timeout;
  private closing = false;

  constructor(
    readonly threads: number,
    private readonly events: RunnerEvents,
    /** Given to every thread: where `localClient()` connects when it is not in the scheduler's process. */
    workerData?: { scheduler: string; token?: string },
  ) {
    this.piscina = new Piscina({
      filename: workerEntryFile(),
      minThreads: threads,
      maxThreads: threads,
      idleTimeout: Infinity,
      // A batch returns as soon as its synchronous part is done, so one batch at a time per thread.
      concurrentTasksPerWorker: 1,
      // Idle threads must keep their event loop turning: awaiting tasks live there.
      atomics: 'disabled',
      workerData,
    });
    this.piscina.on('message', (m: ThreadHello) => this.onThreadHello(m));
    // Errors of a thread with no batch in flight: the thread's own port reports the crash.
    this.piscina.on('error', () => undefined);
    this.keepAlive = setInterval(() => undefined, 1 << 30);
    this.keepAlive.unref();
  }

  /** Batches whose synchronous part has not returned yet. */
  get batchesInFlight(): number {
    return this.inFlight;
  }

  private thread(threadId: number): ThreadInfo {
    let info = this.threadsById.get(threadId);
    if (!info) this.threadsById.set(threadId, (info = { port: undefined, pending: new Map(), crash: undefined }));
    return info;
  }

  private onThreadHello(m: ThreadHello): void {
    if ('sfClient' in m) {
      if (this.events.clientPort) this.events.clientPort(m.sfClient);
      else m.sfClient.close();
      return;
    }
    const info = this.thread(m.sfThread);
    info.port = m.port;
    m.port.on('message', (msg: ThreadMessage) => {
      if ('crash' in msg) info.crash = this.recentCrash = msg.crash;
      else this.onLateOutcomes(msg.done, info);
    });
    m.port.on('close', () => this.onThreadGone(m.sfThread, info));
    m.port.unref();
  }

  /** Runs a batch; what happens is reported through the events. */
  run(batch: Batch, isStillRunning: (r: RunId) => boolean): void {
    this.inFlight++;
    this.updateKeepAlive();
    this.piscina.run(toWire(batch), batch.transfer && batch.transfer.length > 0 ? { transferList: batch.transfer } : undefined).then(
      (w: WireResult) => {
        this.inFlight--;
        const r = fromWire(batch, w);
        const thread = this.thread(r.threadId);
        for (const p of r.pending) {
          // The outcome may have arrived first on the result port.
          if (isStillRunning(p) && !thread.pending.has(p.run)) {
            thread.pending.set(p.run, p);
            this.asyncPending++;
          }
        }
        this.events.batchDone(r, batch.tasks.length);
        if (r.done.length > 0) this.events.outcomes(r.done);
        this.updateKeepAlive();
      },
      (err: unknown) => {
        // The dying thread posts its uncaught error on its own port just before it exits; let that land
        // first so the task's error says what happened rather than only the exit code.
        setImmediate(() => {
          this.inFlight--;
          if (this.closing) return;
          const why = this.recentCrash ?? toErrorInfo(err);
          this.recentCrash = undefined;
          this.events.crashed(
            batch.tasks.map((t) => ({ key: t.key, run: t.run })),
            why,
          );
          this.updateKeepAlive();
        });
      },
    );
  }

  /** Forgets an awaiting task (its outcome was applied elsewhere or it no longer matters). */
  private onLateOutcomes(done: TaskOutcome[], thread: ThreadInfo): void {
    for (const o of done) if (thread.pending.delete(o.run)) this.asyncPending--;
    this.events.outcomes(done);
    this.updateKeepAlive();
  }

  private onThreadGone(threadId: number, info: ThreadInfo): void {
    this.threadsById.delete(threadId);
    if (this.closing) return;
    const runs = [...info.pending.values()];
    this.asyncPending -= runs.length;
    info.pending.clear();
    if (runs.length > 0) this.events.crashed(runs, info.crash ?? { name: 'Error', message: 'the pool thread exited' });
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

/** A batch in the form that crosses to a pool thread (see WireBatch). */
export function toWire(batch: Batch): WireBatch {
  const { fns, tasks } = batch;
  const n = tasks.length;
  const keys = new Array<string>(n);
  const runs = new Array<number>(n);
  const args = new Array<unknown[]>(n);
  let deps: (Record<string, unknown> | undefined)[] | undefined;
  let fnOf: number[] | undefined;
  // Nearly always one function per batch: its index, without a search per task.
  let lastId = fns.length > 0 ? fns[0].id : '';
  let lastIndex = 0;
  for (let i = 0; i < n; i++) {
    const t = tasks[i];
    keys[i] = t.key;
    runs[i] = t.run;
    args[i] = t.args;
    if (t.deps !== undefined) (deps ??= new Array<Record<string, unknown> | undefined>(n).fill(undefined))[i] = t.deps;
    if (t.fn !== lastId) {
      lastId = t.fn;
      // -1: not shipped; the thread reports it as this task's error.
      lastIndex = fns.findIndex((f) => f.id === t.fn);
    }
    if (fnOf !== undefined) fnOf[i] = lastIndex;
    else if (lastIndex !== 0) {
      fnOf = new Array<number>(n).fill(0, 0, i);
      fnOf[i] = lastIndex;
    }
  }
  const wire: WireBatch = { fns, keys, runs, fn: fnOf ?? 0, args };
  if (deps !== undefined) wire.deps = deps;
  if (batch.pinThread) wire.pinThread = true;
  return wire;
}

/** A pool thread's answer to `batch`, as the runner reports it: outcomes of the tasks that ended, and the runs still awaiting. */
export function fromWire(batch: Batch, w: WireResult): BatchResult {
  const done: TaskOutcome[] = [];
  const pending: RunId[] = [];
  const tasks = batch.tasks;
  for (let i = 0; i < tasks.length; i++) {
    const { key, run } = tasks[i];
    switch (w.how[i]) {
      case ENDED_PENDING:
        pending.push({ key, run });
        break;
      case ENDED_ERROR:
        done.push({ key, run, ok: false, error: w.out[i] as ErrorInfo });
        break;
      case ENDED_SERIALIZED:
        done.push({ key, run, ok: true, ser: w.out[i] as Uint8Array });
        break;
      default:
        done.push({ key, run, ok: true, value: w.out[i] });
    }
  }
  return { threadId: w.threadId, done, pending, ms: w.ms };
}
