/**
 * The scheduler's side of a worker process (WorkerProcess, worker-process.ts, at the other end of a
 * WebSocket): pulls ready tasks for it in adaptive batches, relays dependencies it does not store, fetches
 * results it stores, and reports it lost when its socket closes or its heartbeats stop.
 */
import { ConnectionError, fromErrorInfo, ProtocolError, toErrorInfo } from '../../protocol/errors';
import { CloseCode } from '../../wire/close-codes';
import type { Transport } from '../../transport/transport';
import type { ExecTask } from '../../protocol/messages';
import type { WorkerAdapter, WorkerHost } from '../worker-host';
import { BatchSizer } from '../pool/batch-sizer';
import { HEARTBEAT_TIMEOUT_MS, type FromWorkerProcess, type ToWorkerProcess } from '../../protocol/worker-process-messages';

export class RemoteWorkerAdapter implements WorkerAdapter {
  private readonly sizer: BatchSizer;
  private inFlight = 0;
  private nextReq = 1;
  private readonly fetches = new Map<number, { resolve: (v: unknown[]) => void; reject: (e: Error) => void }>();
  private lastSeen = Date.now();
  private readonly watchdog: NodeJS.Timeout;
  private gone = false;

  constructor(
    private readonly host: WorkerHost,
    private readonly transport: Transport<FromWorkerProcess, ToWorkerProcess> & { fail?(code: number, reason: string): void },
    readonly id: string,
    readonly threads: number,
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
    // Dependencies stored on this worker process stay where they are; others are brought along.
    const elsewhere = tasks.filter((t) => t.at && Object.values(t.at).some((holders) => !holders.includes(this.id)));
    const send = () => {
      this.transport.send({ op: 'run', fns: this.host.functions(new Set(tasks.map((t) => t.fn))), tasks });
    };
    if (elsewhere.length === 0) return send();
    this.host.fillRemoteDeps(elsewhere, this.id).then(send, () => {
      // A worker process storing a dependency went away: the scheduler recomputes it; these tasks wait for it.
      this.inFlight--;
      this.host.needsDeps(this.id, tasks);
    });
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
      switch (m?.op) {
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
        case 'hb':
          break;
        default:
          this.transport.send({ op: 'error', error: toErrorInfo(new ProtocolError(`unknown worker message ${JSON.stringify((m as { op?: unknown })?.op)}`)) });
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
