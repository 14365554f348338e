/**
 * The scheduler's sans-I/O core. Synchronous: stimuli in (client messages, worker outcomes, workers and
 * clients joining and leaving), messages out (per-client outboxes, ready tasks taken by workers). No threads,
 * no sockets, no timers: `../server/server.ts` feeds it, for clients and for the worker adapters of `../worker/`.
 *
 * Every public method here is one stimulus. Each gets an id (recorded in the story of every key it touches),
 * asks the TaskMachine for transitions, and ends in `settle()`: recommendations applied until none are left,
 * keys nobody holds collected — whatever the stimulus and whoever sent it. Interest in a key is counted: per
 * client (a want-count: one per submit, want, scatter or channel delivery, less what the client released),
 * per channel slot and per dependent; a key is forgotten exactly when all of them reach zero.
 *
 * This file is the stimulus surface and the client messages; the task lifecycle is task-machine.ts and
 * transitions.ts, channels channels.ts, interest counting clients.ts, messages out outbox.ts. It stays one
 * file of ~440 lines because the switch over client messages and the stimulus methods are the core's one
 * entry table: split, a reader would have to assemble what one message does from several files.
 */
import {
  PROTOCOL_VERSION,
  type ChannelInfo,
  type ClientMessage,
  type FnSpec,
  type FutureStatus,
  type SchedulerInfo,
  type SchedulerMessage,
  type StoryEntry,
  type TaskSpec,
} from '../protocol/messages';
import type { ChannelLog } from './channel-log';
import { Channels } from './channels';
import { addWant, dropWant, heldByOthers, newClientState, setWant, wantCount, type ClientState } from './clients';
import { ProtocolError, toErrorInfo, type ErrorInfo } from '../protocol/errors';
import { gatherPlan, type GatherPlan, WaitingGathers } from './gather';
import { Outbox } from './outbox';
import { type CopyOrder, Replicas } from './replicas';
import { TaskMachine, type TransitionObserver } from './task-machine';
import { type ExecTask, TaskRecord, type WorkerState } from './tasks';
import { type TaskState, publicStatus } from './transitions';

export { TaskRecord } from './tasks';
export type { ExecTask, WorkerState } from './tasks';
export type { CopyOrder } from './replicas';
export type { ClientState } from './clients';

/** A gather waiting on data from remote workers. */
export interface RemoteGather {
  client: string;
  req: number;
  values: unknown[];
  remote: Map<string, { keys: string[]; index: number[] }>;
}

const NO_REMOTE_GATHERS: readonly RemoteGather[] = Object.freeze([]);

export class SchedulerState implements TransitionObserver {
  readonly clients = new Map<string, ClientState>();
  readonly fns = new Map<string, FnSpec>();
  private readonly machine: TaskMachine;
  private readonly outbox = new Outbox();
  private readonly chans: Channels;
  private readonly replicas: Replicas;
  private remoteGathers: RemoteGather[] = [];
  /** Gathers (`wait`) held until their keys settle. */
  private readonly waiting = new WaitingGathers();

  constructor(
    readonly address: string,
    private readonly now: () => number = Date.now,
    /** How many of the newest transitions the story log keeps. */
    storyCapacity?: number,
  ) {
    this.machine = new TaskMachine(now, this, storyCapacity);
    this.chans = new Channels(this.machine, this.outbox);
    this.replicas = new Replicas(this.machine, (client, msg) => this.send(client, msg));
  }

  /** Every channel, by name. */
  get channels(): ReadonlyMap<string, ChannelLog> {
    return this.chans.logs;
  }

  /** Every key the scheduler holds. */
  get tasks(): ReadonlyMap<string, TaskRecord> {
    return this.machine.tasks;
  }

  get workers(): ReadonlyMap<string, WorkerState> {
    return this.machine.workers;
  }

  /** Ready tasks not yet taken, in the shared queue and in workers' own queues. */
  get readyCount(): number {
    return this.machine.readyCount;
  }

  /** Runs one stimulus: `fn` asks for transitions; then the machine settles. */
  private stimulus<T>(kind: string, fn: () => T): T {
    this.machine.begin(kind);
    try {
      return fn();
    } finally {
      this.machine.settle();
    }
  }

  // ---------------------------------------------------------------- clients

  /** A client connected (its `hello`). */
  addClient(id: string): void {
    if (this.clients.has(id)) throw new Error(`client id ${id} is already connected`);
    const c = this.outbox.adopt(newClientState(id));
    this.clients.set(id, c);
    this.sendTo(c, { op: 'welcome', client: id, address: this.address, version: PROTOCOL_VERSION });
  }

