/**
 * The scheduler's sans-I/O core. Synchronous: events in (client messages, worker results, worker
 * joins/losses), messages out (per-client outboxes, ready tasks pulled by workers). No threads, no sockets,
 * no timers: the adapters in `../server.ts` and `../pool/` drive it.
 */
import type { ErrorInfo } from '../errors';
import {
  PROTOCOL_VERSION,
  type ChannelInfo,
  type ClientMessage,
  type FnSpec,
  type FutureStatus,
  type SchedulerEvent,
  type SchedulerInfo,
  type SchedulerMessage,
  type StoryEntry,
  type TaskSpec,
  type WireItem,
  futureRef,
} from '../protocol';
import { ChannelLog } from './channel-log';
import { Ring } from './ring';
import { StoryLog } from './story-log';
import { type TaskState, TASK_STATES, assertTransition, publicStatus } from './transitions';

/** Everything the scheduler knows of one key. */
export class TaskRecord {
  state: TaskState = 'released';
  /** Function id ('' for data). */
  fn = '';
  args: unknown[] | undefined;
  deps: TaskRecord[] | undefined;
  dependents: Set<TaskRecord> | undefined;
  /** Dependencies not yet in memory. */
  waitingOn = 0;
  /** Clients that want the key: one id, or a Set when several (most keys have one wanter). */
  wanters: string | Set<string> | undefined;
  /** Channel slots that hold the key. */
  channelRefs = 0;
  /** Unfinished dependents that will need the result. */
  holds = 0;
  priority = 0;
  seq = 0;
  retries = 0;
  /** Times the task was on a thread that died. */
  suspicious = 0;
  worker: string | undefined;
  /** The remote worker holding the result; undefined when the value is here (`value`). */
  holder: string | undefined;
  /** Finished remotely: it keeps its dependencies (and their data) so it can be recomputed if lost. */
  keepsDeps = false;
  value: unknown;
  error: ErrorInfo | undefined;
  constructor(readonly key: string) {}
}

/** A task handed to a worker. */
export interface ExecTask {
  key: string;
  fn: string;
  args: unknown[];
  /** Values of dependencies by key, when the task has any. */
  deps?: Record<string, unknown>;
  /** Dependencies whose data is on a remote worker: key -> worker id (the adapter brings them). */
  at?: Record<string, string>;
  /** The task was on a thread that died: it must have its thread to itself until it settles. */
  alone?: true;
}

export interface WorkerState {
  id: string;
  threads: number;
  processing: Set<TaskRecord>;
  /** Results this (remote) worker holds. */
  has: Set<TaskRecord>;
}

/** A gather waiting on data from remote workers. */
export interface RemoteGather {
  client: string;
  req: number;
  values: unknown[];
  remote: Map<string, { keys: string[]; index: number[] }>;
}

interface ClientState {
  id: string;
  /** Keys this client wants. */
  wants: Set<string>;
  channels: Set<string>;
  /** Channels where an append of this client was refused since its last flush, with the reason. */
  refused: Map<string, ErrorInfo>;
  observer: boolean;
}

const STORY_CAPACITY = 100_000;

/** Lower-priority first out of a max-heap on (priority, -seq). */
/**
 * Ready tasks, highest priority first. Priority-0 tasks (nearly all) wait in a FIFO in arrival order; only
 * tasks with another priority pay for the heap.
 */
class ReadyQueue {
  private readonly fifo = new Ring<TaskRecord>(1024);
  private readonly heap: TaskRecord[] = [];

  get length(): number {
    return this.fifo.length + this.heap.length;
  }

  push(t: TaskRecord): void {
    if (t.priority === 0) this.fifo.push(t);
    else this.heapPush(t);
  }

  pop(): TaskRecord | undefined {
    const top = this.heap[0];
    if (top !== undefined && (top.priority > 0 || this.fifo.length === 0)) return this.heapPop();
    return this.fifo.shift();
  }

  private heapPush(t: TaskRecord): void {
    const h = this.heap;
    h.push(t);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(h[i], h[p])) break;
      const x = h[i];
      h[i] = h[p];
      h[p] = x;
      i = p;
    }
  }

  private heapPop(): TaskRecord | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop() as TaskRecord;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && before(h[l], h[m])) m = l;
        if (r < h.length && before(h[r], h[m])) m = r;
        if (m === i) break;
        const x = h[i];
        h[i] = h[m];
        h[m] = x;
        i = m;
      }
    }
    return top;
  }
}

function before(a: TaskRecord, b: TaskRecord): boolean {
  return a.priority !== b.priority ? a.priority > b.priority : a.seq < b.seq;
}

