/**
 * The Client: submits tasks, holds futures, opens channels, observes the scheduler. The same class works
 * on the main thread (in-thread transport), in any worker thread (MessagePort) and, later, over WebSocket.
 */
import { randomUUID } from 'node:crypto';
import { types } from 'node:util';
import type { MessagePort } from 'node:worker_threads';
import { Channel, type ChannelHost } from './channel';
import {
  ClientClosedError,
  ConnectionError,
  InvalidArgumentError,
  SerializationError,
  TaskError,
  fromErrorInfo,
  type ErrorInfo,
} from '../protocol/errors';
import { Future, FutureState, checkTimeout, errorOf, waitDone, type FutureHost } from './future';
import {
  MAX_CHANNEL_NAME,
  PROTOCOL_VERSION,
  escapeUserObject,
  futureRef,
  needsEscape,
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
import { digest, tokenize, uniqueToken } from './tokenize';
import { MessagePortTransport } from '../transport/message-port';
import { WsClientTransport, parseSchedulerAddress } from '../wire/ws-client';
import type { Transport } from '../transport/transport';

export type ClientSide = Transport<SchedulerMessage, ClientMessage>;

/** A task function: shipped as source, or a `'module#export'` reference. */
 
export type TaskFunction = ((...args: any[]) => unknown) | string; // eslint-disable-line @typescript-eslint/no-explicit-any

/** A task described by options: `client.submit({ fn, args, key, pure, retries, priority })`. */
export interface SubmitOptions {
  /** The function to run (shipped as source), or a `'module#export'` reference. */
  fn: TaskFunction;
  /** Its arguments; Futures among them are replaced by their results on the worker. */
  args?: unknown[];
  /** Explicit key (otherwise a hash of function and arguments, or unique when `pure` is false). */
  key?: string;
  /** Identical pure submissions share one task (default true). */
  pure?: boolean;
  /** Times a failing task is run again before it errs. */
  retries?: number;
  /** Higher runs first among ready tasks. */
  priority?: number;
}

/** Options of `map`: those of `submit` but `fn`, `args` and `key` (every item gets its own key). */
export type MapOptions = Omit<SubmitOptions, 'fn' | 'args' | 'key'>;

const MAP_OPTIONS = new Set(['pure', 'retries', 'priority']);

/** Options of `Client.connect`. */
export interface ConnectOptions {
  /** Token for a remote scheduler. */
  token?: string;
  /** Extra CA certificate (PEM) to trust for wss:// (a private CA or a self-signed certificate). */
  ca?: string | Buffer;
  /** Reconnect with backoff when a remote connection drops (default true). */
  reconnect?: boolean;
  /** Give up reconnecting after this many milliseconds (default 60,000). */
  reconnectTimeoutMs?: number;
  /** A name for this client, shown in logs and ids. */
  name?: string;
  /** Threads of the default in-process cluster (only when it is started by this call). */
  threads?: number;
}

/**
 * What may be passed for a task's parameter of type `T`: the value, a Future of it, or (in arrays and plain
 * objects, at any depth) the same with Futures in place of values; the worker replaces each Future by its result.
 */
export type TaskArg<T> =
  | T
  | Future<T>
  | (T extends (...args: never[]) => unknown ? never : T extends object ? { [K in keyof T]: TaskArg<T[K]> } : never);

/** The arguments of a task function whose parameters are `A` (see TaskArg). */
export type TaskArgs<A extends unknown[]> = { [K in keyof A]: TaskArg<A[K]> };

/** The result type of a Future (`unknown` for anything else). */
export type FutureResult<F> = F extends Future<infer T> ? T : unknown;

/** A graph in Dask's form: `{ key: [fnOrRef, ...args] }`; other values are literal data. */
export type TaskGraph = Record<string, unknown>;

/** Something a Client can connect to in-process (LocalCluster implements it). */
export interface InProcessScheduler {
  connectInThread(): ClientSide;
}

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void };

