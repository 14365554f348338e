/**
 * The model behind the Channels tree, without `vscode`: scheduler → channels → items, built from what the
 * scheduler reports (`SchedulerEvent` batches, `channels()`, `schedulerInfo()`) and from the items a channel
 * subscription holds. Node objects keep their identity while they live, so the tree can refresh exactly the
 * ones that changed; changes reach listeners through a `Batcher` (at most ~10 per second). A channel shows
 * its newest `window` items, newest first, and one "… N more" node for the rest.
 */
import type { ChannelInfo, Disposable, FutureStatus, SchedulerEvent, SchedulerInfo } from '../scheduler';
import { Batcher, DEFAULT_MIN_INTERVAL_MS, previewOf, realTimers, type Timers } from './view-model-batch';

/** How the extension is connected. */
export type ConnectionState = { kind: 'local' | 'remote'; address: string } | undefined;

/** The root: the scheduler the extension talks to. */
export interface SchedulerNode {
  readonly kind: 'scheduler';
  /** Changes with the connection, so VS Code treats a new scheduler as a new (expanded) node. */
  id: string;
  connection: ConnectionState;
  /** The address the scheduler reports about itself (for a local one, 'local' or its listening address). */
  reportedAddress: string | undefined;
  workers: number;
  threads: number;
}

/** A channel. */
export interface ChannelNode {
  readonly kind: 'channel';
  readonly id: string;
  readonly name: string;
  /** Appends ever made, evicted ones included. */
  count: number;
  /** Items the scheduler retains. */
  length: number;
  maxlen: number | null;
  stopped: boolean;
}

/** One item of a channel: a future (key, status) or a value. */
export interface ItemNode {
  readonly kind: 'item';
  readonly id: string;
  readonly channel: string;
  /** Position among all appends to the channel. */
  readonly index: number;
  readonly key: string | undefined;
  readonly value: unknown;
  /** Short text of the value (values only). */
  readonly preview: string | undefined;
  status: FutureStatus | undefined;
  /** When the item was first seen, or its status last changed (ms). */
  since: number;
}

/** Stands for the older items a channel has beyond the shown window. */
export interface MoreNode {
  readonly kind: 'more';
  readonly id: string;
  readonly channel: string;
  hidden: number;
}

export type TreeNode = SchedulerNode | ChannelNode | ItemNode | MoreNode;

/** An item as a channel subscription holds it. */
export type ItemSnapshot = { key: string; status: FutureStatus } | { value: unknown };

/** What listeners get: the nodes to refresh, or 'all' when the whole tree must be read again. */
export type TreeChange = ReadonlySet<TreeNode> | 'all';

/** Options of the view model. */
export interface TreeViewModelOptions {
  /** Newest items shown per channel (default 200). */
  window?: number;
  /** Least time between two updates to listeners (default 100 ms). */
  minIntervalMs?: number;
  timers?: Timers;
}

const ALL = Symbol('all');

interface ChannelEntry {
  node: ChannelNode;
  /** Items of the shown window by their index. */
  items: Map<number, ItemNode>;
  more: MoreNode;
  /** The newest items, newest first, as last built. */
  shown: ItemNode[];
}

/** The Channels tree model. */
export class TreeViewModel implements Disposable {
  readonly window: number;
  readonly root: SchedulerNode = { kind: 'scheduler', id: 'scheduler', connection: undefined, reportedAddress: undefined, workers: 0, threads: 0 };
  private readonly channels = new Map<string, ChannelEntry>();
  /** Item nodes of shown futures by key (one key may sit in several channels). */
  private readonly byKey = new Map<string, Set<ItemNode>>();
  private readonly workers = new Map<string, number>();
  private readonly listeners = new Set<(change: TreeChange) => void>();
  private readonly batcher: Batcher<TreeNode | typeof ALL>;
  private readonly timers: Timers;
  private sortedChannels: ChannelNode[] | undefined;

  constructor(options: TreeViewModelOptions = {}) {
    this.window = options.window ?? 200;
    this.timers = options.timers ?? realTimers;
    this.batcher = new Batcher((batch) => this.emit(batch), options.minIntervalMs ?? DEFAULT_MIN_INTERVAL_MS, this.timers);
  }