export class SchedulerState {
  readonly tasks = new Map<string, TaskRecord>();
  readonly channels = new Map<string, ChannelLog>();
  readonly clients = new Map<string, ClientState>();
  readonly workers = new Map<string, WorkerState>();
  readonly fns = new Map<string, FnSpec>();
  private readonly ready = new ReadyQueue();
  private readonly story = new StoryLog(STORY_CAPACITY);
  private readonly counts = Object.fromEntries(TASK_STATES.map((s) => [s, 0])) as Record<TaskState, number>;
  private seq = 0;
  private outbox = new Map<string, SchedulerMessage[]>();
  private statusBuf = new Map<string, { keys: string[]; s: FutureStatus[]; e: (ErrorInfo | null)[] | undefined }>();
  private events: SchedulerEvent[] = [];
  private channelEvents = new Map<string, SchedulerEvent>();
  private observers = 0;
  private frees = new Map<string, string[]>();
  /** Keys whose refs may have dropped to zero during the current event. */
  private releaseCandidates: TaskRecord[] = [];
  private remoteGathers: RemoteGather[] = [];

  constructor(
    readonly address: string,
    private readonly now: () => number = Date.now,
  ) {}

  // ---------------------------------------------------------------- clients

  /** A client came back within its grace period: it gets a new welcome and resynchronises. */
  resumeClient(id: string): void {
    this.statusBuf.delete(id);
    this.outbox.delete(id);
    this.send(id, { op: 'welcome', client: id, address: this.address, version: PROTOCOL_VERSION });
  }

  /** A client connected (its `hello`). */
  addClient(id: string): void {
    if (this.clients.has(id)) throw new Error(`client id ${id} is already connected`);
    this.clients.set(id, { id, wants: new Set(), channels: new Set(), refused: new Map(), observer: false });
    this.send(id, { op: 'welcome', client: id, address: this.address, version: PROTOCOL_VERSION });
  }

  /** A client closed or its connection ended: everything it wanted is released. */
  removeClient(id: string): void {
    const c = this.clients.get(id);
    if (!c) return;
    this.clients.delete(id);
    if (c.observer) this.observers--;
    for (const name of c.channels) this.channels.get(name)?.subscribers.delete(id);
    for (const key of c.wants) {
      const t = this.tasks.get(key);
      if (t && removeWanter(t, id)) this.releaseCandidates.push(t);
    }
    this.outbox.delete(id);
    this.statusBuf.delete(id);
    this.collect();
  }

  /** Handles one message of client `id`. Errors in a message are answered, never thrown. */
  handleClient(id: string, msg: ClientMessage): void {
    const c = this.clients.get(id);
    if (!c) return;
    try {
      this.dispatchClient(c, msg);
    } catch (err) {
      const error = toInfo(err);
      const req = (msg as { req?: unknown }).req;
      if (typeof req === 'number') this.send(id, { op: 'reply', req, ok: false, error });
      else this.send(id, { op: 'error', error });
    }
    this.collect();
  }

  private dispatchClient(c: ClientState, msg: ClientMessage): void {
    switch (msg.op) {
      case 'submit':
        return this.submit(c, msg.fns, msg.tasks);
      case 'scatter':
        for (const { key, value } of msg.items) this.scatterOne(c, key, value);
        return this.send(c.id, { op: 'reply', req: msg.req, ok: true });
      case 'want':
        return this.want(c, msg.keys, msg.sync === true);
      case 'release':
        for (const key of msg.keys) this.release(c, key);
        return;
      case 'cancel':
        for (const key of msg.keys) {
          const t = this.tasks.get(key);
          if (t) this.cancel(t, `cancelled by ${c.id}`);
        }
        return this.send(c.id, { op: 'reply', req: msg.req, ok: true });
      case 'gather':
        return this.gather(c, msg.req, msg.keys);
      case 'sub':
        return this.subscribe(c, msg.channel, msg.maxlen, msg.from, msg.create !== false);
      case 'append':
        return this.append(c, msg.channel, msg.items);
      case 'flush': {
        const refused = c.refused.get(msg.channel);
        c.refused.delete(msg.channel);
        if (refused) return this.send(c.id, { op: 'reply', req: msg.req, ok: false, error: refused });
        return this.send(c.id, { op: 'reply', req: msg.req, ok: true });
      }
      case 'stop':
        this.stopChannel(msg.channel);
        return this.send(c.id, { op: 'reply', req: msg.req, ok: true });
      case 'unsub':
        c.channels.delete(msg.channel);
        this.channels.get(msg.channel)?.subscribers.delete(c.id);
        return;
      case 'delete':
        this.deleteChannel(msg.channel);
        return this.send(c.id, { op: 'reply', req: msg.req, ok: true });
      case 'channels':
        return this.send(c.id, { op: 'reply', req: msg.req, ok: true, value: this.channelInfos() });
      case 'info':
        return this.send(c.id, { op: 'reply', req: msg.req, ok: true, value: this.info() });
      case 'story':
        return this.send(c.id, { op: 'reply', req: msg.req, ok: true, value: this.storyOf(msg.key) });
      case 'events':
        if (msg.on !== c.observer) {
          c.observer = msg.on;
          this.observers += msg.on ? 1 : -1;
        }
        return;
      case 'hello':
      case 'close':
        return;
      default:
        throw new ProtocolError(`unknown op ${JSON.stringify((msg as { op?: unknown }).op)}`);
    }
  }

