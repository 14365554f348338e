/**
 * A worker process (`shared-futures worker ws://…`): runs the batches the scheduler sends on its own pool
 * threads. A small result (INLINE_RESULT_MAX_BYTES) goes to the scheduler with its outcome and is kept
 * there; a larger one stays here, in memory, until the scheduler says it can go. The scheduler sees this
 * process through a RemoteWorkerAdapter. Its peer server (peer-server.ts) serves the stored results to other
 * worker processes and to clients; the dependencies of its own tasks it fetches from their holders' peer
 * servers (dep-fetcher.ts), so large results never pass through the scheduler. Tasks that call `localClient()` connect to
 * the scheduler over WebSocket themselves.
 */
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { deserialize } from 'node:v8';
import { toErrorInfo } from '../../protocol/errors';
import { ThreadRunner } from '../pool/thread-runner';
import type { Batch, TaskOutcome } from '../pool/batch';
import { WsClientTransport, type WsConnectOptions } from '../../wire/ws-client';
import { HEARTBEAT_MS, INLINE_RESULT_MAX_BYTES, type FromWorkerProcess, type ToWorkerProcess } from '../../protocol/worker-process-messages';
import type { ExecTask } from '../../protocol/messages';
import { PeerClient } from '../../wire/peer-client';
import { RAW_MIN_BYTES } from '../../wire/peer-frames';
import { DependencyFetcher, type FetchOutcome } from './dep-fetcher';
import { listenForPeers, type PeerServer } from './peer-server';

export interface WorkerProcessOptions extends WsConnectOptions {
  threads: number;
  name?: string;
  /** Called with what happens (joined, lost the scheduler). */
  log?: (level: 'info' | 'warn', message: string) => void;
  /** Where the peer server listens (default 127.0.0.1 on a free port); beyond loopback a token is required. */
  listen?: { host?: string; port?: number };
}

type HelloOut = FromWorkerProcess | { op: 'hello'; id: string; name?: string; peer: string };

/**
 * The buffer behind `v` when `v` is a large typed array that is the whole of its own ArrayBuffer (as a
 * result fetched from a peer arrives: peer-frames.ts), so moving the buffer moves exactly this value.
 */
function movableBuffer(v: unknown): ArrayBuffer | undefined {
  if (!ArrayBuffer.isView(v) || v.byteLength < RAW_MIN_BYTES) return undefined;
  const b = v.buffer;
  return b instanceof ArrayBuffer && v.byteOffset === 0 && v.byteLength === b.byteLength ? b : undefined;
}

/** A result small enough to travel inline with its outcome (`ser`: its serialized bytes, absent for a primitive). */
function isSmall(ser: Uint8Array | undefined, value: unknown): boolean {
  if (ser !== undefined) return ser.length <= INLINE_RESULT_MAX_BYTES;
  return typeof value !== 'string' || value.length * 2 <= INLINE_RESULT_MAX_BYTES;
}

export class WorkerProcess {
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
  /** Peer addresses of other workers, as the scheduler sent them. */
  private readonly peerAddresses = new Map<string, string>();
  private readonly peers: PeerClient;
  private readonly fetcher: DependencyFetcher;
  /** Dependencies asked of the scheduler (`relay`) and not answered yet, by request id. */
  private readonly relays = new Map<number, (values: unknown[] | undefined) => void>();
  private nextRelay = 1;

  private constructor(
    readonly scheduler: string,
    private readonly opts: WorkerProcessOptions,
    readonly id: string,
    private readonly peerServer: PeerServer,
  ) {
    this.peers = new PeerClient(opts.token, id);
    this.fetcher = new DependencyFetcher(this.peers, (wid) => this.peerAddresses.get(wid));
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
    this.closedPromise = new Promise((resolve) =>
      this.transport.onClose((reason) => {
        for (const answer of this.relays.values()) answer(undefined);
        this.relays.clear();
        resolve(reason);
      }),
    );
    this.transport.onMessages((batch) => this.receive(batch));
    this.transport.send({ op: 'hello', id: this.id, ...(opts.name ? { name: opts.name } : {}), peer: peerServer.address });
    this.transport.setKeepAlive(true);
    this.heartbeat = setInterval(() => this.send({ op: 'hb' }), HEARTBEAT_MS);
  }

  /** Opens the peer server, then connects to the scheduler (announcing the peer address) and starts serving. */
  static async start(scheduler: string, opts: WorkerProcessOptions): Promise<WorkerProcess> {
    const id = `worker-${hostname()}-${process.pid}-${randomUUID().slice(0, 6)}`;
    const self: { node?: WorkerProcess } = {};
    const server = await listenForPeers((keys) => self.node?.lookup(keys) ?? { values: [], missing: keys }, {
      ...opts.listen,
      ...(opts.token !== undefined ? { token: opts.token } : {}),
      ...(opts.limits ? { limits: opts.limits } : {}),
    });
    self.node = new WorkerProcess(scheduler, opts, id, server);
    return self.node;
  }

  /** Where this worker's peer server listens. */
  get peerAddress(): string {
    return this.peerServer.address;
  }

  /** Peer addresses of other workers that a `run` or `copy` message brought. */
  private learnPeers(peers: Record<string, string> | undefined): void {
    for (const [wid, address] of Object.entries(peers ?? {})) this.peerAddresses.set(wid, address);
  }

