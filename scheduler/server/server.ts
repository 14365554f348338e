/**
 * The I/O shell around the sans-I/O core: accepts client transports, feeds their messages to the
 * SchedulerState, delivers what it produces, lets workers pull ready tasks, and moves data between
 * remote workers (relayed here) for gathers and dependencies.
 */
import type { MessagePort } from 'node:worker_threads';
import { SchedulerState } from '../core/state';
import { toErrorInfo, type ErrorInfo } from '../protocol/errors';
import { PROTOCOL_VERSION, type ClientMessage, type FnSpec, type SchedulerMessage } from '../protocol/messages';
import { RemoteWorker } from '../worker/remote/remote-worker';
import type { FromWorker, ToWorker } from '../protocol/worker-messages';
import type { ExecTask } from '../protocol/worker-messages';
import { MessagePortTransport } from '../transport/message-port';
import type { Transport } from '../transport/transport';
import type { RunOutcome, RunRef, WorkerAdapter, WorkerHost } from '../worker/worker-host';

export type SchedulerSide = Transport<ClientMessage, SchedulerMessage>;
export type { WorkerAdapter } from '../worker/worker-host';

/** What the scheduler reports as it runs (connections, workers); the CLI prints it. */
export type SchedulerLog = (level: 'info' | 'warn', message: string) => void;

export interface AcceptOptions {
  /** Keep a client that dropped for this long so it can reconnect and resume (ms); 0 = release at once. */
  graceMs?: number;
}

export class SchedulerServer implements WorkerHost {
  readonly state: SchedulerState;
  private readonly conns = new Map<string, SchedulerSide>();
  private readonly workers = new Map<string, WorkerAdapter>();
  private readonly graceTimers = new Map<string, NodeJS.Timeout>();
  private closed = false;
  log: SchedulerLog = () => undefined;

  constructor(readonly address: string) {
    this.state = new SchedulerState(address);
  }

  addWorker(adapter: WorkerAdapter, threads: number): void {
    this.workers.set(adapter.id, adapter);
    this.state.addWorker(adapter.id, threads);
    this.afterEvent();
  }

  /** Takes a worker process's connection. */
  acceptWorker(transport: Transport<FromWorker, ToWorker>, id: string, threads: number, name?: string): void {
    if (this.closed || this.workers.has(id)) {
      transport.send({ op: 'error', error: { name: 'ProtocolError', message: `worker id ${id} is already connected`, code: 'ERR_HANDSHAKE' } });
      transport.close();
      return;
    }
    const worker = new RemoteWorker(this, transport, id, threads);
    this.log('info', `worker ${id}${name ? ` (${name})` : ''} joined with ${threads} threads`);
    this.addWorker(worker, threads);
  }

  // ------------------------------------------------------------ WorkerHost: stimuli from the adapters

  get readyCount(): number {
    return this.state.readyCount;
  }

  takeReady(workerId: string, max: number): ExecTask[] {
    return this.state.takeReady(workerId, max);
  }

  functions(ids: Iterable<string>): FnSpec[] {
    const out: FnSpec[] = [];
    for (const id of ids) {
      const f = this.state.fns.get(id);
      if (f) out.push(f);
    }
    return out;
  }

  isCurrentRun(workerId: string, ref: RunRef): boolean {
    const t = this.state.tasks.get(ref.key);
    return t?.state === 'processing' && t.run === ref.run && t.worker === workerId;
  }

  outcomes(workerId: string, outcomes: readonly RunOutcome[], remote = false): void {
    for (const o of outcomes) {
      if (o.ok) this.state.taskFinished(o.key, workerId, o.value, remote, o.run);
      else this.state.taskErred(o.key, workerId, o.error, o.run);
    }
    this.afterEvent();
  }

  crashed(workerId: string, runs: RunRef[], reason: ErrorInfo): void {
    for (const r of runs) this.state.taskCrashed(r.key, workerId, reason, r.run);
    this.afterEvent();
  }

  needsDeps(workerId: string, runs: RunRef[]): void {
    for (const r of runs) this.state.taskNeedsDeps(r.key, workerId, r.run);
    this.afterEvent();
  }

  wake(): void {
    this.afterEvent();
  }

  /** A worker's connection closed or its heartbeats stopped. */
  workerLost(id: string, why: string): void {
    if (!this.workers.delete(id)) return;
    this.log('warn', `worker ${id} lost: ${why}; its tasks are rescheduled`);
    this.state.removeWorker(id);
    this.afterEvent();
  }