  // ---------------------------------------------------------------- tasks

  private submit(c: ClientState, fns: FnSpec[], specs: TaskSpec[]): void {
    if (!Array.isArray(fns) || !Array.isArray(specs)) throw new ProtocolError('submit needs fns and tasks arrays');
    for (const f of fns) {
      if (typeof f?.id !== 'string' || (typeof f.src !== 'string' && typeof f.ref !== 'string')) {
        throw new ProtocolError('submit: a function needs an id and a src or ref');
      }
      if (!this.fns.has(f.id)) this.fns.set(f.id, f);
    }
    const graphKeys = specs.some((s) => s.graph) ? new Set(specs.map((s) => s.key)) : undefined;
    const created: TaskRecord[] = [];
    const createdDeps: (string[] | undefined)[] = [];
    for (const spec of specs) {
      if (typeof spec?.key !== 'string' || spec.key.length === 0) throw new ProtocolError('submit: a task needs a key');
      let t = this.tasks.get(spec.key);
      // A cancelled key submitted again runs again, in the same record (holders keep it).
      const rerun = t !== undefined && t.state === 'cancelled' && spec.fn !== '';
      if (t && !rerun) {
        this.addWant(c, spec.key, t); // identical key: share the existing task
        continue;
      }
      if (!t) {
        t = new TaskRecord(spec.key);
        this.tasks.set(spec.key, t);
        this.counts.released++;
      }
      t.error = undefined;
      t.suspicious = 0;
      this.addWant(c, spec.key, t);
      t.seq = this.seq++;
      t.priority = typeof spec.priority === 'number' && Number.isFinite(spec.priority) ? spec.priority : 0;
      t.retries = typeof spec.retries === 'number' && spec.retries > 0 ? Math.floor(spec.retries) : 0;
      if (spec.fn === '' && 'value' in spec) {
        t.value = spec.value;
        this.transition(t, 'memory', 'graph-data');
        continue;
      }
      if (!this.fns.has(spec.fn)) throw new ProtocolError(`submit: unknown function id ${String(spec.fn)}`);
      t.fn = spec.fn;
      t.args = Array.isArray(spec.args) ? spec.args : [];
      let deps = Array.isArray(spec.deps) && spec.deps.length > 0 ? spec.deps : undefined;
      if (spec.graph && graphKeys) {
        const found = new Set<string>();
        t.args = t.args.map((a) => this.graphArg(a, graphKeys, found));
        deps = found.size > 0 ? [...found] : undefined;
      }
      created.push(t);
      createdDeps.push(deps);
    }
    // Second pass: link dependencies once every task of the batch exists.
    for (let i = 0; i < created.length; i++) {
      const t = created[i];
      const deps = createdDeps[i];
      if (deps) t.deps = deps.map((dk) => this.depRecord(dk));
      this.place(t);
    }
  }

  /** A graph argument: a string naming a key of the graph or an existing task becomes a dependency. */
  private graphArg(a: unknown, graphKeys: Set<string>, deps: Set<string>): unknown {
    if (typeof a === 'string' && (graphKeys.has(a) || this.tasks.has(a))) {
      deps.add(a);
      return futureRef(a);
    }
    if (Array.isArray(a)) return a.map((x) => this.graphArg(x, graphKeys, deps));
    return a;
  }

  /** The record of a dependency key; an unknown key is created as lost so the dependent errs clearly. */
  private depRecord(key: string): TaskRecord {
    const t = this.tasks.get(key);
    if (t) return t;
    const missing = new TaskRecord(key);
    missing.error = { name: 'FutureReleasedError', message: `dependency ${key} is not held by the scheduler`, code: 'ERR_FUTURE_RELEASED' };
    this.tasks.set(key, missing);
    this.counts.released++;
    this.transition(missing, 'erred', 'missing-dependency');
    return missing;
  }

  /** Links a new task to its dependencies and moves it to waiting, queued or erred. */
  private place(t: TaskRecord): void {
    let erred: TaskRecord | undefined;
    if (t.deps) {
      for (const d of t.deps) {
        (d.dependents ??= new Set()).add(t);
        d.holds++;
        if (d.state === 'erred' || d.state === 'cancelled' || d.state === 'lost') erred ??= d;
        else if (d.state !== 'memory') t.waitingOn++;
      }
    }
    if (erred) {
      t.error = erred.error ?? { name: 'CancelledError', message: `dependency ${erred.key} was ${erred.state}` };
      this.transition(t, 'erred', 'dependency-failed');
      this.finishDependent(t);
    } else if (t.waitingOn > 0) {
      this.transition(t, 'waiting', 'submit');
    } else {
      this.transition(t, 'queued', 'submit');
      this.ready.push(t);
    }
  }

