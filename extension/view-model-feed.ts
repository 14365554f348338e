/**
 * Feeds the view models from a connected client, without `vscode`: the client's event stream, a first
 * `channels()` and `schedulerInfo()`, a subscription per channel holding its newest `window` items, and an
 * info poll every few seconds while events come (the scheduler's counts correct what the events imply).
 * Works the same for the local scheduler and a remote one: it only uses the client's observing API.
 */
import type { ChannelInfo, Disposable, SchedulerEvent, SchedulerInfo } from '../scheduler';
import { Batcher, realTimers, type Timers } from './view-model-batch';
import type { ConnectionState, ItemSnapshot, TreeViewModel } from './view-model';
import type { DashboardModel } from './view-model-dashboard';

/** The part of a channel subscription the feed reads. */
export interface ObservedChannel {
  readonly futures: readonly unknown[];
  /** Keys and statuses without taking handles: the sidebar must keep nothing alive. */
  snapshot(): readonly ItemSnapshot[];
  readonly count: number;
  readonly ready?: Promise<void>;
  close(): void;
}

/** The part of `Client` the feed uses. */
export interface ObservedClient {
  events(): AsyncIterable<SchedulerEvent[]>;
  channels(): Promise<ChannelInfo[]>;
  schedulerInfo(): Promise<SchedulerInfo>;
  channel(name: string, opts: { maxlen: number | null; create?: boolean }): ObservedChannel;
}

/** Options of the feed. */
export interface FeedOptions {
  /** Time between `schedulerInfo()` polls while events arrive (default 2000 ms). */
  infoIntervalMs?: number;
  timers?: Timers;
  /** Told about failures of the background reads (they never throw out of the feed). */
  onError?: (what: string, err: unknown) => void;
}

/** Drives a TreeViewModel and a DashboardModel from one client at a time. */
export class SchedulerFeed implements Disposable {
  private client: ObservedClient | undefined;
  private iterator: AsyncIterator<SchedulerEvent[]> | undefined;
  private readonly subscriptions = new Map<string, ObservedChannel>();
  private readonly retries = new Map<string, number>();
  private readonly refresh: Batcher<string>;
  private readonly timers: Timers;
  private readonly infoIntervalMs: number;
  private infoTimer: unknown;
  private eventsSinceInfo = true;
  private generation = 0;
  /** Per `reload` under way: the channels events told about since it asked. */
  private readonly touched = new Set<Set<string>>();

  constructor(
    readonly tree: TreeViewModel,
    readonly dashboard: DashboardModel,
    private readonly options: FeedOptions = {},
  ) {
    this.timers = options.timers ?? realTimers;
    this.infoIntervalMs = options.infoIntervalMs ?? 2000;
    this.refresh = new Batcher((names) => this.readItems(names), 100, this.timers);
  }

  /** Starts following `client` (or nothing), dropping the previous one. */
  follow(client: ObservedClient | undefined, connection: ConnectionState): void {
    this.stop();
    const generation = ++this.generation;
    this.client = client;
    this.tree.setConnection(connection);
    this.dashboard.setConnection(connection);
    if (client === undefined) return;
    void this.pump(client, generation);
    void this.reload();
    this.scheduleInfo(generation);
  }

  /** Reads channels and scheduler info again (the Refresh command). */
  async reload(): Promise<void> {
    const client = this.client;
    if (client === undefined) return;
    const generation = this.generation;
    const newer = new Set<string>();
    this.touched.add(newer);
    try {
      const [channels, info] = await Promise.all([client.channels(), client.schedulerInfo()]);
      if (generation !== this.generation) return;
      this.tree.applyChannels(channels, newer);
      this.tree.applyInfo(info);
      this.dashboard.applyInfo(info);
      const names = new Set(channels.map((c) => c.name));
      for (const name of [...this.subscriptions.keys()]) if (!names.has(name) && !newer.has(name)) this.unsubscribe(name);
      for (const c of channels) this.subscribe(c.name);
    } catch (err) {
      this.options.onError?.('reading the scheduler state', err);
    } finally {
      this.touched.delete(newer);
    }
  }

