/**
 * The I/O shell around the sans-I/O core: accepts client transports, feeds their messages to the
 * SchedulerState, delivers what it produces and lets workers pull ready tasks. Small results come inline
 * with their outcomes and are kept here; larger ones stay where they were computed: worker processes fetch
 * dependencies from each other (it only tells them where each holder's
 * peer server listens), and a client that can reach the workers is told where its gathered results are.
 * It relays results itself only for clients that cannot fetch them (in-process ones, or `direct: 'never'`)
 * and for dependencies its own thread pool needs.
 */
import type { MessagePort } from 'node:worker_threads';
import { type ClientState, SchedulerState } from '../core/state';
import { ProtocolError, toErrorInfo, type ErrorInfo } from '../protocol/errors';
import { checkClientMessage } from '../protocol/validation';
import { PROTOCOL_VERSION, type ClientMessage, type ExecTask, type FnSpec, type GatherWhere, type SchedulerMessage } from '../protocol/messages';
import { RemoteWorkerAdapter } from '../worker/remote/remote-worker-adapter';
import type { FromWorkerProcess, ToWorkerProcess } from '../protocol/worker-process-messages';
import { MessagePortTransport } from '../transport/message-port';
import type { Transport } from '../transport/transport';
import type { RunOutcome, RunRef, WorkerAdapter, WorkerHost } from '../worker/worker-host';

export type SchedulerSide = Transport<ClientMessage, SchedulerMessage>;

/** What the scheduler reports as it runs (connections, workers); the CLI prints it. */
export type SchedulerLog = (level: 'info' | 'warn', message: string) => void;

export interface AcceptOptions {
  /** Keep a client that dropped for this long so it can reconnect and resume (ms); 0 = release at once. */
  graceMs?: number;
}

/**
 * What one part of a client's batch may cost, counted in subscriber-wants (an appended future is wanted once
 * by every subscriber of its channel; an appended value nothing, since the core does O(1) for it and its
 * subscribers share one encoding; any other message counts one): a few ms of the core's time. See splitBatch.
 */
export const PART_WEIGHT = 4096;

/** Malformed messages of one batch answered one by one; past this, one summary error for the rest. */
const MAX_REFUSALS_ANSWERED = 16;

/** Answers a malformed message: as the reply to its request when it carried a usable id, else as an error. */
function refuse(transport: SchedulerSide, wrong: ProtocolError): void {
  const error = toErrorInfo(wrong);
  transport.send(wrong.req === undefined ? { op: 'error', error } : { op: 'reply', req: wrong.req, ok: false, error });
}

/** The error a refused handshake (wrong first message, version, duplicate id) is answered with. */
function handshakeError(message: string): ErrorInfo {
  return { ...toErrorInfo(new ProtocolError(message)), code: 'ERR_HANDSHAKE' };
}

export class SchedulerServer implements WorkerHost {
  readonly state: SchedulerState;
  private readonly conns = new Map<string, SchedulerSide>();
  private readonly workers = new Map<string, WorkerAdapter>();
  /** Clients that fetch results from worker processes themselves (they said `direct` in their hello). */
  private readonly directClients = new Set<string>();
  /** Gathers of the batch being handled that asked the scheduler to relay (`relay`), as `client req`. */
  private readonly relayed = new Set<string>();
  /** Worker process id -> where its peer server listens. */
  private readonly peerAddresses = new Map<string, string>();
  private readonly graceTimers = new Map<string, NodeJS.Timeout>();
  /** Threads of every worker now connected. */
  private threads = 0;
  private closed = false;
  log: SchedulerLog = () => undefined;

  constructor(readonly address: string) {
    this.state = new SchedulerState(address);
  }

  addWorker(adapter: WorkerAdapter, threads: number): void {
    this.workers.set(adapter.id, adapter);
    this.threads += threads;
    this.state.addWorker(adapter.id, threads, adapter.fetch !== undefined);
    this.afterEvent();
  }

  /** Takes a worker process's connection (its handshake passed in ws-server.ts); a RemoteWorkerAdapter serves it. */
  acceptWorkerProcess(transport: Transport<FromWorkerProcess, ToWorkerProcess>, id: string, threads: number, name?: string, peer?: string): void {
    if (this.closed || this.workers.has(id)) {
      transport.send({ op: 'error', error: handshakeError(`worker id ${id} is already connected`) });
      transport.close();
      return;
    }
    if (peer !== undefined) this.peerAddresses.set(id, peer);
    const adapter = new RemoteWorkerAdapter(
      this,
      transport,
      id,
      threads,
      (wid) => this.peerAddresses.get(wid),
      (ok, failed) => {
        for (const key of ok) this.state.replicaAdded(key, id);
        for (const f of failed) this.state.replicaFailed(f.key, id, f.why);
        this.afterEvent();
      },
    );
    this.log('info', `worker ${id}${name ? ` (${name})` : ''} joined with ${threads} threads`);
    this.addWorker(adapter, threads);
  }