  private scatterOne(c: ClientState, key: string, value: unknown): void {
    if (typeof key !== 'string' || key.length === 0) throw new ProtocolError('scatter: an item needs a key');
    let t = this.tasks.get(key);
    this.addWant(c, key, t);
    if (t) return;
    t = new TaskRecord(key);
    t.wanters = c.id;
    c.wants.add(key);
    t.seq = this.seq++;
    t.value = value;
    this.tasks.set(key, t);
    this.counts.released++;
    this.transition(t, 'memory', 'scatter');
  }

  private addWant(c: ClientState, key: string, t: TaskRecord | undefined): void {
    if (!t) return;
    addWanter(t, c.id);
    c.wants.add(key);
  }

  private want(c: ClientState, keys: string[], sync = false): void {
    for (const key of keys) {
      const t = this.tasks.get(key);
      if (!t) {
        this.sendStatus(c.id, key, 'lost', {
          name: 'FutureReleasedError',
          message: `future ${key} was released: the scheduler no longer holds it`,
          code: 'ERR_FUTURE_RELEASED',
        });
        continue;
      }
      const had = c.wants.has(key);
      this.addWant(c, key, t);
      // A new want (or a resync after reconnecting) learns the current status.
      if (!had || sync) this.sendStatus(c.id, key, publicStatus(t.state), t.error);
    }
  }

  private release(c: ClientState, key: string): void {
    if (!c.wants.delete(key)) return;
    const t = this.tasks.get(key);
    if (t && removeWanter(t, c.id)) this.releaseCandidates.push(t);
  }

  private gather(c: ClientState, req: number, keys: string[]): void {
    const plan = this.gatherPlan(keys);
    if (plan.remote.size > 0) {
      this.remoteGathers.push({ client: c.id, req, values: plan.values, remote: plan.remote });
      return;
    }
    this.send(c.id, { op: 'reply', req, ok: true, value: plan.values });
  }

  /** Gathers that need data from remote workers; the server fetches and answers them. */
  drainRemoteGathers(): RemoteGather[] {
    const out = this.remoteGathers;
    this.remoteGathers = [];
    return out;
  }

  /** Values of `keys` held here, and which remote worker holds the others; throws on a key not finished. */
  gatherPlan(keys: string[]): { values: unknown[]; remote: Map<string, { keys: string[]; index: number[] }> } {
    const values: unknown[] = new Array(keys.length);
    const remote = new Map<string, { keys: string[]; index: number[] }>();
    for (let i = 0; i < keys.length; i++) {
      const t = this.tasks.get(keys[i]);
      if (!t) throw new GatherError({ name: 'FutureReleasedError', message: `future ${keys[i]} was released: the scheduler no longer holds it`, code: 'ERR_FUTURE_RELEASED' });
      if (t.state === 'memory' && t.holder !== undefined) {
        let r = remote.get(t.holder);
        if (!r) remote.set(t.holder, (r = { keys: [], index: [] }));
        r.keys.push(t.key);
        r.index.push(i);
      } else if (t.state === 'memory') values[i] = t.value;
      else if (t.state === 'erred') throw new GatherError(t.error ?? { name: 'Error', message: `task ${t.key} failed` });
      else if (t.state === 'cancelled') throw new GatherError({ name: 'CancelledError', message: `future ${t.key} was cancelled`, code: 'ERR_CANCELLED' });
      else if (t.state === 'lost') throw new GatherError({ name: 'FutureLostError', message: `future ${t.key} was lost`, code: 'ERR_FUTURE_LOST' });
      else throw new GatherError({ name: 'Error', message: `future ${t.key} is not finished (${publicStatus(t.state)})`, code: 'ERR_NOT_FINISHED' });
    }
    return { values, remote };
  }

  /** Cancels a task and everything that depends on it. */
  cancel(t: TaskRecord, why: string): void {
    if (t.state === 'cancelled' || t.state === 'forgotten' || t.state === 'erred' || t.state === 'lost') return;
    const wasProcessing = t.state === 'processing';
    const wasUnfinished = t.state !== 'memory';
    this.transition(t, 'cancelled', why);
    if (wasProcessing) this.leaveWorker(t);
    t.value = undefined;
    this.releaseDeps(t);
    if (t.holder !== undefined) {
      this.workers.get(t.holder)?.has.delete(t);
      this.freeOn(t.holder, t.key);
      t.holder = undefined;
    }
    if (wasUnfinished) this.finishDependent(t);
    if (t.dependents) for (const d of [...t.dependents]) this.cancel(d, `dependency ${t.key} cancelled`);
    this.releaseCandidates.push(t);
  }

  // ---------------------------------------------------------------- workers

  addWorker(id: string, threads: number): void {
    this.workers.set(id, { id, threads, processing: new Set(), has: new Set() });
    if (this.observers > 0) this.events.push({ type: 'worker', id, threads, state: 'joined' });
  }