  /** Takes a client connection; its first message must be `hello`. */
  accept(transport: SchedulerSide, opts: AcceptOptions = {}): void {
    if (this.closed) {
      transport.close();
      return;
    }
    let clientId: string | undefined;
    let explicitClose = false;
    transport.onMessages((batch) => {
      if (!Array.isArray(batch)) return this.reject(transport, 'a batch must be an array of messages');
      let i = 0;
      if (clientId === undefined) {
        const hello = batch[0];
        if (!hello || hello.op !== 'hello' || typeof hello.client !== 'string' || hello.client.length === 0) {
          return this.reject(transport, 'the first message must be hello');
        }
        if (hello.version !== PROTOCOL_VERSION) {
          return this.reject(transport, `protocol version ${String(hello.version)} is not supported (scheduler speaks ${PROTOCOL_VERSION})`);
        }
        const waiting = this.graceTimers.get(hello.client);
        if (waiting) {
          // The same client, back within its grace period: rebind and let it resynchronise.
          clearTimeout(waiting);
          this.graceTimers.delete(hello.client);
          clientId = hello.client;
          this.conns.set(clientId, transport);
          this.state.resumeClient(clientId);
          this.log('info', `client ${clientId} reconnected`);
        } else {
          if (this.conns.has(hello.client) || this.state.clients.has(hello.client)) return this.reject(transport, `client id ${hello.client} is already connected`);
          clientId = hello.client;
          this.conns.set(clientId, transport);
          this.state.addClient(clientId);
        }
        i = 1;
      }
      for (; i < batch.length; i++) {
        const msg = batch[i];
        if (msg && msg.op === 'close') {
          explicitClose = true;
          transport.close();
          break;
        }
        if (!msg || typeof msg !== 'object' || typeof msg.op !== 'string') {
          transport.send({ op: 'error', error: { name: 'ProtocolError', message: 'a message must be an object with an op', code: 'ERR_PROTOCOL' } });
          continue;
        }
        this.state.handleClient(clientId, msg);
      }
      this.afterEvent();
    });
    transport.onClose(() => {
      if (clientId === undefined || this.conns.get(clientId) !== transport) return;
      this.conns.delete(clientId);
      const id = clientId;
      const grace = opts.graceMs ?? 0;
      if (!explicitClose && grace > 0 && !this.closed) {
        // Keep its wants and subscriptions for a while: it may reconnect and resume.
        const timer = setTimeout(() => {
          this.graceTimers.delete(id);
          this.state.removeClient(id);
          this.afterEvent();
        }, grace);
        timer.unref();
        this.graceTimers.set(id, timer);
        return;
      }
      this.state.removeClient(id);
      this.afterEvent();
    });
  }

  /** Takes a client on another thread of this process. */
  acceptPort(port: MessagePort): void {
    this.accept(new MessagePortTransport<ClientMessage, SchedulerMessage>(port));
  }

  private reject(transport: SchedulerSide, message: string): void {
    transport.send({ op: 'error', error: { name: 'ProtocolError', message, code: 'ERR_HANDSHAKE' } });
    transport.close();
  }

  /** Delivers everything the core produced, lets workers pull ready tasks, and starts remote fetches. */
  afterEvent(): void {
    if (this.state.readyCount > 0) for (const w of this.workers.values()) w.pump();
    const out = this.state.drainOutbox();
    for (const [cid, msgs] of out) {
      const t = this.conns.get(cid);
      if (!t) continue;
      for (const m of msgs) t.send(m);
    }
    for (const [wid, keys] of this.state.drainFrees()) this.workers.get(wid)?.free?.(keys);
    for (const g of this.state.drainRemoteGathers()) {
      const fetches = [...g.remote].map(([wid, part]) =>
        this.fetchFrom(wid, part.keys).then((values) => {
          part.index.forEach((idx, j) => (g.values[idx] = values[j]));
        }),
      );
      Promise.all(fetches).then(
        () => this.conns.get(g.client)?.send({ op: 'reply', req: g.req, ok: true, value: g.values }),
        (err: unknown) => this.conns.get(g.client)?.send({ op: 'reply', req: g.req, ok: false, error: toErrorInfo(err) }),
      );
    }
  }

  private fetchFrom(workerId: string, keys: string[]): Promise<unknown[]> {
    const w = this.workers.get(workerId);
    if (!w?.fetch) return Promise.reject(new Error(`worker ${workerId} is gone`));
    return w.fetch(keys);
  }

  /** Brings dependencies held by remote workers into the tasks' `deps` (all but those held by `except`). */
  async fillRemoteDeps(tasks: ExecTask[], except?: string): Promise<void> {
    const byWorker = new Map<string, Set<string>>();
    for (const t of tasks) {
      for (const [key, wid] of Object.entries(t.at ?? {})) {
        if (wid === except) continue;
        let keys = byWorker.get(wid);
        if (!keys) byWorker.set(wid, (keys = new Set()));
        keys.add(key);
      }
    }
    const values = new Map<string, unknown>();
    await Promise.all(
      [...byWorker].map(async ([wid, keys]) => {
        const list = [...keys];
        const got = await this.fetchFrom(wid, list);
        list.forEach((k, i) => values.set(k, got[i]));
      }),
    );
    for (const t of tasks) {
      if (!t.at) continue;
      for (const [key, wid] of Object.entries(t.at)) {
        if (wid === except) continue;
        (t.deps ??= {})[key] = values.get(key);
        delete t.at[key];
      }
      if (Object.keys(t.at).length === 0) delete t.at;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.graceTimers.values()) clearTimeout(t);
    this.graceTimers.clear();
    for (const t of this.conns.values()) t.close();
    this.conns.clear();
    await Promise.all([...this.workers.values()].map((w) => w.close()));
  }
}
