/**
 * A worker process (`shared-futures worker ws://…`): runs the batches the scheduler sends on its own pool
 * threads and stores the results in memory until the scheduler says they can go. The scheduler sees it
 * through a RemoteWorkerAdapter. Tasks that
 * call `localClient()` connect to the scheduler over WebSocket themselves.
 */
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { deserialize } from 'node:v8';
import { toErrorInfo } from '../../protocol/errors';
import { ThreadRunner } from '../pool/thread-runner';
import type { Batch, TaskOutcome } from '../pool/batch';
import { WsClientTransport, type WsConnectOptions } from '../../wire/ws-client';
import { HEARTBEAT_MS, type FromWorkerProcess, type ToWorkerProcess } from '../../protocol/worker-process-messages';

export interface WorkerProcessOptions extends WsConnectOptions {
  threads: number;
  name?: string;
  /** Called with what happens (joined, lost the scheduler). */
  log?: (level: 'info' | 'warn', message: string) => void;
}

type HelloOut = FromWorkerProcess | { op: 'hello'; id: string; name?: string };

export class WorkerProcess {
  readonly id: string;
  private readonly transport: WsClientTransport<ToWorkerProcess, HelloOut>;
  private readonly runner: ThreadRunner;
  private readonly store = new Map<string, unknown>();
  /** Runs going on here, by run id. */
  private readonly running = new Set<number>();
  /** The newest run of each key dispatched here and not yet settled: any other run's result is stale, never stored. */
  private readonly latest = new Map<string, number>();
  private readonly heartbeat: NodeJS.Timeout;
  private readonly closedPromise: Promise<Error | undefined>;
  private closing = false;

  private constructor(
    readonly scheduler: string,
    private readonly opts: WorkerProcessOptions,
  ) {
    this.id = `worker-${hostname()}-${process.pid}-${randomUUID().slice(0, 6)}`;
    this.transport = new WsClientTransport<ToWorkerProcess, HelloOut>(scheduler, 'worker', { ...opts, threads: opts.threads });
    this.runner = new ThreadRunner(
      opts.threads,
      {
        outcomes: (done) => this.report(done),
        crashed: (runs, reason) => {
          for (const r of runs) this.running.delete(r.run);
          this.send({ op: 'crashed', runs, reason });
        },
        batchDone: (r, n) => this.send({ op: 'ran', ms: r.ms, n }),
      },
      { scheduler, ...(opts.token !== undefined ? { token: opts.token } : {}) },
    );
    this.closedPromise = new Promise((resolve) => this.transport.onClose((reason) => resolve(reason)));
    this.transport.onMessages((batch) => this.receive(batch));
    this.transport.send({ op: 'hello', id: this.id, ...(opts.name ? { name: opts.name } : {}) });
    this.transport.setKeepAlive(true);
    this.heartbeat = setInterval(() => this.send({ op: 'hb' }), HEARTBEAT_MS);
  }

  /** Connects to the scheduler and starts serving. */
  static start(scheduler: string, opts: WorkerProcessOptions): WorkerProcess {
    return new WorkerProcess(scheduler, opts);
  }

  /** Resolves when the connection to the scheduler ends, with the reason when it was not asked for. */
  get closed(): Promise<Error | undefined> {
    return this.closedPromise;
  }

  private send(m: FromWorkerProcess): void {
    if (!this.closing) this.transport.send(m);
  }

  private receive(batch: ToWorkerProcess[]): void {
    for (const m of batch) {
      switch (m.op) {
        case 'run':
          this.run({ fns: m.fns, tasks: m.tasks, pinThread: m.tasks.some((t) => t.alone) });
          break;
        case 'get': {
          const missing = m.keys.filter((k) => !this.store.has(k));
          if (missing.length > 0) {
            this.send({ op: 'data', req: m.req, ok: false, error: { name: 'FutureLostError', message: `worker ${this.id} does not store ${missing.join(', ')}`, code: 'ERR_FUTURE_LOST', key: missing[0] } });
          } else {
            this.send({ op: 'data', req: m.req, ok: true, values: m.keys.map((k) => this.store.get(k)) });
          }
          break;
        }
        case 'free':
          for (const k of m.keys) this.store.delete(k);
          break;
        case 'error':
          this.opts.log?.('warn', `scheduler: ${m.error.message}`);
          break;
      }
    }
  }

  private run(batch: Batch): void {
    for (const t of batch.tasks) {
      this.running.add(t.run);
      this.latest.set(t.key, t.run);
      if (!t.at) continue;
      // Dependencies the scheduler left here: they are in this worker's store.
      for (const key of Object.keys(t.at)) (t.deps ??= {})[key] = this.store.get(key);
      delete t.at;
    }
    this.runner.run(batch, (r) => this.running.has(r.run));
  }

  private report(done: TaskOutcome[]): void {
    const outcomes: Extract<FromWorkerProcess, { op: 'done' }>['outcomes'] = [];
    for (const o of done) {
      this.running.delete(o.run);
      const current = this.latest.get(o.key) === o.run;
      if (current) this.latest.delete(o.key);
      if (!o.ok) {
        outcomes.push({ key: o.key, run: o.run, ok: false, error: o.error });
        continue;
      }
      if (!current) {
        // A newer run of this key was dispatched here: this result is stale and must not replace its value.
        outcomes.push({ key: o.key, run: o.run, ok: false, error: { name: 'StaleRunError', message: `run ${o.run} of ${o.key} was superseded`, code: 'ERR_STALE_RUN', key: o.key } });
        continue;
      }
      try {
        this.store.set(o.key, o.ser ? deserialize(o.ser) : o.value);
        outcomes.push({ key: o.key, run: o.run, ok: true, nbytes: o.ser?.length ?? 0 });
      } catch (err) {
        outcomes.push({ key: o.key, run: o.run, ok: false, error: toErrorInfo(err) });
      }
    }
    this.send({ op: 'done', outcomes });
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    clearInterval(this.heartbeat);
    this.transport.close();
    await this.runner.close();
  }
}