  /** A worker left: its running tasks go back to the queue. */
  removeWorker(id: string): void {
    const w = this.workers.get(id);
    if (!w) return;
    this.workers.delete(id);
    for (const t of w.processing) {
      t.worker = undefined;
      this.transition(t, 'queued', 'worker-lost');
      this.ready.push(t);
    }
    // Results that lived on that worker: recompute from the graph, or lost when they were data.
    for (const t of w.has) {
      t.holder = undefined;
      t.value = undefined;
    }
    for (const t of w.has) this.recompute(t, w.has, id);
    if (this.observers > 0) this.events.push({ type: 'worker', id, threads: w.threads, state: 'left' });
    this.collect();
  }

  /** A finished task lost its data: run it again (dependencies first), or mark it lost. */
  private recompute(t: TaskRecord, lost: Set<TaskRecord>, worker: string): void {
    if (t.state !== 'memory') return;
    const deps = t.deps ?? [];
    if (t.fn === '' || deps.some((d) => this.tasks.get(d.key) !== d)) return this.markLost(t, worker);
    for (const d of deps) if (lost.has(d)) this.recompute(d, lost, worker);
    if (deps.some((d) => d.state === 'lost' || d.state === 'erred' || d.state === 'cancelled')) return this.markLost(t, worker);
    t.waitingOn = 0;
    for (const d of deps) {
      if (d.state !== 'memory') t.waitingOn++;
      (d.dependents ??= new Set()).add(t);
      if (!t.keepsDeps) d.holds++;
    }
    t.keepsDeps = false;
    // Dependents that were about to run with this result must wait for it again.
    if (t.dependents) {
      for (const d of t.dependents) {
        if (d.state === 'queued') {
          this.transition(d, 'waiting', 'dependency-lost');
          d.waitingOn++;
        } else if (d.state === 'waiting') d.waitingOn++;
      }
    }
    if (t.waitingOn > 0) this.transition(t, 'waiting', 'recompute');
    else {
      this.transition(t, 'queued', 'recompute');
      this.ready.push(t);
    }
  }

  private markLost(t: TaskRecord, worker: string): void {
    t.error = { name: 'FutureLostError', message: `future ${t.key} was lost with worker ${worker} and cannot be recomputed`, code: 'ERR_FUTURE_LOST' };
    this.transition(t, 'lost', 'worker-lost');
    this.releaseDeps(t);
    if (t.dependents) for (const d of [...t.dependents]) if (d.state === 'waiting' || d.state === 'queued') this.fail(d, t.error, `dependency-lost:${t.key}`);
  }

  get readyCount(): number {
    return this.ready.length;
  }

  /** Hands up to `max` ready tasks to worker `workerId` (queued -> processing). */
  takeReady(workerId: string, max: number): ExecTask[] {
    const w = this.workers.get(workerId);
    if (!w) return [];
    const out: ExecTask[] = [];
    while (out.length < max && this.ready.length > 0) {
      const t = this.ready.pop() as TaskRecord;
      if (t.state !== 'queued') continue; // cancelled or forgotten while queued
      // A task that was on a dying thread runs alone, so a crash can be pinned on it.
      if (t.suspicious > 0 && out.length > 0) {
        this.ready.push(t);
        break;
      }
      this.transition(t, 'processing', 'dispatch', workerId);
      t.worker = workerId;
      w.processing.add(t);
      const exec: ExecTask = { key: t.key, fn: t.fn, args: t.args ?? [] };
      if (t.deps) {
        const deps: Record<string, unknown> = {};
        for (const d of t.deps) {
          if (d.holder === undefined) deps[d.key] = d.value;
          else (exec.at ??= {})[d.key] = d.holder;
        }
        exec.deps = deps;
      }
      out.push(exec);
      if (t.suspicious > 0) {
        exec.alone = true;
        break;
      }
    }
    return out;
  }

  /** A task finished; `remote` when its result stays on the worker that computed it. */
  taskFinished(key: string, workerId: string, value: unknown, remote = false): void {
    const t = this.tasks.get(key);
    if (!t || t.state !== 'processing' || t.worker !== workerId) {
      // Stale (cancelled, forgotten or rescheduled): a remote worker must drop what it kept.
      if (remote) this.freeOn(workerId, key);
      return;
    }
    this.leaveWorker(t);
    t.suspicious = 0;
    if (remote) {
      t.holder = workerId;
      this.workers.get(workerId)?.has.add(t);
    } else {
      t.value = value;
    }
    this.transition(t, 'memory', 'task-finished', workerId);
    if (remote && t.deps) {
      // Keep the dependencies so the result can be recomputed should the worker go.
      t.keepsDeps = true;
      for (const d of t.deps) d.dependents?.delete(t);
    } else {
      this.finishDependent(t);
    }
    if (t.dependents) {
      for (const d of t.dependents) {
        if (d.state === 'waiting' && --d.waitingOn === 0) {
          this.transition(d, 'queued', 'dependencies-ready');
          this.ready.push(d);
        }
      }
    }
    this.releaseCandidates.push(t);
  }

  taskErred(key: string, workerId: string, error: ErrorInfo): void {
    const t = this.tasks.get(key);
    if (!t || t.state !== 'processing' || t.worker !== workerId) return;
    this.leaveWorker(t);
    if (t.retries > 0) {
      t.retries--;
      this.transition(t, 'queued', 'retry', workerId);
      this.ready.push(t);
      return;
    }
    this.fail(t, error, 'task-erred');
  }