  /** A client came back within its grace period: it gets a new welcome and resynchronises. */
  resumeClient(id: string): void {
    this.outbox.forget(id);
    this.send(id, { op: 'welcome', client: id, address: this.address, version: PROTOCOL_VERSION });
  }

  /** A client closed or its connection ended: everything it wanted is released. */
  removeClient(id: string): void {
    const c = this.clients.get(id);
    if (!c) return;
    this.stimulus('client-left', () => {
      this.clients.delete(id);
      if (c.observer) this.outbox.observe(c, false);
      for (const name of c.channels) this.chans.unsubscribe(c, name);
      for (const key of [...c.wants.keys()]) this.dropWant(c, key, Infinity);
      this.replicas.clientLeft(id);
      this.waiting.clientLeft(id);
      this.outbox.remove(id);
    });
  }

  /**
   * Handles one message of client `id`, well formed (SchedulerServer.accept checked it with
   * protocol/validation.ts). What the state cannot apply is answered, never thrown.
   */
  handleClient(id: string, msg: ClientMessage): void {
    const c = this.clients.get(id);
    if (c) this.handleClientOf(c, msg);
  }

  /**
   * `handleClient` for a caller that holds the client's state (`clients.get(id)`, kept by its connection): no
   * lookup by id in a table of thousands of clients per message. A state whose client left (`removeClient`;
   * `closed`) is ignored, as an unknown id is.
   */
  handleClientOf(c: ClientState, msg: ClientMessage): void {
    if (c.closed) return;
    // The hot path: no closure, and the story's `<client>:<op>` is put together only when it is read.
    this.machine.begin(msg.op, c.id);
    try {
      this.dispatchClient(c, msg);
    } catch (err) {
      // An error without a code of ours is a fault of the scheduler: it must not read as a task's own error.
      const error: ErrorInfo = { code: 'ERR_INTERNAL', ...toErrorInfo(err) };
      const req = 'req' in msg ? msg.req : undefined;
      if (req !== undefined) this.sendTo(c, { op: 'reply', req, ok: false, error });
      else this.sendTo(c, { op: 'error', error });
    } finally {
      this.machine.settle();
    }
  }

  private dispatchClient(c: ClientState, msg: ClientMessage): void {
    switch (msg.op) {
      case 'submit':
        return this.submit(c, msg.fns, msg.tasks);
      case 'scatter':
        for (const { key, value } of msg.items) this.scatterOne(c, key, value);
        return this.sendTo(c, { op: 'reply', req: msg.req, ok: true });
      case 'want':
        for (const key of msg.keys) this.want(c, key);
        return;
      case 'release':
        msg.keys.forEach((key, i) => this.dropWant(c, key, msg.n?.[i] ?? 1));
        return;
      case 'resync':
        return this.resync(c, msg.keys, msg.n);
      case 'cancel':
        for (const key of msg.keys) this.cancel(c, key, msg.force === true);
        return this.sendTo(c, { op: 'reply', req: msg.req, ok: true });
      case 'gather':
        return this.gather(c, msg.req, msg.keys, msg.wait === true);
      case 'sub':
        return this.chans.subscribe(c, { name: msg.channel, maxlen: msg.maxlen, from: msg.from, create: msg.create !== false, resume: msg.resume === true, epoch: msg.epoch });
      case 'append':
        return this.chans.append(c, msg.channel, msg.items, msg.epoch);
      case 'flush': {
        const refused = c.refused?.get(msg.channel);
        if (refused) {
          c.refused?.delete(msg.channel);
          return this.sendTo(c, { op: 'reply', req: msg.req, ok: false, error: refused });
        }
        return this.sendTo(c, { op: 'reply', req: msg.req, ok: true });
      }
      case 'stop':
        this.chans.stop(msg.channel, msg.epoch);
        return this.sendTo(c, { op: 'reply', req: msg.req, ok: true });
      case 'unsub':
        return this.chans.unsubscribe(c, msg.channel);
      case 'delete':
        this.chans.delete(msg.channel, msg.epoch);
        return this.sendTo(c, { op: 'reply', req: msg.req, ok: true });
      case 'channels':
        return this.sendTo(c, { op: 'reply', req: msg.req, ok: true, value: this.channelInfos() });
      case 'info':
        return this.sendTo(c, { op: 'reply', req: msg.req, ok: true, value: this.info() });
      case 'story':
        return this.sendTo(c, { op: 'reply', req: msg.req, ok: true, value: this.storyOf(msg.key) });
      case 'replicate':
        return this.replicas.request(c.id, msg.req, msg.keys, msg.n);
      case 'events':
        if (msg.on !== c.observer) {
          c.observer = msg.on;
          this.outbox.observe(c, msg.on);
        }
        return;
      case 'hello':
      case 'close':
        return;
    }
  }

