/**
 * The scheduler's sans-I/O core. Synchronous: stimuli in (client messages, worker outcomes, workers and
 * clients joining and leaving), messages out (per-client outboxes, ready tasks taken by workers). No threads,
 * no sockets, no timers: the adapters in `../server.ts` and `../pool/` feed it through `SchedulerServer`.
 *
 * Every public method here is one stimulus. Each gets an id (recorded in the story of every key it touches),
 * asks the TaskMachine for transitions, and ends in `settle()`: recommendations applied until none are left,
 * keys nobody holds collected — whatever the stimulus and whoever sent it. Interest in a key is counted: per
 * client (a want-count: one per submit, want, scatter or channel delivery, less what the client released),
 * per channel slot and per dependent; a key is forgotten exactly when all of them reach zero.
 */
import type { ErrorInfo } from '../protocol/errors';
import {
  MAX_CHANNEL_NAME,
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
} from '../protocol/messages';
import { ChannelLog } from './channel-log';
import { TaskMachine, type TransitionObserver } from './task-machine';
import { type ExecTask, TaskRecord, type WorkerState } from './tasks';
import { type TaskState, publicStatus } from './transitions';

export { TaskRecord } from './tasks';
export type { ExecTask, WorkerState } from './tasks';

/** A gather waiting on data from remote workers. */
export interface RemoteGather {
  client: string;
  req: number;
  values: unknown[];
  remote: Map<string, { keys: string[]; index: number[] }>;
}

interface ClientState {
  id: string;
  /** This client's want-count of each key it wants (always > 0). */
  wants: Map<string, number>;
  channels: Set<string>;
  /** Channels where an append of this client was refused since its last flush, with the reason. */
  refused: Map<string, ErrorInfo>;
  /** Channels deleted while this client was subscribed: a resuming subscription must not bring them back. */
  deleted: Set<string>;
  observer: boolean;
}

export class SchedulerState implements TransitionObserver {
  readonly channels = new Map<string, ChannelLog>();
  readonly clients = new Map<string, ClientState>();
  readonly fns = new Map<string, FnSpec>();
  private readonly machine: TaskMachine;
  private outbox = new Map<string, SchedulerMessage[]>();
  private statusBuf = new Map<string, { keys: string[]; s: FutureStatus[]; e: (ErrorInfo | null)[] | undefined }>();
  private events: SchedulerEvent[] = [];
  private channelEvents = new Map<string, SchedulerEvent>();
  private observers = 0;
  private remoteGathers: RemoteGather[] = [];
  private epochs = 0;

  constructor(
    readonly address: string,
    private readonly now: () => number = Date.now,
    /** How many of the newest transitions the story log keeps. */
    storyCapacity?: number,
  ) {
    this.machine = new TaskMachine(now, this, storyCapacity);
  }

  /** Every key the scheduler holds. */
  get tasks(): ReadonlyMap<string, TaskRecord> {
    return this.machine.tasks;
  }

  get workers(): ReadonlyMap<string, WorkerState> {
    return this.machine.workers;
  }

  get readyCount(): number {
    return this.machine.ready.length;
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
    this.clients.set(id, { id, wants: new Map(), channels: new Set(), refused: new Map(), deleted: new Set(), observer: false });
    this.send(id, { op: 'welcome', client: id, address: this.address, version: PROTOCOL_VERSION });
  }

  /** A client came back within its grace period: it gets a new welcome and resynchronises. */
  resumeClient(id: string): void {
    this.statusBuf.delete(id);
    this.outbox.delete(id);
    this.send(id, { op: 'welcome', client: id, address: this.address, version: PROTOCOL_VERSION });
  }

  /** A client closed or its connection ended: everything it wanted is released. */
  removeClient(id: string): void {
    const c = this.clients.get(id);
    if (!c) return;
    this.stimulus('client-left', () => {
      this.clients.delete(id);
      if (c.observer) this.observers--;
      for (const name of c.channels) this.channels.get(name)?.subscribers.delete(id);
      for (const key of [...c.wants.keys()]) this.dropWant(c, key, Infinity);
      this.outbox.delete(id);
      this.statusBuf.delete(id);
    });
  }