  // ------------------------------------------------------------ WorkerHost: stimuli from the adapters

  get readyCount(): number {
    return this.state.readyCount;
  }

  get totalThreads(): number {
    return this.threads;
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
      // A worker process's small result came inline: the scheduler keeps it, as it keeps its own pool's.
      if (o.ok) this.state.taskFinished(o.key, workerId, o.value, remote && o.inline !== true, o.run, o.nbytes);
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

  /** A worker process's connection closed or its heartbeats stopped. */
  workerLost(id: string, why: string): void {
    if (!this.workers.delete(id)) return;
    this.threads -= this.state.workers.get(id)?.threads ?? 0;
    this.peerAddresses.delete(id);
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
    /** The core's state of this connection's client, kept so that a message needs no lookup by id (see handleClientOf). */
    let client: ClientState | undefined;
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
          this.setDirect(clientId, hello.direct === true);
          this.state.resumeClient(clientId);
          this.log('info', `client ${clientId} reconnected`);
        } else {
          if (this.conns.has(hello.client) || this.state.clients.has(hello.client)) return this.reject(transport, `client id ${hello.client} is already connected`);
          clientId = hello.client;
          this.conns.set(clientId, transport);
          this.setDirect(clientId, hello.direct === true);
          this.state.addClient(clientId);
        }
        i = 1;
      }
      let refused = 0;
      for (; i < batch.length; i++) {
        const msg = batch[i];
        const wrong = checkClientMessage(msg);
        if (wrong) {
          if (++refused <= MAX_REFUSALS_ANSWERED) refuse(transport, wrong);
          continue;
        }
        if (msg.op === 'gather' && msg.relay === true) this.relayed.add(`${clientId} ${msg.req}`);
        if (msg.op === 'close') {
          explicitClose = true;
          transport.close();
          break;
        }
        // Looked up again only when the state it kept is gone (its client was removed and has come back since).
        if (client === undefined || client.closed) client = this.state.clients.get(clientId);
        if (client !== undefined) this.state.handleClientOf(client, msg);
      }
      if (refused > MAX_REFUSALS_ANSWERED) {
        refuse(transport, new ProtocolError(`${refused - MAX_REFUSALS_ANSWERED} more malformed messages of the same batch were dropped`));
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
          this.directClients.delete(id);
          this.state.removeClient(id);
          this.afterEvent();
        }, grace);
        timer.unref();
        this.graceTimers.set(id, timer);
        return;
      }
      this.directClients.delete(id);
      this.state.removeClient(id);
      this.afterEvent();
    });
  }

  /**
   * Cuts a client's batch into parts of about PART_WEIGHT each, handled one after the other with the loop
   * free between them (ws-transport.ts `split`), or undefined when it is light enough to handle at once. Only
   * appends are cut (a producer's hundreds of items, a quarter of them futures that 500 subscribers each come
   * to want, made one turn of ~30–60 ms): into appends of consecutive items, as if the client had sent them
   * in several batches. An append that is not well formed is left whole, to be refused whole.
   */
  splitBatch(batch: readonly unknown[]): unknown[][] | undefined {
    // Most batches hold no append of several items: one look at each message, nothing allocated.
    if (!batch.some((m) => (m as { op?: unknown } | null)?.op === 'append')) return undefined;
    let total = 0;
    const weights = batch.map((m) => {
      const w = this.appendWeights(m);
      total += w === undefined ? 1 : w.reduce((a, b) => a + b, 0);
      return w;
    });
    if (total <= PART_WEIGHT) return undefined;
    // Checked only now (a light batch is not checked twice): an append that is not well formed stays whole.
    weights.forEach((w, j) => {
      if (w !== undefined && checkClientMessage(batch[j]) !== undefined) weights[j] = undefined;
    });
    const parts: unknown[][] = [];
    let part: unknown[] = [];
    let weight = 0;
    const cut = () => {
      if (part.length > 0) parts.push(part);
      part = [];
      weight = 0;
    };
    batch.forEach((m, j) => {
      const w = weights[j];
      if (w === undefined) {
        if (weight + 1 > PART_WEIGHT) cut();
        part.push(m);
        weight += 1;
        return;
      }
      const msg = m as Extract<ClientMessage, { op: 'append' }>;
      let from = 0;
      for (let i = 0; i < w.length; i++) {
        if (weight > 0 && weight + w[i] > PART_WEIGHT) {
          if (i > from) part.push({ ...msg, items: msg.items.slice(from, i) });
          from = i;
          cut();
        }
        weight += w[i];
      }
      part.push(from === 0 ? msg : { ...msg, items: msg.items.slice(from) });
    });
    cut();
    return parts.length > 1 ? parts : undefined;
  }

  /** The weight of each item of an append of several items (a future: its channel's subscribers), or undefined. */
  private appendWeights(m: unknown): number[] | undefined {
    const msg = m as { op?: unknown; items?: unknown; channel?: unknown } | null;
    if (msg?.op !== 'append' || !Array.isArray(msg.items) || msg.items.length < 2 || typeof msg.channel !== 'string') return undefined;
    const subscribers = Math.max(1, this.state.channels.get(msg.channel)?.subscribers.size ?? 0);
    // Values weigh nothing: cutting a producer's append of thousands of values gained no responsiveness and
    // cost the fan-out benchmark (50 subscribers) about 8% of its deliveries per second.
    return (msg.items as unknown[]).map((item) => (typeof item === 'object' && item !== null && 'k' in item ? subscribers : 0));
  }

  private setDirect(clientId: string, direct: boolean): void {
    if (direct) this.directClients.add(clientId);
    else this.directClients.delete(clientId);
  }

  /** Takes a client on another thread of this process. */
  acceptPort(port: MessagePort): void {
    this.accept(new MessagePortTransport<ClientMessage, SchedulerMessage>(port));
  }

  /** Refuses a connection whose handshake is wrong: says why, then closes it. */
  private reject(transport: SchedulerSide, message: string): void {
    transport.send({ op: 'error', error: handshakeError(message) });
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
    for (const [wid, copies] of this.state.drainCopies()) this.copyTo(wid, copies);
    for (const g of this.state.drainRemoteGathers()) {
      if (this.directClients.has(g.client) && !this.relayed.has(`${g.client} ${g.req}`)) {
        const where = this.whereIs(g.remote);
        if (where) {
          // The client fetches these from the workers itself (scheduler/client/direct.ts).
          const value: GatherWhere = { where, values: g.values };
          this.conns.get(g.client)?.send({ op: 'reply', req: g.req, ok: true, value });
          continue;
        }
      }
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
    this.relayed.clear();
  }

  /** Sends copy orders (`replicate`) to the worker process that is to hold the copies; it fetches them from a holder. */
  private copyTo(workerId: string, copies: { key: string; from: string[] }[]): void {
    const w = this.workers.get(workerId);
    if (w instanceof RemoteWorkerAdapter) return w.copy(copies);
    // Only worker processes hold copies; the core orders none elsewhere, but a worker may have just left.
    queueMicrotask(() => {
      for (const c of copies) this.state.replicaFailed(c.key, workerId, `worker ${workerId} is gone`);
      this.afterEvent();
    });
  }

  /** Where a direct client fetches results held on worker processes, or undefined when a holder has no peer address. */
  private whereIs(remote: Map<string, { keys: string[]; index: number[] }>): GatherWhere['where'] | undefined {
    const where: GatherWhere['where'] = [];
    for (const [worker, part] of remote) {
      const address = this.peerAddresses.get(worker);
      if (address === undefined) return undefined;
      where.push({ worker, address, keys: part.keys, index: part.index });
    }
    return where;
  }

  private fetchFrom(workerId: string, keys: string[]): Promise<unknown[]> {
    const w = this.workers.get(workerId);
    if (!w?.fetch) return Promise.reject(new Error(`worker ${workerId} is gone`));
    return w.fetch(keys);
  }

  /** Brings dependencies stored on worker processes into the tasks' `deps` (all but those stored on `except`). */
  async fillRemoteDeps(tasks: ExecTask[], except?: string): Promise<void> {
    const byWorker = new Map<string, Set<string>>();
    for (const t of tasks) {
      for (const [key, holders] of Object.entries(t.at ?? {})) {
        if (except !== undefined && holders.includes(except)) continue;
        const wid = holders[0];
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
      for (const [key, holders] of Object.entries(t.at)) {
        if (except !== undefined && holders.includes(except)) continue;
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