  /** Calls `listener` with each batch of changes. */
  onDidChange(listener: (change: TreeChange) => void): Disposable {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  /** Sends pending changes now instead of at the next tick. */
  flush(): void {
    this.batcher.flushNow();
  }

  /** The children of `node`; the root (the scheduler node) when `node` is undefined. */
  children(node?: TreeNode): TreeNode[] {
    if (node === undefined) return [this.root];
    if (node.kind === 'scheduler') {
      this.sortedChannels ??= [...this.channels.values()].map((e) => e.node).sort((a, b) => a.name.localeCompare(b.name));
      return this.sortedChannels;
    }
    if (node.kind === 'channel') {
      const entry = this.channels.get(node.name);
      if (!entry) return [];
      return entry.more.hidden > 0 ? [...entry.shown, entry.more] : entry.shown;
    }
    return [];
  }

  /** The parent of `node` (VS Code's reveal needs it). */
  parent(node: TreeNode): TreeNode | undefined {
    if (node.kind === 'scheduler') return undefined;
    if (node.kind === 'channel') return this.root;
    return this.channels.get(node.channel)?.node;
  }

  /** The channel node named `name`, if the model has it. */
  channel(name: string): ChannelNode | undefined {
    return this.channels.get(name)?.node;
  }

  /** The item nodes of `key` currently shown. */
  itemsOf(key: string): ItemNode[] {
    return [...(this.byKey.get(key) ?? [])];
  }

  /** The connection changed: everything known about the old scheduler goes. */
  setConnection(connection: ConnectionState): void {
    this.root.connection = connection;
    this.root.id = connection === undefined ? 'scheduler' : `scheduler:${connection.kind}:${connection.address}`;
    this.root.reportedAddress = undefined;
    this.root.workers = 0;
    this.root.threads = 0;
    this.workers.clear();
    this.channels.clear();
    this.byKey.clear();
    this.sortedChannels = undefined;
    this.batcher.add(ALL);
  }

  /** Workers and address from `schedulerInfo()`. */
  applyInfo(info: SchedulerInfo): void {
    this.root.reportedAddress = info.address;
    this.workers.clear();
    for (const w of info.workers) this.workers.set(w.id, w.threads);
    this.updateWorkerTotals();
  }

  /**
   * Every channel from `channels()`: adds and updates them, removes those no longer there. Channels in
   * `newer` changed (by events) after the list was asked for, so the list's word on them is stale.
   */
  applyChannels(list: readonly ChannelInfo[], newer: ReadonlySet<string> = new Set()): void {
    const names = new Set(list.map((c) => c.name));
    for (const name of [...this.channels.keys()]) if (!names.has(name) && !newer.has(name)) this.removeChannel(name);
    for (const info of list) if (!newer.has(info.name)) this.upsertChannel(info);
  }

  /** One batch of scheduler events. */
  applyEvents(events: readonly SchedulerEvent[]): void {
    let workersChanged = false;
    for (const e of events) {
      switch (e.type) {
        case 'task': {
          const nodes = this.byKey.get(e.key);
          if (nodes === undefined) break;
          for (const n of nodes) {
            if (n.status === e.status) continue;
            n.status = e.status;
            n.since = this.timers.now();
            this.batcher.add(n);
          }
          break;
        }
        case 'channel':
          if (e.deleted) this.removeChannel(e.name);
          else this.upsertChannel(e);
          break;
        case 'worker':
          if (e.state === 'joined') this.workers.set(e.id, e.threads);
          else this.workers.delete(e.id);
          workersChanged = true;
          break;
      }
    }
    if (workersChanged) this.updateWorkerTotals();
  }

  /**
   * The items a subscription to `channel` holds now (oldest first, the last one being append number
   * `count - 1`). Items that stay keep their nodes; the channel refreshes only when its window moved.
   */
  setItems(channel: string, items: readonly ItemSnapshot[], count: number): void {
    const entry = this.channels.get(channel);
    if (!entry) return;
    if (count > entry.node.count) {
      entry.node.count = count;
      this.batcher.add(entry.node);
    }
    const take = Math.min(items.length, this.window);
    const firstIndex = count - items.length;
    const kept = new Map<number, ItemNode>();
    const shown: ItemNode[] = [];
    let moved = false;
    const now = this.timers.now();
    for (let i = items.length - 1; i >= items.length - take; i--) {
      const index = firstIndex + i;
      const snap = items[i];
      let node = entry.items.get(index);
      if (node !== undefined && node.key !== ('key' in snap ? snap.key : undefined)) node = undefined; // a different channel of that name
      if (node === undefined) {
        moved = true;
        node = 'key' in snap
          ? { kind: 'item', id: `item:${channel}:${index}`, channel, index, key: snap.key, value: undefined, preview: undefined, status: snap.status, since: now }
          : { kind: 'item', id: `item:${channel}:${index}`, channel, index, key: undefined, value: snap.value, preview: previewOf(snap.value), status: undefined, since: now };
        if (node.key !== undefined) this.indexKey(node);
      } else if ('key' in snap && node.status !== snap.status) {
        node.status = snap.status;
        node.since = now;
        this.batcher.add(node);
      }
      kept.set(index, node);
      shown.push(node);
    }
    for (const [index, node] of entry.items) {
      if (!kept.has(index)) {
        moved = true;
        this.unindexKey(node);
      }
    }
    entry.items = kept;
    entry.shown = shown;
    const hidden = Math.max(0, entry.node.count - shown.length);
    if (hidden !== entry.more.hidden) {
      entry.more.hidden = hidden;
      moved = true;
    }
    if (moved) this.batcher.add(entry.node);
  }

  dispose(): void {
    this.batcher.dispose();
    this.listeners.clear();
  }

  private upsertChannel(info: ChannelInfo): void {
    const entry = this.channels.get(info.name);
    if (entry === undefined) {
      const node: ChannelNode = { kind: 'channel', id: `channel:${info.name}`, name: info.name, count: info.count, length: info.length, maxlen: info.maxlen, stopped: info.stopped };
      this.channels.set(info.name, { node, items: new Map(), shown: [], more: { kind: 'more', id: `more:${info.name}`, channel: info.name, hidden: info.count } });
      this.sortedChannels = undefined;
      this.batcher.add(this.root);
      return;
    }
    const n = entry.node;
    if (n.count === info.count && n.length === info.length && n.maxlen === info.maxlen && n.stopped === info.stopped) return;
    const hidden = Math.max(0, info.count - entry.shown.length);
    n.count = Math.max(n.count, info.count);
    n.length = info.length;
    n.maxlen = info.maxlen;
    n.stopped = info.stopped;
    entry.more.hidden = hidden;
    this.batcher.add(n);
  }

  private removeChannel(name: string): void {
    const entry = this.channels.get(name);
    if (!entry) return;
    for (const node of entry.items.values()) this.unindexKey(node);
    this.channels.delete(name);
    this.sortedChannels = undefined;
    this.batcher.add(this.root);
  }

  private indexKey(node: ItemNode): void {
    const key = node.key as string;
    let set = this.byKey.get(key);
    if (set === undefined) this.byKey.set(key, (set = new Set()));
    set.add(node);
  }

  private unindexKey(node: ItemNode): void {
    if (node.key === undefined) return;
    const set = this.byKey.get(node.key);
    if (set === undefined) return;
    set.delete(node);
    if (set.size === 0) this.byKey.delete(node.key);
  }

  private updateWorkerTotals(): void {
    let threads = 0;
    for (const t of this.workers.values()) threads += t;
    if (this.root.workers === this.workers.size && this.root.threads === threads) return;
    this.root.workers = this.workers.size;
    this.root.threads = threads;
    this.batcher.add(this.root);
  }

  /**
   * Refreshing a node refreshes what is under it, so a change below a node also being refreshed is dropped,
   * and so is a change of a node that is no longer in the tree.
   */
  private emit(batch: Set<TreeNode | typeof ALL>): void {
    let change: TreeChange;
    if (batch.has(ALL)) change = 'all';
    else {
      const out = new Set<TreeNode>();
      const rootChanged = batch.has(this.root);
      for (const n of batch as Set<TreeNode>) {
        if (n.kind === 'scheduler') out.add(n);
        else if (rootChanged) continue;
        else if (n.kind === 'channel') {
          if (this.channels.get(n.name)?.node === n) out.add(n);
        } else if (n.kind === 'item') {
          const entry = this.channels.get(n.channel);
          if (entry !== undefined && !batch.has(entry.node) && entry.items.get(n.index) === n) out.add(n);
        }
      }
      if (out.size === 0) return;
      change = out;
    }
    for (const listener of [...this.listeners]) listener(change);
  }
}
