/**
 * The Client: submits tasks, holds futures, opens channels, observes the scheduler. The same class works
 * on the main thread (in-thread transport), in any worker thread (MessagePort) and over WebSocket.
 *
 * A thin facade: the work is done by the connection (connect, session, reconnect, outbox, requests:
 * connection.ts), the futures and their want-counts (future-registry.ts), task and graph submission
 * (tasks.ts, with functions.ts for shipping functions and encode.ts for values), channels
 * (channel-table.ts) and the event feed (events.ts).
 */
import { randomUUID } from 'node:crypto';
import type { MessagePort } from 'node:worker_threads';
import type { Channel } from './channel';
import { ChannelTable } from './channel-table';
import { Connection, type ClientSide, type ConnectionOwner } from './connection';
import { ClientClosedError, InvalidArgumentError } from '../protocol/errors';
import { Future, checkTimeout, isFuture, resultsOf } from './future';
import { FutureRegistry } from './future-registry';
import { DirectGather, directMode, type DirectMode } from './direct';
import { EventFeed } from './events';
import { encodeValue } from './encode';
import { fnSpec, type TaskFunction } from './functions';
import { checkSubmitOptions, describeType, mapArguments, type MapOptions, type SubmitOptions } from './options';
import { TaskSubmitter, type TaskGraph } from './tasks';
import type { ChannelInfo, ClientMessage, SchedulerEvent, SchedulerInfo, SchedulerMessage, StoryEntry } from '../protocol/messages';
import { tokenize } from './tokenize';
import { MessagePortTransport } from '../transport/message-port';
import { WsClientTransport, parseSchedulerAddress } from '../wire/ws-client';

export type { ClientSide } from './connection';
export type { TaskFunction } from './functions';
export type { MapOptions, SubmitOptions } from './options';
export type { DirectMode } from './direct';
export type { TaskGraph } from './tasks';

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
  /**
   * Where a ws:// client gets results held on worker processes (`result()`, `gather`): 'auto' (default)
   * fetches them from the worker holding them and goes through the scheduler when that worker cannot be
   * reached; 'always' fetches from the workers only (an unreachable worker is a ConnectionError); 'never'
   * always goes through the scheduler. In-process clients always get results through the scheduler.
   */
  direct?: DirectMode;
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

/** Something a Client can connect to in-process (LocalCluster implements it). */
export interface InProcessScheduler {
  connectInThread(): ClientSide;
}

let defaultClusterStarter: ((threads?: number) => Promise<InProcessScheduler>) | undefined;

/** @internal set by local-cluster.ts so Client.connect() can start the default cluster lazily. */
export function setDefaultClusterStarter(fn: (threads?: number) => Promise<InProcessScheduler>): void {
  defaultClusterStarter = fn;
}

/**
 * A client of a Shared Futures scheduler: submits tasks (`submit`, `map`), moves data (`scatter`, `gather`),
 * opens channels (`channel`) and observes the scheduler. In a notebook, `client` is one already connected.
 */
export class Client {
  /** Unique id of this client. */
  readonly id: string;
  private readonly conn: Connection;
  private readonly futures: FutureRegistry;
  private readonly tasks: TaskSubmitter;
  private readonly chans: ChannelTable;
  private readonly feed: EventFeed;

  private constructor(transport: ClientSide, opts: { name?: string; connector?: () => ClientSide; reconnectTimeoutMs?: number; gatherer?: DirectGather } = {}) {
    this.id = `${opts.name ?? 'client'}-${randomUUID().replace(/-/g, '').slice(0, 12)}`;
    const owner: ConnectionOwner = {
      receive: (msg) => this.receive(msg),
      resyncMessages: (): ClientMessage[] => [this.futures.resyncMessage(), ...this.chans.resubscriptions()],
      closed: (lost) => {
        this.futures.wakeAll();
        this.chans.closeAll(lost);
        this.feed.end();
        opts.gatherer?.close();
      },
    };
    this.conn = new Connection(this.id, transport, owner, opts);
    this.futures = new FutureRegistry(this.conn, opts.gatherer);
    this.tasks = new TaskSubmitter(this.conn, this.futures);
    this.chans = new ChannelTable(this.conn, this.futures);
    this.feed = new EventFeed(this.conn);
  }