const fnSpecs = new WeakMap<object, FnSpec & { name: string }>();
const refSpecs = new Map<string, FnSpec & { name: string }>();
const REF_FORM = /^[^#\s][^#]*(#[A-Za-z_$][\w$]*)?$/;

let defaultClusterStarter: ((threads?: number) => Promise<InProcessScheduler>) | undefined;

/** @internal set by local-cluster.ts so Client.connect() can start the default cluster lazily. */
export function setDefaultClusterStarter(fn: (threads?: number) => Promise<InProcessScheduler>): void {
  defaultClusterStarter = fn;
}

/**
 * A client of a Shared Futures scheduler: submits tasks (`submit`, `map`), moves data (`scatter`, `gather`),
 * opens channels (`channel`) and observes the scheduler. In a notebook, `client` is one already connected.
 */
export class Client implements FutureHost, ChannelHost {
  /** Unique id of this client. */
  readonly id: string;
  private transport: ClientSide;
  /** Makes a new transport to the same scheduler (remote clients only): used to reconnect. */
  private connector: (() => ClientSide) | undefined;
  private reconnectTimeoutMs = 60_000;
  private everWelcomed = false;
  private userClosed = false;
  private reconnecting = false;
  private readonly states = new Map<string, FutureState>();
  private readonly pending = new Map<number, Pending>();
  private readonly chans = new Map<string, Channel>();
  private readonly shipped = new Set<string>();
  private readonly registry = new FinalizationRegistry<FutureState>((state) => this.releaseHandle(state));
  private outbox: ClientMessage[] = [];
  private flushScheduled = false;
  private nextReq = 1;
  private isClosed = false;
  private welcomed!: Promise<void>;
  private eventSinks = new Set<(events: SchedulerEvent[]) => void>();
  private holds = 0;
  /** Address of the scheduler, known once connected. */
  address = '';

  private constructor(transport: ClientSide, opts: { name?: string; connector?: () => ClientSide; reconnectTimeoutMs?: number } = {}) {
    this.id = `${opts.name ?? 'client'}-${randomUUID().replace(/-/g, '').slice(0, 12)}`;
    this.transport = transport;
    this.connector = opts.connector;
    if (opts.reconnectTimeoutMs !== undefined) this.reconnectTimeoutMs = opts.reconnectTimeoutMs;
    this.welcomed = this.expectWelcome();
    this.welcomed.catch(() => undefined);
    this.bind(transport);
    this.post({ op: 'hello', client: this.id, version: PROTOCOL_VERSION, ...(opts.name ? { name: opts.name } : {}) });
  }

  private expectWelcome(): Promise<void> {
    const letGo = this.hold();
    return new Promise<void>((resolve, reject) => {
      this.pending.set(0, {
        resolve: () => {
          letGo();
          resolve();
        },
        reject: (e) => {
          letGo();
          reject(e);
        },
      });
    });
  }

  private bind(transport: ClientSide): void {
    transport.onMessages((batch) => {
      if (transport === this.transport) this.receive(batch);
    });
    transport.onClose((reason) => {
      if (transport === this.transport) this.onTransportClosed(reason);
    });
  }

  /**
   * Connects: with no argument to the default in-process LocalCluster (started on first use), to a
   * LocalCluster, to a MessagePort handed out by `cluster.createPort()`, or to `ws://host:port`.
   */
  static async connect(target?: InProcessScheduler | MessagePort | string, opts: ConnectOptions = {}): Promise<Client> {
    let transport: ClientSide;
    if (target === undefined) {
      if (!defaultClusterStarter) throw new Error('no default cluster is available in this build');
      transport = (await defaultClusterStarter(opts.threads)).connectInThread();
    } else if (typeof target === 'string') {
      // A token may ride in the address, as Jupyter prints it: ws://host:port/?token=…
      const url = parseSchedulerAddress(target);
      const token = opts.token ?? url.searchParams.get('token') ?? process.env.SHARED_FUTURES_TOKEN;
      url.search = '';
      const address = url.toString().replace(/\/$/, '');
      const connector = () => new WsClientTransport<SchedulerMessage, ClientMessage>(address, 'client', { token, ca: opts.ca });
      const client = new Client(connector(), { name: opts.name, connector: opts.reconnect === false ? undefined : connector, reconnectTimeoutMs: opts.reconnectTimeoutMs });
      await client.welcomed;
      return client;
    } else if (isMessagePort(target)) {
      transport = new MessagePortTransport<SchedulerMessage, ClientMessage>(target);
    } else if (target && typeof (target as InProcessScheduler).connectInThread === 'function') {
      transport = target.connectInThread();
    } else {
      throw new InvalidArgumentError('Client.connect takes nothing, a LocalCluster, a MessagePort or a ws:// address');
    }
    const client = new Client(transport, opts);
    await client.welcomed;
    return client;
  }

  /** @internal a client over an existing transport (used inside pool threads). */
  static fromTransport(transport: ClientSide, opts: { name?: string } = {}): Client {
    return new Client(transport, opts);
  }

  /** Resolves once the scheduler accepted this client. */
  get connected(): Promise<void> {
    return this.welcomed;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  // ------------------------------------------------------------ tasks

  /**
   * Submits `fn(...args)` to run on a worker; the Future is typed by what `fn` returns (awaited). Future
   * arguments are replaced by their results before `fn` runs.
   */
  submit<A extends unknown[], R>(fn: (...args: A) => R, ...args: TaskArgs<A>): Future<Awaited<R>>;
  /** Submits the `'module#export'` function with `args`. */
  submit(fn: string, ...args: unknown[]): Future;
  /** Submits a task described by options (`key`, `pure`, `retries`, `priority`). */
  submit<R>(options: SubmitOptions & { fn: (...args: any[]) => R }): Future<Awaited<R>>; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** Submits a task described by options (`key`, `pure`, `retries`, `priority`). */
  submit(options: SubmitOptions): Future;
  submit(fn: TaskFunction | SubmitOptions, ...args: unknown[]): Future {
    this.checkOpen();
    const opts: SubmitOptions = typeof fn === 'function' || typeof fn === 'string' ? { fn, args } : (fn as SubmitOptions);
    if (!opts || typeof opts !== 'object' || (typeof opts.fn !== 'function' && typeof opts.fn !== 'string')) {
      throw new InvalidArgumentError(`submit needs a function or a 'module#export' reference, got ${describeType(opts?.fn ?? fn)}`);
    }
    if (opts.args !== undefined && !Array.isArray(opts.args)) throw new InvalidArgumentError('submit: args must be an array');
    if (opts.key !== undefined && (typeof opts.key !== 'string' || opts.key.length === 0)) throw new InvalidArgumentError('submit: key must be a non-empty string');
    checkCount('retries', opts.retries);
    if (opts.priority !== undefined && (typeof opts.priority !== 'number' || !Number.isFinite(opts.priority))) {
      throw new InvalidArgumentError('submit: priority must be a finite number');
    }
    const spec = this.fnSpec(opts.fn);
    return this.submitOne(spec, opts.args ?? [], opts);
  }

  /**
   * Submits `fn(a, b, …)` for the items of one or more iterables taken in lockstep, stopping at the
   * shortest (Dask's `client.map`); one Future per call, in order, typed by what `fn` returns (awaited).
   * Options go last, as a plain object. Like Dask, any iterable counts: a string is mapped per character.
   */
  map<A, R>(fn: (a: A) => R, a: Iterable<A | Future<A>>, opts?: MapOptions): Future<Awaited<R>>[];
  map<A, B, R>(fn: (a: A, b: B) => R, a: Iterable<A | Future<A>>, b: Iterable<B | Future<B>>, opts?: MapOptions): Future<Awaited<R>>[];
  map<A, B, C, R>(fn: (a: A, b: B, c: C) => R, a: Iterable<A | Future<A>>, b: Iterable<B | Future<B>>, c: Iterable<C | Future<C>>, opts?: MapOptions): Future<Awaited<R>>[];
  /** Any number of iterables, or a `'module#export'` function: results typed `unknown`. */
  map(fn: TaskFunction, ...iterablesThenOptions: unknown[]): Future[];
  map(fn: TaskFunction, ...rest: unknown[]): Future[] {
    this.checkOpen();
    if (typeof fn !== 'function' && typeof fn !== 'string') throw new InvalidArgumentError(`map needs a function or a 'module#export' reference, got ${describeType(fn)}`);
    const { iterables, opts } = mapArguments(rest);
    const spec = this.fnSpec(fn);
    const its = iterables.map((it) => it[Symbol.iterator]());
    const out: Future[] = [];
    try {
      for (;;) {
        const args: unknown[] = [];
        for (const it of its) {
          const r = it.next();
          if (r.done) return out;
          args.push(r.value);
        }
        out.push(this.submitOne(spec, args, opts));
      }
    } finally {
      for (const it of its) it.return?.();
    }
  }

  private submitOne(spec: FnSpec & { name: string }, rawArgs: unknown[], opts: Omit<SubmitOptions, 'fn' | 'args'>): Future {
    const deps: string[] = [];
    const args = this.encodeArgs(rawArgs, deps);
    const key = opts.key ?? `${spec.name}-${opts.pure === false ? uniqueToken() : tokenize(spec.id, args)}`;
    const existing = this.states.get(key);
    if (existing && !existing.byKeyOnly && !existing.cancelledHere && existing.status !== 'cancelled' && existing.status !== 'lost') return new Future(this, existing);
    const task: TaskSpec = { key, fn: spec.id, args };
    if (deps.length > 0) task.deps = deps;
    if (opts.priority) task.priority = opts.priority;
    if (opts.retries) task.retries = opts.retries;
    this.postSubmit(spec, task);
    return this.acquire(key, 'pending'); // the scheduler counts one want per submitted task
  }

  private postSubmit(spec: FnSpec, task: TaskSpec): void {
    const fns: FnSpec[] = [];
    if (!this.shipped.has(spec.id)) {
      this.shipped.add(spec.id);
      fns.push(spec.ref !== undefined ? { id: spec.id, ref: spec.ref } : { id: spec.id, src: spec.src });
    }
    const last = this.outbox[this.outbox.length - 1];
    if (last?.op === 'submit') {
      for (const f of fns) last.fns.push(f);
      last.tasks.push(task);
    } else {
      this.post({ op: 'submit', fns, tasks: [task] });
    }
  }

  /** Sends values to the scheduler; each becomes a finished Future of its value's type. */
  async scatter<V extends unknown[]>(values: [...V]): Promise<{ [K in keyof V]: Future<V[K]> }>;
  async scatter(values: unknown[]): Promise<Future[]> {
    this.checkOpen();
    if (!Array.isArray(values)) throw new InvalidArgumentError('scatter needs an array of values');
    const items = values.map((v, i) => {
      const value = this.encodeValue(v, `scattered value ${i}`);
      return { key: `scatter-${tokenize('scatter', [value])}`, value };
    });
    await this.request({ op: 'scatter', items });
    // Each scattered item counts as one want; it belongs to the state this client holds now (a handle
    // released while the scatter was in flight released only the wants counted before it).
    return items.map(({ key }) => this.acquire(key, 'finished'));
  }

  /** The result of one future; raises its error. */
  async gather<T>(future: Future<T>, timeoutMs?: number): Promise<T>;
  /** Results of `futures` in order, keeping the array's or tuple's shape; raises the first error among them. */
  async gather<const F extends readonly Future<unknown>[]>(futures: F, timeoutMs?: number): Promise<{ -readonly [K in keyof F]: FutureResult<F[K]> }>;
  async gather(futures: Future[] | Future, timeoutMs?: number): Promise<unknown> {
    this.checkOpen();
    const single = !Array.isArray(futures);
    const list = single ? [futures as Future] : (futures as Future[]);
    timeoutMs = checkTimeout('gather', timeoutMs);
    for (const f of list) {
      if (!(f instanceof Future)) throw new InvalidArgumentError(`gather takes futures, got ${describeType(f)}`);
      f.checkUsable();
    }
    for (let attempt = 0; ; attempt++) {
      await waitDone(list.map((f) => f.state), this, timeoutMs, `gather: ${list.filter((f) => !f.done()).length} of ${list.length} futures did not finish within ${timeoutMs} ms`);
      for (const f of list) {
        const err = errorOf(f.state);
        if (err) throw err;
      }
      try {
        const values = await this.gatherKeys(list.map((f) => f.key));
        return single ? values[0] : values;
      } catch (err) {
        // A worker holding some result went away and the scheduler is recomputing it: wait again.
        if (attempt >= 3 || list.every((f) => f.status === 'finished')) throw err;
      }
    }
  }

  /** Submits a graph `{ key: [fnOrRef, ...args] }`; returns futures for `keys` (default: every key). */
  submitGraph(graph: TaskGraph, keys?: string[]): Future[] {
    this.checkOpen();
    if (!graph || typeof graph !== 'object' || Array.isArray(graph)) throw new InvalidArgumentError('submitGraph needs an object { key: [fnOrRef, ...args] }');
    const all = Object.keys(graph);
    const wanted = keys ?? all;
    if (!Array.isArray(wanted)) throw new InvalidArgumentError('submitGraph: keys must be an array of keys');
    for (const k of wanted) {
      if (!(k in graph) && !this.states.has(k)) throw new InvalidArgumentError(`submitGraph: key '${k}' is not in the graph`);
    }
    for (const key of all) {
      const node = graph[key];
      if (Array.isArray(node) && (typeof node[0] === 'function' || (typeof node[0] === 'string' && node[0].includes('#')))) {
        const spec = this.fnSpec(node[0] as TaskFunction);
        const deps: string[] = [];
        const args = this.encodeArgs(node.slice(1), deps);
        const task: TaskSpec = { key, fn: spec.id, args, graph: true };
        if (deps.length > 0) task.deps = deps;
        this.postSubmit(spec, task);
      } else {
        this.postSubmit({ id: '', ref: '' }, { key, fn: '', args: [], value: this.encodeValue(node, `graph value '${key}'`) });
      }
    }
    this.shipped.delete('');
    // The scheduler counts one want per key of the graph: the wanted keys' go to their futures, the others'
    // to a state this client already holds, or straight back.
    const wantedSet = new Set(wanted);
    const futures = wanted.map((k) => (k in graph ? this.acquire(k, 'pending') : this.future(k)));
    const others: string[] = [];
    for (const k of all) {
      if (wantedSet.has(k)) continue;
      const state = this.states.get(k);
      if (state) state.acquired++;
      else others.push(k);
    }
    if (others.length > 0) this.post({ op: 'release', keys: others });
    return futures;
  }

  /** Runs a graph and returns the results of `keys` (one key: its result). */
  async get(graph: TaskGraph, keys: string | string[]): Promise<unknown> {
    const list = typeof keys === 'string' ? [keys] : keys;
    const futures = this.submitGraph(graph, list);
    try {
      const values = (await this.gather(futures)) as unknown[];
      return typeof keys === 'string' ? values[0] : values;
    } finally {
      for (const f of futures) f.release();
    }
  }

  /**
   * A handle to a key (`T`: the type of its result, as you know it): its task, or a placeholder that waits
   * until someone submits or scatters the key (Dask).
   */
  future<T = unknown>(key: string): Future<T>;
  future(key: string): Future {
    this.checkOpen();
    if (typeof key !== 'string' || key.length === 0) throw new InvalidArgumentError('future(key) needs a non-empty key');
    let state = this.states.get(key);
    if (!state) {
      this.states.set(key, (state = new FutureState(key)));
      state.byKeyOnly = true;
      this.postKeys('want', key);
      state.acquired++;
    }
    return new Future(this, state);
  }

  /** A handle for a want the scheduler counted for this client (a scatter, a graph key): on the state held now, or a new one. */
  private acquire(key: string, status: FutureStatus): Future {
    let state = this.states.get(key);
    if (!state) this.states.set(key, (state = new FutureState(key, status)));
    else if (state.cancelledHere || state.status === 'cancelled' || state.status === 'lost') {
      // Defined anew by this submit or scatter.
      state.cancelledHere = false;
      state.error = undefined;
      state.update(status, undefined);
    }
    state.byKeyOnly = false;
    state.acquired++;
    return new Future(this, state);
  }

  // ------------------------------------------------------------ channels

  /**
   * Opens (and subscribes to) a channel; synchronous, the replay arrives in the background. With
   * `create: false` a channel that does not exist is not created: the returned one ends at once as deleted.
   */
  channel<T = unknown>(name: string, opts?: { maxlen?: number | null; create?: boolean }): Channel<T>;
  channel(name: string, opts: { maxlen?: number | null; create?: boolean } = {}): Channel {
    this.checkOpen();
    if (typeof name !== 'string') throw new InvalidArgumentError(`a channel name must be a string, got ${describeType(name)}`);
    if (name.length === 0) throw new InvalidArgumentError('a channel name must not be empty');
    if (name.length > MAX_CHANNEL_NAME) throw new InvalidArgumentError(`a channel name is at most ${MAX_CHANNEL_NAME} characters, got ${name.length}`);
    const maxlen = opts?.maxlen ?? null;
    if (maxlen !== null && (typeof maxlen !== 'number' || !Number.isInteger(maxlen) || maxlen < 1)) {
      throw new InvalidArgumentError(`maxlen must be a positive integer (or null for unbounded), got ${String(maxlen)}`);
    }
    const open = this.chans.get(name);
    if (open) return open;
    const chan = new Channel(this, name, maxlen);
    chan.observeOnly = opts?.create === false;
    this.chans.set(name, chan);
    this.post(opts?.create === false ? { op: 'sub', channel: name, maxlen, create: false } : { op: 'sub', channel: name, maxlen });
    return chan;
  }

  // ------------------------------------------------------------ observing

  /** Every channel the scheduler holds. */
  async channels(): Promise<ChannelInfo[]> {
    return (await this.request({ op: 'channels' })) as ChannelInfo[];
  }

  /** The scheduler's address, workers and task counts by status. */
  async schedulerInfo(): Promise<SchedulerInfo> {
    return (await this.request({ op: 'info' })) as SchedulerInfo;
  }

  /** What happened to `key`: its transitions, oldest first. */
  async story(key: string): Promise<StoryEntry[]> {
    return (await this.request({ op: 'story', key })) as StoryEntry[];
  }

  /** Batched task, channel and worker changes, as they happen. */
  events(): AsyncIterable<SchedulerEvent[]> {
    return {
      [Symbol.asyncIterator]: () => {
        const queue: SchedulerEvent[][] = [];
        let wake: (() => void) | undefined;
        let done = false;
        const sink = (events: SchedulerEvent[]) => {
          queue.push(events);
          wake?.();
        };
        const stop = () => {
          if (done) return;
          done = true;
          this.eventSinks.delete(sink);
          if (this.eventSinks.size === 0 && !this.isClosed) this.post({ op: 'events', on: false });
          wake?.();
        };
        this.eventSinks.add(sink);
        if (this.eventSinks.size === 1) this.post({ op: 'events', on: true });
        return {
          next: async (): Promise<IteratorResult<SchedulerEvent[]>> => {
            while (queue.length === 0 && !done && !this.isClosed) {
              const letGo = this.hold();
              await new Promise<void>((r) => (wake = r));
              letGo();
            }
            wake = undefined;
            if (queue.length > 0) return { value: queue.shift() as SchedulerEvent[], done: false };
            stop();
            return { value: undefined, done: true };
          },
          return: async (): Promise<IteratorResult<SchedulerEvent[]>> => {
            stop();
            return { value: undefined, done: true };
          },
        };
      },
    };
  }

  /** Closes the client: the scheduler releases everything it wanted; its channels' iterations end. */
  async close(): Promise<void> {
    if (this.isClosed) return;
    this.userClosed = true;
    if (this.reconnecting) {
      this.onTransportClosed();
      return;
    }
    this.post({ op: 'close' });
    this.flush();
    this.transport.close();
    this.onTransportClosed();
  }

  // ------------------------------------------------------------ FutureHost / ChannelHost

  /** @internal keeps the connection (and so the process) alive while someone waits on the scheduler. */
  hold(): () => void {
    if (this.holds++ === 0) this.transport.setKeepAlive?.(true);
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      if (--this.holds === 0) this.transport.setKeepAlive?.(false);
    };
  }

  /** @internal */
  async gatherKeys(keys: string[]): Promise<unknown[]> {
    return (await this.request({ op: 'gather', keys })) as unknown[];
  }

  /**
   * @internal this client's handles on `keys` read cancelled from now on and stop following the key — also
   * when others keep the task running, or submit it again — until this client itself submits, wants or
   * receives the key again.
   */
  async cancelKeys(keys: string[], force: boolean): Promise<void> {
    await this.request(force ? { op: 'cancel', keys, force } : { op: 'cancel', keys });
    for (const key of keys) {
      const state = this.states.get(key);
      if (!state) continue;
      state.update('cancelled', undefined);
      state.cancelledHere = true;
    }
  }

  /** @internal */
  registerHandle(future: Future, state: FutureState): void {
    this.registry.register(future, state, future);
  }

  /** @internal */
  unregisterHandle(future: Future): void {
    this.registry.unregister(future);
  }

  /** @internal */
  releaseHandle(state: FutureState): void {
    if (--state.refs > 0) return;
    if (this.states.get(state.key) === state) this.states.delete(state.key);
    if (state.acquired > 0 && !this.isClosed) this.postRelease(state.key, state.acquired);
    state.acquired = 0;
  }

  /** @internal */
  postAppend(channel: string, item: WireItem): void {
    const last = this.outbox[this.outbox.length - 1];
    if (last?.op === 'append' && last.channel === channel) last.items.push(item);
    else this.post({ op: 'append', channel, items: [item] });
  }

  /** @internal */
  request(msg: DistributiveOmit<Extract<ClientMessage, { req: number }>, 'req'>): Promise<unknown> {
    if (this.isClosed) return Promise.reject(new ClientClosedError());
    const req = this.nextReq++;
    const letGo = this.hold();
    return new Promise((resolve, reject) => {
      this.pending.set(req, {
        resolve: (v) => {
          letGo();
          resolve(v);
        },
        reject: (e) => {
          letGo();
          reject(e);
        },
      });
      this.post({ ...msg, req } as ClientMessage);
    });
  }

  /** @internal */
  unsubscribe(channel: Channel): void {
    if (this.chans.get(channel.name) !== channel) return;
    this.chans.delete(channel.name);
    if (!this.isClosed) this.post({ op: 'unsub', channel: channel.name });
  }

  /** @internal a channel item arrived: futures get a state held by the channel's window. */
  adoptItem(item: WireItem): FutureState | undefined {
    if (!('k' in item)) return undefined;
    // The scheduler counted one want of this client for the delivery.
    let state = this.states.get(item.k);
    if (!state) {
      this.states.set(item.k, (state = new FutureState(item.k, item.s ?? 'pending')));
      if (item.e) state.error = item.e;
    } else {
      state.cancelledHere = false;
      state.byKeyOnly = false;
      if (item.s) state.update(item.s, item.e);
    }
    state.acquired++;
    state.refs++;
    return state;
  }

  /** @internal */
  dropItem(state: FutureState): void {
    this.releaseHandle(state);
  }

  /** @internal */
  ownedFuture(state: FutureState): Future {
    return new Future(this, state);
  }

  /** @internal */
  isFuture(value: unknown): value is Future {
    return value instanceof Future;
  }

  /** @internal checks that a value can be sent and returns the copy that will be. */
  encodeValue(value: unknown, what: string): unknown {
    switch (typeof value) {
      case 'function':
        throw new SerializationError(`${what} cannot be sent: it is a function (submit it as a task instead)`);
      case 'symbol':
        throw new SerializationError(`${what} cannot be sent: it is a symbol`);
      case 'object':
        if (value === null) return value;
        if (value instanceof Future) throw new SerializationError(`${what} cannot be sent: a Future is not a value (append it to a channel or pass it as a task argument)`);
        try {
          return structuredClone(value);
        } catch (err) {
          // The engine's message can quote the source of a function; say where the culprit is instead.
          throw new SerializationError(`${what} cannot be sent: ${whyUncloneable(value) ?? `it holds a value that cannot be copied (${cloneFailure(err)})`}`);
        }
      default:
        return value;
    }
  }

  // ------------------------------------------------------------ internals

  /**
   * Futures anywhere in the arguments (arrays, plain objects, Map keys and values, Set members) become
   * markers and dependencies; user objects that a worker could read as a marker travel escaped.
   */
  private encodeArgs(args: unknown[], deps: string[]): unknown[] {
    let plain = true;
    for (const a of args) {
      if (typeof a === 'object' && a !== null) {
        plain = false;
        break;
      }
      if (typeof a === 'function' || typeof a === 'symbol') plain = false;
    }
    if (plain) return args;
    const replaced = replaceFutures(args, deps, new Map());
    return this.encodeValue(replaced, 'a task argument') as unknown[];
  }

  private fnSpec(fn: TaskFunction): FnSpec & { name: string } {
    if (typeof fn === 'string') {
      let spec = refSpecs.get(fn);
      if (!spec) {
        if (!REF_FORM.test(fn)) throw new InvalidArgumentError(`'${fn}' is not a 'module#export' reference`);
        const name = fn.includes('#') ? fn.slice(fn.lastIndexOf('#') + 1) : (fn.split('/').pop() ?? 'task');
        refSpecs.set(fn, (spec = { id: `ref:${fn}`, ref: fn, name: safeName(name) }));
      }
      return spec;
    }
    let spec = fnSpecs.get(fn);
    if (!spec) {
      const src = Function.prototype.toString.call(fn);
      if (/\{\s*\[native code\]\s*\}\s*$/.test(src)) {
        throw new InvalidArgumentError(`${fn.name || 'this function'} is native or bound and cannot be shipped: wrap it, e.g. () => ${fn.name || 'fn'}()`);
      }
      if (/^class[\s{]/.test(src)) throw new InvalidArgumentError('a class cannot be submitted as a task: submit a function');
      spec = { id: `src:${digest(src)}`, src, name: safeName(fn.name || 'lambda') };
      fnSpecs.set(fn, spec);
    }
    return spec;
  }

  private post(msg: ClientMessage): void {
    if (this.isClosed) return;
    this.outbox.push(msg);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(() => this.flush());
    }
  }

  private postKeys(op: 'want', key: string): void {
    const last = this.outbox[this.outbox.length - 1];
    if (last?.op === op) last.keys.push(key);
    else this.post({ op, keys: [key] });
  }

  private postRelease(key: string, n: number): void {
    const last = this.outbox[this.outbox.length - 1];
    if (last?.op === 'release' && last.n) {
      last.keys.push(key);
      last.n.push(n);
    } else this.post({ op: 'release', keys: [key], n: [n] });
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.reconnecting) return; // kept until the connection is back
    const out = this.outbox;
    this.outbox = [];
    for (const m of out) this.transport.send(m);
  }

  private receive(batch: SchedulerMessage[]): void {
    for (const msg of batch) {
      switch (msg.op) {
        case 'welcome':
          this.address = msg.address;
          this.everWelcomed = true;
          this.settle(0, undefined, undefined);
          break;
        case 'status': {
          for (let i = 0; i < msg.keys.length; i++) {
            this.states.get(msg.keys[i])?.update(msg.s[i], msg.e?.[i] ?? undefined);
          }
          break;
        }
        case 'items':
          this.chans.get(msg.channel)?.receiveItems(msg.start, msg.items);
          break;
        case 'replay':
          this.chans.get(msg.channel)?.receiveReplay(msg.start, msg.items, msg.stopped, msg.maxlen, msg.epoch);
          break;
        case 'chan-stop':
          this.chans.get(msg.channel)?.receiveStop();
          break;
        case 'chan-deleted': {
          const chan = this.chans.get(msg.channel);
          this.chans.delete(msg.channel);
          chan?.receiveDeleted();
          break;
        }
        case 'reply':
          if (msg.ok) this.settle(msg.req, msg.value, undefined);
          else this.settle(msg.req, undefined, msg.error);
          break;
        case 'events':
          for (const sink of this.eventSinks) sink(msg.events);
          break;
        case 'error':
          if (this.pending.has(0)) this.settle(0, undefined, msg.error);
          else process.emitWarning(`scheduler: ${msg.error.message}`, { code: msg.error.code });
          break;
      }
    }
  }

  private settle(req: number, value: unknown, error: ErrorInfo | undefined): void {
    const p = this.pending.get(req);
    if (!p) return;
    this.pending.delete(req);
    if (error) p.reject(toClientError(error));
    else p.resolve(value);
  }

  private onTransportClosed(reason?: Error): void {
    if (this.isClosed) return;
    if (this.connector && this.everWelcomed && !this.userClosed) {
      this.startReconnect(reason);
      return;
    }
    this.isClosed = true;
    this.reconnecting = false;
    this.outbox = [];
    // Closed on purpose, or lost: iterations end in the first case and throw ConnectionError in the second.
    const lost = this.userClosed
      ? undefined
      : reason instanceof ConnectionError
        ? reason
        : new ConnectionError(`the connection to ${this.address || 'the scheduler'} was lost${reason ? `: ${reason.message}` : ''}`, { cause: reason });
    const err = this.userClosed ? new ClientClosedError() : (reason ?? lost);
    for (const p of this.pending.values()) p.reject(err as Error);
    this.pending.clear();
    for (const state of this.states.values()) state.wake();
    for (const chan of this.chans.values()) chan.clientClosed(lost);
    for (const sink of this.eventSinks) sink([]);
    this.eventSinks.clear();
  }

  /** The connection dropped: answers in flight are lost; reconnect with backoff and resynchronise. */
  private startReconnect(reason?: Error): void {
    if (this.reconnecting) return;
    this.reconnecting = true;
    const lost = new ConnectionError(`the connection to ${this.address} was lost${reason ? ` (${reason.message})` : ''}; the request may or may not have been applied`);
    for (const [req, p] of this.pending) if (req !== 0) p.reject(lost);
    for (const req of [...this.pending.keys()]) if (req !== 0) this.pending.delete(req);
    const started = Date.now();
    const letGo = this.hold();
    const attempt = (n: number) => {
      if (this.isClosed || this.userClosed) return letGo();
      if (Date.now() - started > this.reconnectTimeoutMs) {
        letGo();
        this.reconnecting = false;
        this.connector = undefined;
        this.onTransportClosed(new ConnectionError(`could not reconnect to ${this.address} within ${this.reconnectTimeoutMs} ms`));
        return;
      }
      const delay = Math.min(5000, 50 * 2 ** n) * (0.75 + Math.random() * 0.5);
      setTimeout(() => {
        if (this.isClosed || this.userClosed) return letGo();
        const transport = (this.connector as () => ClientSide)();
        this.transport = transport;
        const welcome = this.expectWelcome();
        transport.onMessages((batch) => {
          if (transport === this.transport) this.receive(batch);
        });
        transport.onClose((why) => {
          if (transport !== this.transport) return;
          this.pending.get(0)?.reject(why ?? lost);
          if (this.reconnecting) attempt(n + 1);
          else this.onTransportClosed(why);
        });
        transport.send({ op: 'hello', client: this.id, version: PROTOCOL_VERSION, resume: true });
        welcome.then(
          () => {
            letGo();
            this.resync(transport);
          },
          () => undefined,
        );
      }, delay);
    };
    attempt(0);
  }

  /**
   * After reconnecting: what was queued meanwhile goes first; then the scheduler learns exactly which wants
   * this client holds (and answers with their statuses); then every channel resumes after the last item this
   * client saw — in the incarnation it followed, so a channel deleted meanwhile stays deleted.
   */
  private resync(transport: ClientSide): void {
    this.reconnecting = false;
    // Subscriptions queued while away are sent below, once, with the others.
    this.outbox = this.outbox.filter((m) => m.op !== 'sub');
    this.flush();
    const keys: string[] = [];
    const n: number[] = [];
    for (const [key, state] of this.states) {
      if (state.acquired === 0) continue;
      keys.push(key);
      n.push(state.acquired);
    }
    transport.send({ op: 'resync', keys, n });
    for (const chan of this.chans.values()) {
      const where = chan.epoch !== undefined ? { from: chan.count, epoch: chan.epoch } : {};
      transport.send({ op: 'sub', channel: chan.name, maxlen: chan.requestedMaxlen, resume: true, ...where, ...(chan.observeOnly ? { create: false } : {}) });
    }
  }

  private checkOpen(): void {
    if (this.isClosed) throw new ClientClosedError();
  }

  toString(): string {
    return `<Client ${this.id}: ${this.address || 'connecting'}>`;
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/**
 * A copy of `value` in which every Future is a marker (its key pushed to `deps`) and every user object
 * shaped like a marker or an escape is escaped (protocol.ts), walking arrays, Maps, Sets and objects the
 * structured clone copies as plain objects. Shared references and cycles are kept.
 */
function replaceFutures(value: unknown, deps: string[], seen: Map<object, unknown>): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (value instanceof Future) {
    value.checkUsable();
    deps.push(value.key);
    return futureRef(value.key);
  }
  if (seen.has(value)) return seen.get(value);
  if (Array.isArray(value)) {
    const out: unknown[] = new Array<unknown>(value.length);
    seen.set(value, out);
    value.forEach((v, i) => (out[i] = replaceFutures(v, deps, seen)));
    return out;
  }
  if (types.isMap(value)) {
    const out = new Map<unknown, unknown>();
    seen.set(value, out);
    for (const [k, v] of value as Map<unknown, unknown>) out.set(replaceFutures(k, deps, seen), replaceFutures(v, deps, seen));
    return out;
  }
  if (types.isSet(value)) {
    const out = new Set<unknown>();
    seen.set(value, out);
    for (const v of value as Set<unknown>) out.add(replaceFutures(v, deps, seen));
    return out;
  }
  if (Object.prototype.toString.call(value) === '[object Object]') {
    const keys = Object.keys(value);
    const out: Record<string, unknown> = {};
    seen.set(value, needsEscape(keys) ? escapeUserObject(out) : out);
    for (const k of keys) defineField(out, k, replaceFutures((value as Record<string, unknown>)[k], deps, seen));
    return seen.get(value);
  }
  if (isNativeCloneable(value)) return value;
  // Anything else the structured clone may still turn into a plain object (a class with its own
  // Symbol.toStringTag): copy it now and walk the copy, so that it cannot come out marker-shaped.
  let copy: unknown;
  try {
    copy = structuredClone(value);
  } catch {
    return value; // encodeValue reports it
  }
  const out = typeof copy === 'object' && copy !== null && !isNativeCloneable(copy) ? replaceFutures(copy, deps, seen) : copy;
  seen.set(value, out);
  return out;
}

/** Built-in values the structured clone copies as themselves (never as plain objects). */
function isNativeCloneable(value: object): boolean {
  return types.isDate(value) || types.isRegExp(value) || types.isNativeError(value) || types.isBoxedPrimitive(value) || types.isAnyArrayBuffer(value) || ArrayBuffer.isView(value);
}

/** `out[key] = value`, also for a key named `__proto__` (which an assignment would take as the prototype). */
function defineField(out: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  else out[key] = value;
}

/** Where in `value` the first thing that cannot be sent is, said without quoting any source. */
function whyUncloneable(value: unknown, path = 'it', seen = new Set<object>()): string | undefined {
  if (typeof value === 'function') return `${path} is a function${value.name ? ` (${value.name})` : ''}: functions cannot be sent (submit it as a task instead)`;
  if (typeof value === 'symbol') return `${path} is a symbol`;
  if (typeof value !== 'object' || value === null || seen.has(value)) return undefined;
  seen.add(value);
  if (value instanceof Future) {
    return `${path} is a Future, which cannot travel inside a value: append the future itself to a channel, or send future.key and call client.future(key) on the other side`;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const why = whyUncloneable(value[i], `${path}[${i}]`, seen);
      if (why) return why;
    }
    return undefined;
  }
  if (types.isMap(value)) {
    let i = 0;
    for (const [k, v] of value as Map<unknown, unknown>) {
      const why = whyUncloneable(k, `a key of ${path}`, seen) ?? whyUncloneable(v, `${path}.get(${typeof k === 'string' ? JSON.stringify(k) : `<key ${i}>`})`, seen);
      if (why) return why;
      i++;
    }
    return undefined;
  }
  if (types.isSet(value)) {
    for (const v of value as Set<unknown>) {
      const why = whyUncloneable(v, `a member of ${path}`, seen);
      if (why) return why;
    }
    return undefined;
  }
  if (isNativeCloneable(value)) return undefined;
  if (types.isPromise(value) || types.isWeakMap(value) || types.isWeakSet(value) || types.isProxy(value)) return `${path} is a ${Object.prototype.toString.call(value).slice(8, -1)}, which cannot be copied`;
  for (const k of Object.keys(value)) {
    const why = whyUncloneable((value as Record<string, unknown>)[k], `${path}${/^[A-Za-z_$][\w$]*$/.test(k) ? `.${k}` : `[${JSON.stringify(k)}]`}`, seen);
    if (why) return why;
  }
  return undefined;
}