  /** A dispatched task's dependencies could not be brought (their worker was lost): it waits for them again. */
  taskNeedsDeps(key: string, workerId: string): void {
    const t = this.tasks.get(key);
    if (!t || t.state !== 'processing' || t.worker !== workerId) return;
    this.leaveWorker(t);
    t.waitingOn = 0;
    for (const d of t.deps ?? []) {
      if (d.state === 'memory') continue;
      if (d.state === 'erred' || d.state === 'lost' || d.state === 'cancelled') {
        return this.fail(t, d.error ?? { name: 'FutureLostError', message: `dependency ${d.key} is ${d.state}`, code: 'ERR_FUTURE_LOST' }, 'dependency-unavailable');
      }
      t.waitingOn++;
    }
    if (t.waitingOn > 0) this.transition(t, 'waiting', 'dependency-lost', workerId);
    else {
      this.transition(t, 'queued', 'dependency-lost', workerId);
      this.ready.push(t);
    }
  }

  /** The thread running `key` died. The first time the task runs again alone; the second time it errs. */
  taskCrashed(key: string, workerId: string, reason: ErrorInfo): void {
    const t = this.tasks.get(key);
    if (!t || t.state !== 'processing' || t.worker !== workerId) return;
    this.leaveWorker(t);
    if (t.suspicious === 0) {
      t.suspicious = 1;
      this.transition(t, 'queued', 'thread-died', workerId);
      this.ready.push(t);
      return;
    }
    this.fail(t, { name: 'WorkerCrashedError', message: `the worker thread died while running ${key}: ${reason.message}`, stack: reason.stack, code: 'ERR_WORKER_CRASHED' }, 'thread-died');
  }

  private fail(t: TaskRecord, error: ErrorInfo, event: string): void {
    t.error = error;
    this.transition(t, 'erred', event);
    this.finishDependent(t);
    if (t.dependents) {
      for (const d of [...t.dependents]) {
        if (d.state === 'waiting' || d.state === 'queued' || d.state === 'released') this.fail(d, error, `dependency-erred:${t.key}`);
      }
    }
    this.releaseCandidates.push(t);
  }

  private leaveWorker(t: TaskRecord): void {
    if (t.worker) this.workers.get(t.worker)?.processing.delete(t);
    t.worker = undefined;
  }

  /** A task reached a final state: it no longer holds its dependencies. */
  private finishDependent(t: TaskRecord): void {
    if (!t.deps) return;
    for (const d of t.deps) {
      d.holds--;
      d.dependents?.delete(t);
      this.releaseCandidates.push(d);
    }
    t.deps = undefined;
    t.args = undefined;
  }

  /** Lets go of dependencies a remotely finished task kept for recomputation. */
  private releaseDeps(t: TaskRecord): void {
    if (!t.keepsDeps || !t.deps) return;
    t.keepsDeps = false;
    for (const d of t.deps) {
      d.holds--;
      this.releaseCandidates.push(d);
    }
    t.deps = undefined;
    t.args = undefined;
  }

  private freeOn(workerId: string, key: string): void {
    let keys = this.frees.get(workerId);
    if (!keys) this.frees.set(workerId, (keys = []));
    keys.push(key);
  }

  /** Keys remote workers may drop, by worker, since the last call. */
  drainFrees(): Map<string, string[]> {
    const out = this.frees;
    this.frees = new Map();
    return out;
  }

  // ---------------------------------------------------------------- channels

  private subscribe(c: ClientState, name: string, maxlen: number | null, from?: number, create = true): void {
    validateChannelName(name);
    if (maxlen !== null && (!Number.isInteger(maxlen) || maxlen < 1)) throw new ProtocolError(`invalid maxlen ${String(maxlen)}`);
    let ch = this.channels.get(name);
    if (!ch && !create) {
      // An observer (the UI) must not bring back a channel that was just deleted, nor fix its maxlen.
      this.send(c.id, { op: 'chan-deleted', channel: name });
      return;
    }
    if (!ch) {
      ch = new ChannelLog(name, maxlen);
      this.channels.set(name, ch);
      this.channelChanged(ch);
    }
    ch.subscribers.add(c.id);
    c.channels.add(name);
    const first = ch.count - ch.items.length;
    const start = typeof from === 'number' && from > first ? Math.min(from, ch.count) : first;
    const items: WireItem[] = [];
    for (let i = start - first; i < ch.items.length; i++) items.push(this.wireItem(c, ch.items.at(i)));
    this.send(c.id, { op: 'replay', channel: name, start, items, stopped: ch.stopped, maxlen: ch.maxlen });
  }