  /**
   * Connects: with no argument to the default in-process LocalCluster (started on first use), to a
   * LocalCluster, to a MessagePort handed out by `cluster.createPort()`, or to `ws://host:port`.
   */
  static async connect(target?: InProcessScheduler | MessagePort | string, opts: ConnectOptions = {}): Promise<Client> {
    const mode = directMode(opts.direct);
    let client: Client;
    if (target === undefined) {
      if (!defaultClusterStarter) throw new Error('no default cluster is available in this build');
      client = new Client((await defaultClusterStarter(opts.threads)).connectInThread(), opts);
    } else if (typeof target === 'string') {
      // A token may ride in the address, as Jupyter prints it: ws://host:port/?token=…
      const url = parseSchedulerAddress(target);
      const token = opts.token ?? url.searchParams.get('token') ?? process.env.SHARED_FUTURES_TOKEN;
      url.search = '';
      const address = url.toString().replace(/\/$/, '');
      const direct = mode === 'never' ? undefined : new DirectGather(token, opts.name ?? 'client', mode);
      const connector = () => new WsClientTransport<SchedulerMessage, ClientMessage>(address, 'client', { token, ca: opts.ca, direct: direct !== undefined });
      client = new Client(connector(), { name: opts.name, connector: opts.reconnect === false ? undefined : connector, reconnectTimeoutMs: opts.reconnectTimeoutMs, gatherer: direct });
    } else if (isMessagePort(target)) {
      client = new Client(new MessagePortTransport<SchedulerMessage, ClientMessage>(target), opts);
    } else if (target && typeof (target as InProcessScheduler).connectInThread === 'function') {
      client = new Client(target.connectInThread(), opts);
    } else {
      throw new InvalidArgumentError('Client.connect takes nothing, a LocalCluster, a MessagePort or a ws:// address');
    }
    await client.connected;
    return client;
  }

  /** @internal a client over an existing transport (used inside pool threads). */
  static fromTransport(transport: ClientSide, opts: { name?: string } = {}): Client {
    return new Client(transport, opts);
  }

  /** Resolves once the scheduler accepted this client. */
  get connected(): Promise<void> {
    return this.conn.connected;
  }

  get closed(): boolean {
    return this.conn.closed;
  }

  /** Address of the scheduler, known once connected. */
  get address(): string {
    return this.conn.address;
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
    checkSubmitOptions(opts, fn);
    return this.tasks.submit(fnSpec(opts.fn), opts.args ?? [], opts);
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
    const spec = fnSpec(fn);
    const out: Future[] = [];
    if (iterables.every(isPlainArray)) {
      // Arrays (the usual case) are read by index: the same items as their iterator gives, without a
      // result object per item; each task's argument list is made at its exact size.
      const arrays = iterables as unknown[][];
      if (arrays.length === 1) {
        const a = arrays[0];
        for (let i = 0; i < a.length; i++) out.push(this.tasks.submit(spec, [a[i]], opts));
        return out;
      }
      for (let i = 0; ; i++) {
        const args = new Array<unknown>(arrays.length);
        for (let j = 0; j < arrays.length; j++) {
          if (i >= arrays[j].length) return out;
          args[j] = arrays[j][i];
        }
        out.push(this.tasks.submit(spec, args, opts));
      }
    }
    const its = iterables.map((it) => it[Symbol.iterator]());
    try {
      for (;;) {
        const args = new Array<unknown>(its.length);
        for (let j = 0; j < its.length; j++) {
          const r = its[j].next();
          if (r.done) return out;
          args[j] = r.value;
        }
        out.push(this.tasks.submit(spec, args, opts));
      }
    } finally {
      for (const it of its) it.return?.();
    }
  }

  /** Sends values to the scheduler; each becomes a finished Future of its value's type. */
  async scatter<V extends unknown[]>(values: [...V]): Promise<{ [K in keyof V]: Future<V[K]> }>;
  async scatter(values: unknown[]): Promise<Future[]> {
    this.checkOpen();
    if (!Array.isArray(values)) throw new InvalidArgumentError('scatter needs an array of values');
    const items = values.map((v, i) => {
      const value = encodeValue(v, `scattered value ${i}`);
      return { key: `scatter-${tokenize('scatter', [value])}`, value };
    });
    await this.conn.request({ op: 'scatter', items });
    // Each scattered item counts as one want; it belongs to the state this client holds now (a handle
    // released while the scatter was in flight released only the wants counted before it).
    return items.map(({ key }) => this.futures.acquire(key, 'finished'));
  }