/** The first line of a clone failure, without the quoted value when that could be source text. */
function cloneFailure(err: unknown): string {
  const message = String((err as Error)?.message ?? err).split('\n')[0];
  const m = /^(.*) could not be cloned\.?$/.exec(message);
  if (m && /^#<\w+>$/.test(m[1])) return `${m[1]} could not be cloned`;
  return m ? 'a value could not be cloned' : message.slice(0, 120);
}

function toClientError(info: ErrorInfo): Error {
  switch (info.code) {
    case 'ERR_NOT_FINISHED':
    case undefined:
      return new TaskError(info.key ?? '', info);
    default:
      return fromErrorInfo(info);
  }
}

/** Splits `map`'s arguments into iterables and trailing options, checking both. */
function mapArguments(rest: unknown[]): { iterables: Iterable<unknown>[]; opts: MapOptions } {
  let opts: MapOptions = {};
  const last = rest[rest.length - 1];
  if (rest.length > 0 && !isIterable(last)) {
    if (typeof last !== 'object' || last === null || Array.isArray(last)) throw new InvalidArgumentError(`map: argument ${rest.length + 1} is not iterable (got ${describeType(last)})`);
    const proto = Object.getPrototypeOf(last) as unknown;
    if (proto !== Object.prototype && proto !== null) throw new InvalidArgumentError(`map: the last argument is neither an iterable nor a plain options object (got ${describeType(last)})`);
    opts = last as MapOptions;
    rest = rest.slice(0, -1);
    for (const k of Object.keys(opts)) {
      if (k === 'key') throw new InvalidArgumentError('map: a key cannot be given (every item gets its own key); submit each item to choose keys');
      if (!MAP_OPTIONS.has(k)) throw new InvalidArgumentError(`map: unknown option '${k}' (accepted: ${[...MAP_OPTIONS].join(', ')})`);
    }
    checkCount('retries', opts.retries, 'map');
    if (opts.priority !== undefined && (typeof opts.priority !== 'number' || !Number.isFinite(opts.priority))) throw new InvalidArgumentError('map: priority must be a finite number');
  }
  if (rest.length === 0) throw new InvalidArgumentError('map needs at least one iterable of items, e.g. client.map(fn, [1, 2, 3])');
  rest.forEach((it, i) => {
    if (isIterable(it)) return;
    const hint = typeof it === 'object' && it !== null && !Array.isArray(it) ? '; options go last' : '';
    throw new InvalidArgumentError(`map: argument ${i + 2} is not iterable (got ${describeType(it)})${hint}`);
  });
  return { iterables: rest as Iterable<unknown>[], opts };
}

function isIterable(value: unknown): value is Iterable<unknown> {
  return (typeof value === 'object' || typeof value === 'string') && value !== null && typeof (value as Iterable<unknown>)[Symbol.iterator] === 'function';
}

function checkCount(name: string, value: unknown, where = 'submit'): void {
  if (value !== undefined && (typeof value !== 'number' || !Number.isInteger(value) || value < 0)) {
    throw new InvalidArgumentError(`${where}: ${name} must be a non-negative integer`);
  }
}

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : typeof value;
}

function safeName(name: string): string {
  return name.replace(/[^\w$.-]/g, '_').slice(0, 64) || 'task';
}

function isMessagePort(value: unknown): value is MessagePort {
  return typeof value === 'object' && value !== null && typeof (value as MessagePort).postMessage === 'function' && typeof (value as MessagePort).on === 'function' && !('connectInThread' in value);
}