  // ---------------------------------------------------------------- interest

  /** Takes `n` off `c`'s want-count of `key` (Infinity: all of it); its last want makes the key a collect candidate. */
  private dropWant(c: ClientState, key: string, n: number): void {
    const t = dropWant(c, key, n, this.machine.tasks);
    if (t) this.machine.candidate(t);
  }

  /** `client.future(key)`: the key, or a placeholder that waits for it to be defined. */
  private want(c: ClientState, key: string): void {
    const t = this.machine.record(key);
    const first = wantCount(c, t) === 0;
    addWant(c, t);
    if (first) this.sendStatus(c, key, publicStatus(t.state), t.error);
  }

  /** After a reconnect: the client's want-counts become exactly what it says it holds. */
  private resync(c: ClientState, keys: string[], counts: number[]): void {
    const told = new Map<string, number>();
    keys.forEach((k, i) => told.set(k, counts[i]));
    for (const key of [...c.wants.keys()]) if (!told.has(key)) this.dropWant(c, key, Infinity);
    for (const [key, n] of told) {
      if (!(n > 0)) continue;
      const t = this.machine.tasks.get(key);
      if (!t) {
        // Released while this client was away (its grace period ran out): it cannot come back.
        this.sendStatus(c, key, 'lost', { name: 'FutureReleasedError', message: `future ${key} was released while this client was disconnected`, code: 'ERR_FUTURE_RELEASED', key });
        continue;
      }
      setWant(c, t, n);
      this.sendStatus(c, key, publicStatus(t.state), t.error);
    }
  }

  /**
   * Dask's cancel. With `force`, the task is cancelled for everyone. Without, it is cancelled only when nobody
   * but this client holds the key; otherwise the others keep it running and only this client's handles stop
   * following it (the client marks them cancelled itself). This client's wants stay counted either way until
   * its handles are released, so a cancelled future can still be appended to a channel.
   */
  private cancel(c: ClientState, key: string, force: boolean): void {
    const t = this.machine.tasks.get(key);
    if (!t) return;
    if (!force && heldByOthers(t, c)) this.machine.storyNote(t, `cancel-declined:${c.id}:others-hold-it`);
    else this.machine.cancel(t, force ? `cancelled-by:${c.id}:force` : `cancelled-by:${c.id}`);
  }

  // ---------------------------------------------------------------- tasks

  private submit(c: ClientState, fns: FnSpec[], specs: TaskSpec[]): void {
    for (const f of fns) if (!this.fns.has(f.id)) this.fns.set(f.id, f);
    for (const spec of specs) {
      // A function id is known once some submit of any client shipped it: only the state can tell.
      if (spec.fn !== '' && !this.fns.has(spec.fn)) throw new ProtocolError(`submit: unknown function id ${spec.fn}`);
    }
    const graphKeys = specs.some((s) => s.graph) ? new Set(specs.map((s) => s.key)) : undefined;
    const defined: { t: TaskRecord; spec: TaskSpec; deps: string[] | undefined }[] = [];
    for (const spec of specs) {
      const t = this.machine.record(spec.key);
      addWant(c, t);
      if (!this.machine.definable(t)) {
        // An identical key: share the task there is, and learn where it stands.
        this.sendStatus(c, t.key, publicStatus(t.state), t.error);
        continue;
      }
      if (spec.fn === '' && 'value' in spec) {
        this.machine.defineData(t, spec.value, 'graph-data');
        continue;
      }
      let args = spec.args ?? [];
      // A key named twice is one dependency (counting it twice would leave the task waiting forever).
      let deps = spec.deps !== undefined && spec.deps.length > 0 ? [...new Set(spec.deps)] : undefined;
      if (spec.graph && graphKeys) {
        const found = new Set<string>();
        args = args.map((a) => this.machine.graphArg(a, graphKeys, found));
        deps = found.size > 0 ? [...found] : undefined;
      }
      this.machine.define(t, spec, spec.fn, args, undefined);
      defined.push({ t, spec, deps });
    }
    // Dependencies are resolved once every task of the batch exists, then each task is placed.
    for (const d of defined) d.t.deps = d.deps?.map((k) => this.machine.depRecord(k));
    for (const d of defined) this.machine.place(d.t);
  }