  private append(c: ClientState, name: string, items: WireItem[]): void {
    const ch = this.channels.get(name);
    if (!ch || ch.stopped) {
      c.refused.set(name, { name: 'ChannelStoppedError', message: ch ? `channel '${name}' is stopped: no more appends are accepted` : `channel '${name}' was deleted`, code: ch ? 'ERR_CHANNEL_STOPPED' : 'ERR_CHANNEL_DELETED' });
      return;
    }
    if (!Array.isArray(items)) throw new ProtocolError('append needs an items array');
    const start = ch.count;
    const accepted: unknown[] = [];
    for (const item of items) {
      if (item && typeof (item as { k?: unknown }).k === 'string') {
        const key = (item as { k: string }).k;
        const t = this.tasks.get(key);
        if (!t) {
          c.refused.set(name, { name: 'FutureReleasedError', message: `future ${key} was released before it was appended to '${name}'`, code: 'ERR_FUTURE_RELEASED' });
          continue;
        }
        t.channelRefs++;
        accepted.push(t);
      } else if (item && 'v' in item) {
        accepted.push(item.v);
      } else {
        throw new ProtocolError('append: an item is a future {k} or a value {v}');
      }
    }
    if (accepted.length === 0) return;
    for (const a of accepted) {
      ch.items.push(a);
      ch.count++;
      while (ch.maxlen !== null && ch.items.length > ch.maxlen) this.evict(ch);
    }
    // Items evicted within this same append are still delivered: every subscriber sees every append once.
    for (const sid of ch.subscribers) {
      const sc = this.clients.get(sid);
      if (!sc) continue;
      this.send(sid, { op: 'items', channel: name, start, items: accepted.map((a) => this.wireItem(sc, a)) });
    }
    this.channelChanged(ch);
  }

  private evict(ch: ChannelLog): void {
    const old = ch.items.shift();
    if (old instanceof TaskRecord) {
      old.channelRefs--;
      this.releaseCandidates.push(old);
    }
  }

  /** A channel item as sent to client `c`: futures carry their status, and the client now wants them. */
  private wireItem(c: ClientState, item: unknown): WireItem {
    if (item instanceof TaskRecord) {
      this.addWant(c, item.key, item);
      const s = publicStatus(item.state);
      return item.error ? { k: item.key, s, e: item.error } : { k: item.key, s };
    }
    return { v: item };
  }

  private stopChannel(name: string): void {
    const ch = this.channels.get(name);
    if (!ch || ch.stopped) return;
    ch.stopped = true;
    for (const sid of ch.subscribers) this.send(sid, { op: 'chan-stop', channel: name });
    this.channelChanged(ch);
  }

  private deleteChannel(name: string): void {
    const ch = this.channels.get(name);
    if (!ch) return;
    this.channels.delete(name);
    while (ch.items.length > 0) this.evict(ch);
    for (const sid of ch.subscribers) {
      this.clients.get(sid)?.channels.delete(name);
      this.send(sid, { op: 'chan-deleted', channel: name });
    }
    if (this.observers > 0) {
      this.channelEvents.set(name, { type: 'channel', name, count: ch.count, length: 0, maxlen: ch.maxlen, stopped: true, deleted: true });
    }
  }

  private channelChanged(ch: ChannelLog): void {
    if (this.observers === 0) return;
    this.channelEvents.set(ch.name, { type: 'channel', name: ch.name, count: ch.count, length: ch.items.length, maxlen: ch.maxlen, stopped: ch.stopped });
  }

  // ---------------------------------------------------------------- observing

  channelInfos(): ChannelInfo[] {
    return [...this.channels.values()].map((ch) => ({ name: ch.name, count: ch.count, length: ch.items.length, maxlen: ch.maxlen, stopped: ch.stopped }));
  }

  info(): SchedulerInfo {
    const tasks: Partial<Record<FutureStatus, number>> = {};
    for (const [state, n] of Object.entries(this.counts) as [TaskState, number][]) {
      if (n === 0 || state === 'forgotten') continue;
      const s = publicStatus(state);
      tasks[s] = (tasks[s] ?? 0) + n;
    }
    return {
      address: this.address,
      workers: [...this.workers.values()].map((w) => ({ id: w.id, threads: w.threads, running: [...w.processing].map((t) => t.key) })),
      tasks,
    };
  }

  storyOf(key: string): StoryEntry[] {
    return this.story.storyOf(key);
  }

  // ---------------------------------------------------------------- machinery

  private transition(t: TaskRecord, to: TaskState, event: string, worker?: string): void {
    const from = t.state;
    assertTransition(t.key, from, to);
    t.state = to;
    this.counts[from]--;
    this.counts[to]++;
    const time = this.now();
    this.story.add(t.key, event, from, to, time);
    const before = publicStatus(from);
    const after = publicStatus(to);
    if (before !== after && t.wanters !== undefined) {
      const e = to === 'erred' ? t.error : undefined;
      if (typeof t.wanters === 'string') this.sendStatus(t.wanters, t.key, after, e);
      else for (const cid of t.wanters) this.sendStatus(cid, t.key, after, e);
    }
    if (this.observers === 0) return;
    // Observers hear of new tasks (released -> pending is no change of public status) and of forgotten ones.
    if (to === 'forgotten') this.events.push({ type: 'task', key: t.key, status: after, time, forgotten: true });
    else if (before !== after || from === 'released') {
      this.events.push(worker ? { type: 'task', key: t.key, status: after, worker, time } : { type: 'task', key: t.key, status: after, time });
    }
  }