  /**
   * Copies the results of `futures` to more worker processes, until `n` of them (at most all there are) hold
   * each; resolves with how many worker processes hold each key (0 for a result the scheduler keeps itself).
   * The copies move worker to worker: the scheduler only orders them. Finished futures only.
   */
  async replicate(futures: Future[] | Future, n: number): Promise<Record<string, number>> {
    this.checkOpen();
    const list = Array.isArray(futures) ? futures : [futures];
    for (const f of list) if (!isFuture(f)) throw new InvalidArgumentError(`replicate takes futures, got ${describeType(f)}`);
    if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError(`replicate: n is how many workers should hold each result, an integer >= 1 (got ${String(n)})`);
    return (await this.conn.request({ op: 'replicate', keys: list.map((f) => f.key), n })) as Record<string, number>;
  }

  /** The result of one future; raises its error. */
  async gather<T>(future: Future<T>, timeoutMs?: number): Promise<T>;
  /** Results of `futures` in order, keeping the array's or tuple's shape; raises the first error among them. */
  async gather<const F extends readonly Future<unknown>[]>(futures: F, timeoutMs?: number): Promise<{ -readonly [K in keyof F]: FutureResult<F[K]> }>;
  async gather(futures: Future[] | Future, timeoutMs?: number): Promise<unknown> {
    this.checkOpen();
    const single = !Array.isArray(futures);
    const list = single ? [futures as Future] : (futures as Future[]);
    const limit = checkTimeout('gather', timeoutMs);
    for (const f of list) {
      if (!isFuture(f)) throw new InvalidArgumentError(`gather takes futures, got ${describeType(f)}`);
      f.checkUsable();
    }
    const values = await resultsOf(list, this.futures, limit, () => `gather: ${list.filter((f) => !f.done()).length} of ${list.length} futures did not finish within ${limit} ms`);
    return single ? values[0] : values;
  }

  /** Submits a graph `{ key: [fnOrRef, ...args] }`; returns futures for `keys` (default: every key). */
  submitGraph(graph: TaskGraph, keys?: string[]): Future[] {
    this.checkOpen();
    return this.tasks.submitGraph(graph, keys);
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
    return this.futures.byKey(key);
  }

  // ------------------------------------------------------------ channels

  /**
   * Opens (and subscribes to) a channel; synchronous, the replay arrives in the background. With
   * `create: false` a channel that does not exist is not created: the returned one ends at once as deleted.
   */
  channel<T = unknown>(name: string, opts?: { maxlen?: number | null; create?: boolean }): Channel<T>;
  channel(name: string, opts: { maxlen?: number | null; create?: boolean } = {}): Channel {
    this.checkOpen();
    return this.chans.open(name, opts);
  }

  // ------------------------------------------------------------ observing

  /** Every channel the scheduler holds. */
  async channels(): Promise<ChannelInfo[]> {
    return (await this.conn.request({ op: 'channels' })) as ChannelInfo[];
  }

  /** The scheduler's address, workers and task counts by status. */
  async schedulerInfo(): Promise<SchedulerInfo> {
    return (await this.conn.request({ op: 'info' })) as SchedulerInfo;
  }

  /** What happened to `key`: its transitions, oldest first. */
  async story(key: string): Promise<StoryEntry[]> {
    return (await this.conn.request({ op: 'story', key })) as StoryEntry[];
  }

  /** Batched task, channel and worker changes, as they happen. */
  events(): AsyncIterable<SchedulerEvent[]> {
    return this.feed.iterable();
  }

  /** Closes the client: the scheduler releases everything it wanted; its channels' iterations end. */
  async close(): Promise<void> {
    this.conn.close();
  }

  toString(): string {
    return `<Client ${this.id}: ${this.address || 'connecting'}>`;
  }

  private receive(msg: SchedulerMessage): void {
    switch (msg.op) {
      case 'status':
        return this.futures.updateStatus(msg);
      case 'items':
      case 'replay':
      case 'chan-stop':
      case 'chan-deleted':
        return this.chans.receive(msg);
      case 'events':
        return this.feed.deliver(msg.events);
    }
  }

  private checkOpen(): void {
    if (this.conn.closed) throw new ClientClosedError();
  }
}

/** An array whose iteration is the built-in one (so reading it by index gives the same items). */
function isPlainArray(value: unknown): boolean {
  return Array.isArray(value) && (value as unknown[])[Symbol.iterator] === ARRAY_ITERATOR;
}
const ARRAY_ITERATOR = Array.prototype[Symbol.iterator];

function isMessagePort(value: unknown): value is MessagePort {
  return typeof value === 'object' && value !== null && typeof (value as MessagePort).postMessage === 'function' && typeof (value as MessagePort).on === 'function' && !('connectInThread' in value);
}