  private scatterOne(c: ClientState, key: string, value: unknown): void {
    const t = this.machine.record(key);
    addWant(c, t);
    this.machine.defineData(t, value, 'scatter');
  }

  /** `wait`: keys not settled yet are waited for here (WaitingGathers) rather than answered as not finished. */
  private gather(c: ClientState, req: number, keys: string[], wait = false): void {
    if (wait && this.waiting.park(c.id, req, keys, this.machine.tasks)) return;
    const plan = this.gatherPlan(keys);
    if (plan.remote.size > 0) {
      this.remoteGathers.push({ client: c.id, req, values: plan.values, remote: plan.remote });
      return;
    }
    this.sendTo(c, { op: 'reply', req, ok: true, value: plan.values });
  }

  /** Answers the waiting gathers whose keys all settled (parking again any whose key was since recomputed). */
  private answerWaiting(): void {
    for (const w of this.waiting.takeReady()) {
      const c = this.clients.get(w.client);
      if (!c) continue;
      try {
        this.gather(c, w.req, w.keys, true);
      } catch (err) {
        this.sendTo(c, { op: 'reply', req: w.req, ok: false, error: { code: 'ERR_INTERNAL', ...toErrorInfo(err) } });
      }
    }
  }

  /** Gathers that need data from remote workers; the server fetches and answers them. */
  drainRemoteGathers(): readonly RemoteGather[] {
    const out = this.remoteGathers;
    // Nearly every drain finds none: nothing is allocated for it (the server drains after every event).
    if (out.length === 0) return NO_REMOTE_GATHERS;
    this.remoteGathers = [];
    return out;
  }

  /** Values of `keys` held here, and which remote worker holds the others; throws on a key not finished. */
  gatherPlan(keys: string[]): GatherPlan {
    return gatherPlan(this.machine.tasks, keys);
  }

  // ---------------------------------------------------------------- workers

  /** `holdsData`: a worker process, which keeps its results (the default); false for the scheduler's own pool. */
  addWorker(id: string, threads: number, holdsData = true): void {
    this.stimulus(`worker-joined:${id}`, () => {
      this.machine.addWorker(id, threads, holdsData);
      this.outbox.event({ type: 'worker', id, threads, state: 'joined' });
      this.replicas.settle(); // replicate requests to all workers now want one more copy
    });
  }

  /** A worker left: its running tasks go back to the queue; its results are recomputed, or lost. */
  removeWorker(id: string): void {
    this.stimulus(`worker-lost:${id}`, () => {
      const w = this.machine.removeWorker(id);
      if (w) this.outbox.event({ type: 'worker', id, threads: w.threads, state: 'left' });
      if (w) this.replicas.workerLeft(id);
    });
  }

  /** Hands up to `max` ready tasks to worker `workerId` (queued -> processing), each as a new run. */
  takeReady(workerId: string, max: number): ExecTask[] {
    this.machine.begin('dispatch');
    try {
      return this.machine.takeReady(workerId, max);
    } finally {
      this.machine.settle();
    }
  }

  // Outcomes are the hot path: no closure, no allocation beyond what the transition needs. `run` omitted
  // (tests driving the core by hand): the current run.

  /** A task finished; `remote` when its result stays on the worker that computed it (`nbytes`: its size there). */
  taskFinished(key: string, workerId: string, value: unknown, remote = false, run = this.currentRun(key), nbytes = 0): void {
    this.machine.begin('task-finished');
    try {
      this.machine.taskFinished(key, workerId, run, value, remote, nbytes);
    } finally {
      this.machine.settle();
    }
  }

  taskErred(key: string, workerId: string, error: ErrorInfo, run = this.currentRun(key)): void {
    this.machine.begin('task-erred');
    try {
      this.machine.taskErred(key, workerId, run, error);
    } finally {
      this.machine.settle();
    }
  }

  /** The thread running `key` died. */
  taskCrashed(key: string, workerId: string, reason: ErrorInfo, run = this.currentRun(key)): void {
    this.stimulus('thread-died', () => this.machine.taskCrashed(key, workerId, run, reason));
  }