  /** Handles one message of client `id`. Errors in a message are answered, never thrown. */
  handleClient(id: string, msg: ClientMessage): void {
    const c = this.clients.get(id);
    if (!c) return;
    this.stimulus(`${id}:${typeof msg?.op === 'string' ? msg.op.slice(0, 20) : 'message'}`, () => {
      try {
        this.dispatchClient(c, msg);
      } catch (err) {
        const error = toInfo(err);
        const req = (msg as { req?: unknown }).req;
        if (typeof req === 'number') this.send(id, { op: 'reply', req, ok: false, error });
        else this.send(id, { op: 'error', error });
      }
    });
  }

  private dispatchClient(c: ClientState, msg: ClientMessage): void {
    switch (msg.op) {
      case 'submit':
        return this.submit(c, msg.fns, msg.tasks);
      case 'scatter':
        for (const { key, value } of msg.items) this.scatterOne(c, key, value);
        return this.send(c.id, { op: 'reply', req: msg.req, ok: true });
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
        return this.send(c.id, { op: 'reply', req: msg.req, ok: true });
      case 'gather':
        return this.gather(c, msg.req, msg.keys);
      case 'sub':
        return this.subscribe(c, msg.channel, msg.maxlen, msg.from, msg.create !== false, msg.resume === true, msg.epoch);
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

  // ---------------------------------------------------------------- interest

  /** One more want of `key` by `c`. */
  private addWant(c: ClientState, t: TaskRecord): void {
    const n = c.wants.get(t.key) ?? 0;
    c.wants.set(t.key, n + 1);
    if (n === 0) addWanter(t, c.id);
  }

  /** Takes `n` off `c`'s want-count of `key` (Infinity: all of it). */
  private dropWant(c: ClientState, key: string, n: number): void {
    const had = c.wants.get(key);
    if (had === undefined || !(n > 0)) return;
    if (had > n) {
      c.wants.set(key, had - n);
      return;
    }
    c.wants.delete(key);
    const t = this.machine.tasks.get(key);
    if (t && removeWanter(t, c.id)) this.machine.candidate(t);
  }

  /** `client.future(key)`: the key, or a placeholder that waits for it to be defined. */
  private want(c: ClientState, key: string): void {
    if (typeof key !== 'string' || key.length === 0) throw new ProtocolError('want: a key must be a non-empty string');
    const t = this.machine.record(key);
    const first = !c.wants.has(key);
    this.addWant(c, t);
    if (first) this.sendStatus(c.id, key, publicStatus(t.state), t.error);
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
        this.sendStatus(c.id, key, 'lost', { name: 'FutureReleasedError', message: `future ${key} was released while this client was disconnected`, code: 'ERR_FUTURE_RELEASED', key });
        continue;
      }
      const had = c.wants.get(key) ?? 0;
      c.wants.set(key, n);
      if (had === 0) addWanter(t, c.id);
      this.sendStatus(c.id, key, publicStatus(t.state), t.error);
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
    if (!force && heldByOthers(t, c.id)) this.machine.storyNote(t, `cancel-declined:${c.id}:others-hold-it`);
    else this.machine.cancel(t, force ? `cancelled-by:${c.id}:force` : `cancelled-by:${c.id}`);
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
    for (const spec of specs) {
      if (typeof spec?.key !== 'string' || spec.key.length === 0) throw new ProtocolError('submit: a task needs a key');
      if (spec.fn === '' ? !('value' in spec) : !this.fns.has(spec.fn)) throw new ProtocolError(spec.fn === '' ? `submit: task ${spec.key} needs a function id or a value` : `submit: unknown function id ${String(spec.fn)}`);
    }
    const graphKeys = specs.some((s) => s.graph) ? new Set(specs.map((s) => s.key)) : undefined;
    const defined: { t: TaskRecord; spec: TaskSpec; deps: string[] | undefined }[] = [];
    for (const spec of specs) {
      const t = this.machine.record(spec.key);
      this.addWant(c, t);
      if (!this.machine.definable(t)) {
        // An identical key: share the task there is, and learn where it stands.
        this.sendStatus(c.id, t.key, publicStatus(t.state), t.error);
        continue;
      }
      if (spec.fn === '' && 'value' in spec) {
        this.machine.defineData(t, spec.value, 'graph-data');
        continue;
      }
      let args = Array.isArray(spec.args) ? spec.args : [];
      // A key named twice is one dependency (counting it twice would leave the task waiting forever).
      let deps = Array.isArray(spec.deps) && spec.deps.length > 0 ? [...new Set(spec.deps)] : undefined;
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
    if (typeof key !== 'string' || key.length === 0) throw new ProtocolError('scatter: an item needs a key');
    const t = this.machine.record(key);
    this.addWant(c, t);
    this.machine.defineData(t, value, 'scatter');
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
      const key = keys[i];
      const t = this.machine.tasks.get(key);
      if (!t) throw new InfoError({ name: 'FutureReleasedError', message: `future ${key} was released: the scheduler no longer holds it`, code: 'ERR_FUTURE_RELEASED', key });
      if (t.state === 'memory' && t.holder !== undefined) {
        let r = remote.get(t.holder);
        if (!r) remote.set(t.holder, (r = { keys: [], index: [] }));
        r.keys.push(key);
        r.index.push(i);
      } else if (t.state === 'memory') values[i] = t.value;
      else if (t.state === 'erred') throw new InfoError({ ...(t.error ?? { name: 'Error', message: `task ${key} failed` }), key });
      else if (t.state === 'cancelled') throw new InfoError({ name: 'CancelledError', message: `future ${key} was cancelled`, code: 'ERR_CANCELLED', key });
      else if (t.state === 'lost') throw new InfoError({ name: 'FutureLostError', message: `future ${key} was lost`, code: 'ERR_FUTURE_LOST', key });
      else throw new InfoError({ name: 'Error', message: `future ${key} is not finished (${publicStatus(t.state)})`, code: 'ERR_NOT_FINISHED', key });
    }
    return { values, remote };
  }

  // ---------------------------------------------------------------- workers

  addWorker(id: string, threads: number): void {
    this.stimulus(`worker-joined:${id}`, () => {
      this.machine.addWorker(id, threads);
      if (this.observers > 0) this.events.push({ type: 'worker', id, threads, state: 'joined' });
    });
  }

  /** A worker left: its running tasks go back to the queue; its results are recomputed, or lost. */
  removeWorker(id: string): void {
    this.stimulus(`worker-lost:${id}`, () => {
      const w = this.machine.removeWorker(id);
      if (w && this.observers > 0) this.events.push({ type: 'worker', id, threads: w.threads, state: 'left' });
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

  /** A task finished; `remote` when its result stays on the worker that computed it. */
  taskFinished(key: string, workerId: string, value: unknown, remote = false, run = this.currentRun(key)): void {
    this.machine.begin('task-finished');
    try {
      this.machine.taskFinished(key, workerId, run, value, remote);
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
  drainFrees(): Map<string, string[]> {
    return this.machine.drainFrees();
  }

  // ---------------------------------------------------------------- channels

  private subscribe(c: ClientState, name: string, maxlen: number | null, from: number | undefined, create: boolean, resume: boolean, epoch: number | undefined): void {
    validateChannelName(name);
    if (maxlen !== null && (!Number.isInteger(maxlen) || maxlen < 1)) throw new ProtocolError(`invalid maxlen ${String(maxlen)}`);
    let ch = this.channels.get(name);
    const deletedMeanwhile = resume && (c.deleted.has(name) || (epoch !== undefined && ch?.epoch !== epoch));
    if (!resume) c.deleted.delete(name);
    if (deletedMeanwhile || (!ch && !create)) {
      // Resuming a channel that was deleted meanwhile (perhaps made again: another incarnation), or an
      // observer that must not bring back a deleted channel nor fix its maxlen: it is gone for them.
      c.deleted.delete(name);
      this.send(c.id, { op: 'chan-deleted', channel: name });
      return;
    }
    if (!ch) {
      ch = new ChannelLog(name, ++this.epochs, maxlen);
      this.channels.set(name, ch);
      this.channelChanged(ch);
    }
    ch.subscribers.add(c.id);
    c.channels.add(name);
    const first = ch.count - ch.items.length;
    const start = typeof from === 'number' && from > first ? Math.min(from, ch.count) : first;
    const items: WireItem[] = [];
    for (let i = start - first; i < ch.items.length; i++) items.push(this.wireItem(c, ch.items.at(i)));
    this.send(c.id, { op: 'replay', channel: name, start, items, stopped: ch.stopped, maxlen: ch.maxlen, epoch: ch.epoch });
  }

  private append(c: ClientState, name: string, items: WireItem[]): void {
    const ch = this.channels.get(name);
    if (!ch || ch.stopped) {
      c.refused.set(name, ch
        ? { name: 'ChannelStoppedError', message: `channel '${name}' is stopped: no more appends are accepted`, code: 'ERR_CHANNEL_STOPPED', channel: name }
        : { name: 'ChannelDeletedError', message: `channel '${name}' was deleted`, code: 'ERR_CHANNEL_DELETED', channel: name });
      return;
    }
    if (!Array.isArray(items)) throw new ProtocolError('append needs an items array');
    const start = ch.count;
    const accepted: unknown[] = [];
    for (const item of items) {
      if (item && typeof (item as { k?: unknown }).k === 'string') {
        const key = (item as { k: string }).k;
        const t = this.machine.tasks.get(key);
        if (!t) {
          c.refused.set(name, { name: 'FutureReleasedError', message: `future ${key} was released before it was appended to '${name}'`, code: 'ERR_FUTURE_RELEASED', key, channel: name });
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
      this.machine.candidate(old);
    }
  }

  /** A channel item as sent to client `c`: a future carries its status, and counts as one want of `c`. */
  private wireItem(c: ClientState, item: unknown): WireItem {
    if (item instanceof TaskRecord) {
      this.addWant(c, item);
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
      const sc = this.clients.get(sid);
      sc?.channels.delete(name);
      // Noted in case the message is lost with a dropped connection: the client's resume is answered the same.
      sc?.deleted.add(name);
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
    return this.clients.get(client)?.wants.get(key) ?? 0;
  }

  // ---------------------------------------------------------------- messages out

  /** @internal after every transition: wanters hear of a new public status, observers of the change. */
  transitioned(t: TaskRecord, from: TaskState, to: TaskState, time: number, worker: string | undefined): void {
    const before = publicStatus(from);
    const after = publicStatus(to);
    if (before !== after && t.wanters !== undefined) {
      const e = to === 'erred' || to === 'lost' ? t.error : undefined;
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

/**
 * Whether anyone but client `id` holds `t`: another client, a channel slot, or an unfinished dependent that
 * someone else holds (dependents only this client wants are cancelled with it, as in Dask).
 */
function heldByOthers(t: TaskRecord, id: string, seen = new Set<TaskRecord>()): boolean {
  if (seen.has(t)) return false;
  seen.add(t);
  if (t.channelRefs > 0) return true;
  if (t.wanters !== undefined && (typeof t.wanters === 'string' ? t.wanters !== id : t.wanters.size > 1 || !t.wanters.has(id))) return true;
  if (t.dependents) {
    for (const d of t.dependents) {
      const active = d.state === 'released' || d.state === 'waiting' || d.state === 'queued' || d.state === 'processing';
      if (active && heldByOthers(d, id, seen)) return true;
    }
  }
  return false;
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

/** An answer that is an error about a key; its info goes back to the client as the reply's error. */
class InfoError extends Error {
  constructor(readonly info: ErrorInfo) {
    super(info.message);
  }
}

function toInfo(err: unknown): ErrorInfo {
  if (err instanceof InfoError) return err.info;
  if (err instanceof Error) return { name: err.name, message: err.message, code: (err as { code?: string }).code ?? 'ERR_PROTOCOL' };
  return { name: 'Error', message: String(err), code: 'ERR_PROTOCOL' };
}

export function validateChannelName(name: unknown): asserts name is string {
  if (typeof name !== 'string') throw new ProtocolError(`a channel name must be a string, got ${typeof name}`);
  if (name.length === 0) throw new ProtocolError('a channel name must not be empty');
  if (name.length > MAX_CHANNEL_NAME) throw new ProtocolError(`a channel name is at most ${MAX_CHANNEL_NAME} characters, got ${name.length}`);
}