  /** The subscription the feed holds to `name`, if any (commands read items from it). */
  subscription(name: string): ObservedChannel | undefined {
    return this.subscriptions.get(name);
  }

  /**
   * Every item the scheduler retains in `name` (not only the shown window), with the channel's count: the
   * feed's windowed subscription is swapped for an unbounded one while `read` runs, then restored.
   */
  async readAll<T>(name: string, read: (items: readonly unknown[], count: number) => Promise<T>): Promise<T> {
    const client = this.client;
    if (client === undefined) throw new Error('not connected to a scheduler');
    this.unsubscribe(name);
    const full = client.channel(name, { maxlen: null, create: false });
    try {
      await full.ready;
      return await read(full.futures, full.count);
    } finally {
      full.close();
      if (this.client === client && this.tree.channel(name) !== undefined) this.subscribe(name);
    }
  }

  dispose(): void {
    this.stop();
    this.refresh.dispose();
  }

  private stop(): void {
    this.generation++;
    const it = this.iterator;
    this.iterator = undefined;
    void it?.return?.()?.catch(() => undefined);
    for (const name of [...this.subscriptions.keys()]) this.unsubscribe(name);
    if (this.infoTimer !== undefined) this.timers.clearTimeout(this.infoTimer);
    this.infoTimer = undefined;
    this.client = undefined;
  }

  private async pump(client: ObservedClient, generation: number): Promise<void> {
    const it = client.events()[Symbol.asyncIterator]();
    this.iterator = it;
    try {
      for (;;) {
        const next = await it.next();
        if (next.done || generation !== this.generation) return;
        this.eventsSinceInfo = true;
        this.tree.applyEvents(next.value);
        this.dashboard.applyEvents(next.value);
        for (const e of next.value) {
          if (e.type !== 'channel') continue;
          for (const newer of this.touched) newer.add(e.name);
          if (e.deleted) this.unsubscribe(e.name);
          else if (this.subscribe(e.name)) this.refresh.add(e.name);
        }
      }
    } catch (err) {
      if (generation === this.generation) this.options.onError?.('following scheduler events', err);
    }
  }

  /** Subscribes to `name` unless already done; true when subscribed. */
  private subscribe(name: string): boolean {
    if (this.subscriptions.has(name)) return true;
    const client = this.client;
    if (client === undefined) return false;
    try {
      this.subscriptions.set(name, client.channel(name, { maxlen: this.tree.window, create: false }));
    } catch (err) {
      this.options.onError?.(`subscribing to channel '${name}'`, err);
      return false;
    }
    this.refresh.add(name);
    return true;
  }

  private unsubscribe(name: string): void {
    const chan = this.subscriptions.get(name);
    this.subscriptions.delete(name);
    this.retries.delete(name);
    try {
      chan?.close();
    } catch {
      // closing a subscription of a closed client: nothing left to undo
    }
  }

  /** Copies the subscribed windows of `names` into the tree. */
  private readItems(names: Set<string>): void {
    for (const name of names) {
      const chan = this.subscriptions.get(name);
      if (chan === undefined) continue;
      this.tree.setItems(name, [...chan.snapshot()], chan.count);
      // The scheduler's event may come before our subscription has the items; look again shortly.
      const node = this.tree.channel(name);
      const tries = this.retries.get(name) ?? 0;
      if (node !== undefined && chan.count < node.count && tries < 50) {
        this.retries.set(name, tries + 1);
        this.refresh.add(name);
      } else {
        this.retries.delete(name);
      }
    }
  }

  private scheduleInfo(generation: number): void {
    this.infoTimer = this.timers.setTimeout(() => {
      if (generation !== this.generation) return;
      const client = this.client;
      if (client !== undefined && this.eventsSinceInfo) {
        this.eventsSinceInfo = false;
        client.schedulerInfo().then(
          (info) => {
            if (generation !== this.generation) return;
            this.tree.applyInfo(info);
            this.dashboard.applyInfo(info);
          },
          (err: unknown) => this.options.onError?.('reading scheduler info', err),
        );
      }
      this.scheduleInfo(generation);
    }, this.infoIntervalMs);
  }
}