  /** A dispatched task's dependencies could not be brought to its worker. */
  taskNeedsDeps(key: string, workerId: string, run = this.currentRun(key)): void {
    this.stimulus('missing-deps', () => this.machine.taskNeedsDeps(key, workerId, run));
  }

  private currentRun(key: string): number {
    return this.machine.tasks.get(key)?.run ?? -1;
  }

  /** Keys remote workers may drop, by worker, since the last call. */
  drainFrees(): ReadonlyMap<string, string[]> {
    return this.machine.drainFrees();
  }

  /** Copies `replicate` asks for, by target worker (each to fetch `key` from one of `from`), since the last call. */
  drainCopies(): Map<string, CopyOrder[]> {
    return this.replicas.drain();
  }

  /** Worker `workerId` now holds a copy of `key` (a copy order carried out). */
  replicaAdded(key: string, workerId: string): void {
    this.stimulus('replica-added', () => this.replicas.added(key, workerId));
  }

  /** A copy order of `key` to `workerId` could not be carried out (`why`: what went wrong). */
  replicaFailed(key: string, workerId: string, why?: string): void {
    this.stimulus('replica-failed', () => this.replicas.failed(key, workerId, why));
  }

  // ---------------------------------------------------------------- observing

  channelInfos(): ChannelInfo[] {
    return this.chans.infos();
  }

  info(): SchedulerInfo {
    const tasks: Partial<Record<FutureStatus, number>> = {};
    for (const [state, n] of Object.entries(this.machine.counts) as [TaskState, number][]) {
      if (n === 0 || state === 'forgotten') continue;
      const s = publicStatus(state);
      tasks[s] = (tasks[s] ?? 0) + n;
    }
    return {
      address: this.address,
      workers: [...this.machine.workers.values()].map((w) => ({ id: w.id, threads: w.threads, running: [...w.processing].map((t) => t.key) })),
      tasks,
    };
  }

  storyOf(key: string): StoryEntry[] {
    return this.machine.storyOf(key);
  }

  /** How many keys are in each state now. */
  stateCounts(): Record<TaskState, number> {
    return { ...this.machine.counts };
  }

  /** This client's want-count of `key` (0 when it does not want it). */
  wantCount(client: string, key: string): number {
    const c = this.clients.get(client);
    const t = this.machine.tasks.get(key);
    return c === undefined || t === undefined ? 0 : wantCount(c, t);
  }

  // ---------------------------------------------------------------- messages out

  /** @internal after every transition: wanters hear of a new public status, observers of the change. */
  transitioned(t: TaskRecord, from: TaskState, to: TaskState, time: number, worker: string | undefined): void {
    if (this.waiting.size > 0 && (to === 'memory' || to === 'erred' || to === 'cancelled' || to === 'lost' || to === 'forgotten')) this.waiting.settle(t.key);
    const before = publicStatus(from);
    const after = publicStatus(to);
    if (before !== after && t.wanters !== undefined) {
      const e = to === 'erred' || to === 'lost' ? t.error : undefined;
      const w = t.wanters;
      if (w instanceof Set) for (const c of w) this.outbox.sendStatus(c, t.key, after, e);
      else this.outbox.sendStatus(w, t.key, after, e);
    }
    if (this.outbox.observers === 0) return;
    // Observers hear of new tasks (released -> pending is no change of public status) and of forgotten ones.
    if (to === 'forgotten') this.outbox.event({ type: 'task', key: t.key, status: after, time, forgotten: true });
    else if (before !== after || from === 'released') {
      this.outbox.event(worker ? { type: 'task', key: t.key, status: after, worker, time } : { type: 'task', key: t.key, status: after, time });
    }
  }

  /** To a client by id (a reply of replicate, whose client may have left meanwhile). */
  private send(clientId: string, msg: SchedulerMessage): void {
    this.outbox.send(clientId, msg);
  }

  /** To a client whose state is at hand: straight to its box. */
  private sendTo(c: ClientState, msg: SchedulerMessage): void {
    this.outbox.sendTo(c, msg);
  }

  private sendStatus(c: ClientState, key: string, s: FutureStatus, e: ErrorInfo | undefined): void {
    this.outbox.sendStatus(c, key, s, e);
  }

  /** Takes every message produced since the last call, per client; status updates go last. */
  drainOutbox(): ReadonlyMap<string, SchedulerMessage[]> {
    if (this.waiting.size > 0) this.answerWaiting();
    return this.outbox.drain();
  }
}
