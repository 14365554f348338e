/**
 * The scheduler's side of a worker process (WorkerProcess, worker-process.ts, at the other end of a
 * WebSocket): pulls ready tasks for it in adaptive batches, tells it where the holders of their dependencies
 * listen (the worker process fetches them from those peers itself), fetches results it stores for clients
 * that cannot fetch them directly, and reports it lost when its socket closes or its heartbeats stop.
 */
import { ConnectionError, fromErrorInfo, toErrorInfo } from '../../protocol/errors';
import { CloseCode } from '../../wire/close-codes';
import type { Transport } from '../../transport/transport';
import type { ExecTask } from '../../protocol/messages';
import type { WorkerAdapter, WorkerHost } from '../worker-host';
import { BatchSizer } from '../pool/batch-sizer';
import { checkFromWorkerProcess, HEARTBEAT_TIMEOUT_MS, type FromWorkerProcess, type ToWorkerProcess } from '../../protocol/worker-process-messages';

export class RemoteWorkerAdapter implements WorkerAdapter {
  private readonly sizer: BatchSizer;
  private inFlight = 0;
  private nextReq = 1;
  private readonly fetches = new Map<number, { resolve: (v: unknown[]) => void; reject: (e: Error) => void }>();
  private lastSeen = Date.now();
  private readonly watchdog: NodeJS.Timeout;
  private gone = false;
  /** Workers whose peer address this connection was sent. */
  private readonly toldPeers = new Set<string>();

  constructor(
    private readonly host: WorkerHost,
    private readonly transport: Transport<FromWorkerProcess, ToWorkerProcess> & { fail?(code: number, reason: string): void },
    readonly id: string,
    readonly threads: number,
    /** Where a worker process's peer server listens (undefined for a worker that is gone). */
    private readonly peerAddress: (workerId: string) => string | undefined,
    /** How copy orders (`copy`) ended: each key stored here now, or not (with why). */
    private readonly copied: (ok: string[], failed: { key: string; why: string }[]) => void = () => undefined,
  ) {
    this.sizer = new BatchSizer(threads);
    transport.onMessages((batch) => this.receive(batch));
    transport.onClose(() => this.lost('its connection closed'));
    this.watchdog = setInterval(() => {
      if (Date.now() - this.lastSeen > HEARTBEAT_TIMEOUT_MS) {
        transport.fail?.(CloseCode.workerLost, 'no heartbeat');
        this.lost(`no heartbeat for ${HEARTBEAT_TIMEOUT_MS} ms`);
      }
    }, HEARTBEAT_TIMEOUT_MS / 4);
    this.watchdog.unref();
  }

  pump(): void {
    while (!this.gone && this.inFlight < this.threads * 2 && this.host.readyCount > 0) {
      const tasks = this.host.takeReady(this.id, this.sizer.next(this.host.readyCount, this.host.totalThreads));
      if (tasks.length === 0) break;
      this.dispatch(tasks);
    }
  }

  private dispatch(tasks: ExecTask[]): void {
    this.inFlight++;
    // The worker process fetches dependencies stored elsewhere from their holders: it is told where each
    // holder listens the first time this connection names it (an address never changes for a worker id).
    const peers = this.newPeers(tasks.flatMap((t) => Object.values(t.at ?? {})));
    const fns = this.host.functions(new Set(tasks.map((t) => t.fn)));
    this.transport.send(peers ? { op: 'run', fns, tasks, peers } : { op: 'run', fns, tasks });
  }

  /** The peer addresses of `holders` this connection was not sent yet. */
  private newPeers(holders: string[][]): Record<string, string> | undefined {
    let peers: Record<string, string> | undefined;
    for (const list of holders) {
      for (const h of list) {
        if (h === this.id || this.toldPeers.has(h)) continue;
        const address = this.peerAddress(h);
        if (address === undefined) continue;
        this.toldPeers.add(h);
        (peers ??= {})[h] = address;
      }
    }
    return peers;
  }