  /** Drops tasks nobody holds any more. Runs at the end of every event. */
  private collect(): void {
    while (this.releaseCandidates.length > 0) {
      const batch = this.releaseCandidates;
      this.releaseCandidates = [];
      for (const t of batch) {
        if (t.state === 'forgotten' || this.tasks.get(t.key) !== t) continue;
        if (t.wanters === undefined && t.channelRefs === 0 && t.holds === 0) this.forget(t, 'released');
      }
    }
  }

  private forget(t: TaskRecord, event: string): void {
    if (t.state === 'processing') this.leaveWorker(t);
    const unfinished = t.state !== 'memory' && t.state !== 'erred' && t.state !== 'cancelled' && t.state !== 'lost';
    this.transition(t, 'forgotten', event);
    if (unfinished) this.finishDependent(t);
    this.releaseDeps(t);
    if (t.holder !== undefined) {
      this.workers.get(t.holder)?.has.delete(t);
      this.freeOn(t.holder, t.key);
      t.holder = undefined;
    }
    this.tasks.delete(t.key);
    t.value = undefined;
    t.args = undefined;
  }

  private send(clientId: string, msg: SchedulerMessage): void {
    let box = this.outbox.get(clientId);
    if (!box) this.outbox.set(clientId, (box = []));
    box.push(msg);
  }

  private sendStatus(clientId: string, key: string, s: FutureStatus, e: ErrorInfo | undefined): void {
    let buf = this.statusBuf.get(clientId);
    if (!buf) this.statusBuf.set(clientId, (buf = { keys: [], s: [], e: undefined }));
    if (e && !buf.e) buf.e = buf.keys.map(() => null);
    buf.keys.push(key);
    buf.s.push(s);
    if (buf.e) buf.e.push(e ?? null);
  }

  /** Takes every message produced since the last call, per client; status updates go last. */
  drainOutbox(): Map<string, SchedulerMessage[]> {
    for (const [cid, buf] of this.statusBuf) {
      if (!this.clients.has(cid)) continue;
      const msg: SchedulerMessage = buf.e ? { op: 'status', keys: buf.keys, s: buf.s, e: buf.e } : { op: 'status', keys: buf.keys, s: buf.s };
      this.send(cid, msg);
    }
    this.statusBuf.clear();
    if (this.observers > 0 && (this.events.length > 0 || this.channelEvents.size > 0)) {
      const events = [...this.events, ...this.channelEvents.values()];
      for (const c of this.clients.values()) if (c.observer) this.send(c.id, { op: 'events', events });
    }
    this.events = [];
    this.channelEvents.clear();
    const out = this.outbox;
    this.outbox = new Map();
    return out;
  }
}

function addWanter(t: TaskRecord, id: string): void {
  const w = t.wanters;
  if (w === undefined) t.wanters = id;
  else if (typeof w === 'string') {
    if (w !== id) t.wanters = new Set([w, id]);
  } else w.add(id);
}

/** Removes `id` from the wanters of `t`; true when it was there. */
function removeWanter(t: TaskRecord, id: string): boolean {
  const w = t.wanters;
  if (w === undefined) return false;
  if (typeof w === 'string') {
    if (w !== id) return false;
    t.wanters = undefined;
    return true;
  }
  if (!w.delete(id)) return false;
  if (w.size === 1) t.wanters = w.values().next().value as string;
  else if (w.size === 0) t.wanters = undefined;
  return true;
}

/** A malformed message: answered with an error, the scheduler goes on. */
export class ProtocolError extends Error {
  readonly code = 'ERR_PROTOCOL';
  constructor(message: string) {
    super(message);
    this.name = 'ProtocolError';
  }
}

/** A gather that cannot be answered with values; its info goes back to the client as the reply's error. */
class GatherError extends Error {
  constructor(readonly info: ErrorInfo) {
    super(info.message);
  }
}

function toInfo(err: unknown): ErrorInfo {
  if (err instanceof GatherError) return err.info;
  if (err instanceof Error) return { name: err.name, message: err.message, code: (err as { code?: string }).code ?? 'ERR_PROTOCOL' };
  return { name: 'Error', message: String(err), code: 'ERR_PROTOCOL' };
}

export const MAX_CHANNEL_NAME = 256;

export function validateChannelName(name: unknown): asserts name is string {
  if (typeof name !== 'string') throw new ProtocolError(`a channel name must be a string, got ${typeof name}`);
  if (name.length === 0) throw new ProtocolError('a channel name must not be empty');
  if (name.length > MAX_CHANNEL_NAME) throw new ProtocolError(`a channel name is at most ${MAX_CHANNEL_NAME} characters, got ${name.length}`);
}