  /** What a peer (or the scheduler's relay) asked for: the values stored here, and the keys that are not. */
  private lookup(keys: string[]): { values: unknown[]; missing: string[] } {
    const missing: string[] = [];
    const values = keys.map((k) => {
      if (!this.store.has(k)) missing.push(k);
      return this.store.get(k);
    });
    return { values, missing };
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
          this.learnPeers(m.peers);
          this.run({ fns: m.fns, tasks: m.tasks, pinThread: m.tasks.some((t) => t.alone) });
          break;
        case 'get': {
          const { values, missing } = this.lookup(m.keys);
          if (missing.length > 0) {
            this.send({ op: 'data', req: m.req, ok: false, error: { name: 'FutureLostError', message: `worker ${this.id} does not store ${missing.join(', ')}`, code: 'ERR_FUTURE_LOST', key: missing[0] } });
          } else {
            this.send({ op: 'data', req: m.req, ok: true, values });
          }
          break;
        }
        case 'copy':
          this.learnPeers(m.peers);
          this.copy(m.copies);
          break;
        case 'relayed': {
          const answer = this.relays.get(m.req);
          this.relays.delete(m.req);
          answer?.(m.ok ? m.values : undefined);
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
    /** Dependencies stored elsewhere: key -> the other workers holding it, in the scheduler's order. */
    const elsewhere = new Map<string, string[]>();
    for (const t of batch.tasks) {
      this.running.add(t.run);
      this.latest.set(t.key, t.run);
      if (!t.at) continue;
      for (const [key, holders] of Object.entries(t.at)) {
        if (this.store.has(key)) (t.deps ??= {})[key] = this.store.get(key);
        else elsewhere.set(key, holders.filter((h) => h !== this.id));
      }
    }
    if (elsewhere.size === 0) return this.start(batch);
    void this.fetchDeps(elsewhere).then(({ values, missing, exclusive }) => {
      if (this.closing) return;
      const runnable: ExecTask[] = [];
      const stuck: ExecTask[] = [];
      // Large values fetched for this batch alone move to the pool thread instead of being copied there
      // (a copy of a large result costs as much as its trip from the peer did).
      const transfer = new Set<ArrayBuffer>();
      for (const t of batch.tasks) {
        if (!t.at) {
          runnable.push(t);
          continue;
        }
        const keys = Object.keys(t.at);
        if (keys.some((k) => missing.has(k))) {
          stuck.push(t);
          continue;
        }
        for (const k of keys) {
          if (!values.has(k)) continue;
          const v = values.get(k);
          (t.deps ??= {})[k] = v;
          const b = exclusive.has(k) ? movableBuffer(v) : undefined;
          if (b) transfer.add(b);
        }
        runnable.push(t);
      }
      if (stuck.length > 0) {
        // No holder gave these: the scheduler recomputes the dependencies (or errs the runs).
        for (const t of stuck) {
          this.running.delete(t.run);
          if (this.latest.get(t.key) === t.run) this.latest.delete(t.key);
        }
        this.send({ op: 'missing', runs: stuck.map((t) => ({ key: t.key, run: t.run })), keys: [...missing], dropped: runnable.length === 0 });
      }
      if (runnable.length > 0) this.start(transfer.size > 0 ? { ...batch, tasks: runnable, transfer: [...transfer] } : { ...batch, tasks: runnable });
    });
  }

  /** Fetches copies of results from their holders and keeps them (the scheduler's `replicate`). */
  private copy(copies: { key: string; from: string[] }[]): void {
    const wanted = new Map<string, string[]>();
    for (const c of copies) if (!this.store.has(c.key)) wanted.set(c.key, c.from.filter((h) => h !== this.id));
    void this.fetcher.fetch(wanted).then(({ values, missing }) => {
      const ok: string[] = [];
      const failed: { key: string; why: string }[] = [];
      for (const c of copies) {
        if (values.has(c.key)) this.store.set(c.key, values.get(c.key));
        if (this.store.has(c.key)) ok.push(c.key);
        else failed.push({ key: c.key, why: missing.has(c.key) ? `no holder (${c.from.join(', ')}) could give it` : 'not fetched' });
      }
      this.send({ op: 'copied', ok, failed });
    });
  }

  /** Fetches from the holders' peer servers; what none of them gave, through the scheduler. */
  private async fetchDeps(elsewhere: Map<string, string[]>): Promise<FetchOutcome> {
    const got = await this.fetcher.fetch(elsewhere);
    if (got.missing.size === 0 || this.closing) return got;
    const at: Record<string, string[]> = {};
    for (const k of got.missing) at[k] = elsewhere.get(k) ?? [];
    const req = this.nextRelay++;
    const relayed = await new Promise<unknown[] | undefined>((resolve) => {
      this.relays.set(req, resolve);
      this.send({ op: 'relay', req, at });
    });
    if (relayed === undefined) return got;
    Object.keys(at).forEach((k, i) => got.values.set(k, relayed[i]));
    got.missing.clear();
    return got;
  }

  private start(batch: Batch): void {
    for (const t of batch.tasks) delete t.at;
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
        const value = o.ser ? deserialize(o.ser) : o.value;
        if (isSmall(o.ser, value)) {
          // The scheduler keeps it and answers for it: nothing to store, serve or free here.
          this.store.delete(o.key);
          outcomes.push({ key: o.key, run: o.run, ok: true, inline: true, value });
        } else {
          this.store.set(o.key, value);
          outcomes.push({ key: o.key, run: o.run, ok: true, nbytes: o.ser?.length ?? 0 });
        }
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
    this.peers.close();
    await Promise.all([this.runner.close(), this.peerServer.close()]);
  }
}