  /** Asks the worker process to fetch copies of these results from their holders and keep them (`replicate`). */
  copy(copies: { key: string; from: string[] }[]): void {
    if (this.gone) return queueMicrotask(() => this.copied([], copies.map((c) => ({ key: c.key, why: `worker ${this.id} is gone` }))));
    const peers = this.newPeers(copies.map((c) => c.from));
    this.transport.send(peers ? { op: 'copy', copies, peers } : { op: 'copy', copies });
  }

  /**
   * Fetches dependencies the worker process could not get from their holders' peer servers, through this
   * scheduler: slower, but a worker whose peers cannot reach it still gets its results used.
   */
  private relay(req: number, at: Record<string, string[]>): void {
    const keys = Object.keys(at);
    // The host fills the `deps` of tasks from their `at`; one carrier task holds them all.
    const carrier: ExecTask = { key: '', run: 0, fn: '', args: [], at: { ...at } };
    this.host.fillRemoteDeps([carrier]).then(
      () => this.transport.send({ op: 'relayed', req, ok: true, values: keys.map((k) => carrier.deps?.[k]) }),
      (err: unknown) => this.transport.send({ op: 'relayed', req, ok: false, error: toErrorInfo(err) }),
    );
  }

  /** Results this worker process stores, in the order of `keys`. */
  fetch(keys: string[]): Promise<unknown[]> {
    if (this.gone) return Promise.reject(new ConnectionError(`worker ${this.id} is gone`));
    const req = this.nextReq++;
    return new Promise((resolve, reject) => {
      this.fetches.set(req, { resolve, reject });
      this.transport.send({ op: 'get', req, keys });
    });
  }

  free(keys: string[]): void {
    if (!this.gone) this.transport.send({ op: 'free', keys });
  }

  private receive(batch: FromWorkerProcess[]): void {
    this.lastSeen = Date.now();
    let ran = false;
    for (const m of batch) {
      const wrong = checkFromWorkerProcess(m);
      if (wrong !== undefined) {
        // A worker that speaks another shape of protocol cannot be trusted with its runs: they go elsewhere.
        if (this.transport.fail) this.transport.fail(CloseCode.badMessage, `malformed message: ${wrong}`);
        else this.transport.close();
        this.lost(`it sent a malformed message (${wrong})`);
        return;
      }
      switch (m.op) {
        case 'ran':
          this.inFlight--;
          this.sizer.observe(m.ms, m.n);
          ran = true;
          break;
        case 'done':
          this.host.outcomes(this.id, m.outcomes, true);
          break;
        case 'crashed':
          this.host.crashed(this.id, m.runs, m.reason);
          break;
        case 'data': {
          const f = this.fetches.get(m.req);
          this.fetches.delete(m.req);
          if (!f) break;
          if (m.ok) f.resolve(m.values);
          else f.reject(fromErrorInfo(m.error));
          break;
        }
        case 'copied':
          this.copied(m.ok, m.failed);
          break;
        case 'relay':
          this.relay(m.req, m.at);
          break;
        case 'missing':
          // No holder could give these runs their dependencies: the scheduler recomputes them (or errs the runs).
          if (m.dropped) {
            this.inFlight--;
            ran = true;
          }
          this.host.needsDeps(this.id, m.runs);
          break;
        case 'hb':
          break;
      }
    }
    if (ran) this.host.wake();
  }

  private lost(why: string): void {
    if (this.gone) return;
    this.gone = true;
    clearInterval(this.watchdog);
    const err = new ConnectionError(`worker ${this.id} was lost: ${why}`);
    for (const f of this.fetches.values()) f.reject(err);
    this.fetches.clear();
    this.host.workerLost(this.id, why);
  }

  async close(): Promise<void> {
    this.gone = true;
    clearInterval(this.watchdog);
    this.transport.close();
  }
}
