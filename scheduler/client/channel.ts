/**
 * Channels: a changing, ordered stream of futures and values shared by every client of a scheduler.
 * The scheduler orders appends; each client keeps a local window of the newest items.
 */
import { inspect } from 'node:util';
import { ChannelStoppedError, ChannelDeletedError, ClientClosedError } from '../protocol/errors';
import { isFuture, type Future, type FutureState, type KeepAlive } from './future';
import type { FutureStatus, WireItem } from '../protocol/messages';
import { Ring } from '../util/ring';
import { encodeValue } from './encode';

// `zip` reads channels only through their public iteration; its own module, re-exported where it was.
export { zip } from './zip';

/** An item of a channel: a Future, or a plain value. */
export type ChannelItem = Future | unknown;

/** What `Channel.pull` answers when no item is there yet, and when the iteration is over. */
const PULL_WAIT = -1;
const PULL_END = -2;

/** What `chan.snapshot()` says of one retained item: a future's key and status, or a value. */
export type ChannelSnapshotItem = { key: string; status: FutureStatus } | { value: unknown };

/** The part of Client a Channel needs. */
export interface ChannelHost extends KeepAlive {
  readonly closed: boolean;
  /** `epoch`: the incarnation this handle subscribed to, once known. */
  postAppend(channel: string, item: WireItem, epoch: number | undefined): void;
  request(msg: { op: 'flush'; channel: string } | { op: 'stop' | 'delete'; channel: string; epoch?: number }): Promise<unknown>;
  unsubscribe(channel: Channel): void;
  /** A future item arrived: the client's state of its key, now also held by this channel's window. */
  adoptItem(item: WireItem): FutureState | undefined;
  /** The window let go of a future item. */
  dropItem(state: FutureState): void;
  /** A new owning handle on `state`. */
  ownedFuture(state: FutureState): Future;
}

/**
 * A named, ordered stream of futures and values shared by every client of a scheduler. `T` is the type of
 * its items as appended (`Channel<Future<number>>`, `Channel<{ step: number }>`); `unknown` by default.
 * `for await (const item of chan)` yields the retained items, then new ones, until the channel is stopped.
 */
export class Channel<T = unknown> implements AsyncIterable<T> {
  /** Retained items, oldest first: FutureState for futures, values as they are. */
  private readonly window = new Ring<unknown>();
  private readonly isFutureAt = new Ring<boolean>();
  /**
   * The handle given out for each retained future, made when first asked for: `chan.futures` and iterations
   * hand out the same Future for the same item (stable identity, one handle per item rather than per call).
   */
  private readonly handles = new Ring<Future | undefined>();
  /** Position of each retained item in the channel's log (ascending; gaps where items were evicted while away). */
  private readonly positions = new Ring<number>();
  private total = 0;
  private schedulerMaxlen: number | null | undefined;
  private appendsClosed = false;
  private stopReceived = false;
  private deleted = false;
  private closedLocally = false;
  /** Set when the connection was lost for good: iterations throw it. */
  private failure: Error | undefined;
  private wakers: (() => void)[] = [];
  private resolveReady!: () => void;
  /** Resolves once the scheduler's history replay arrived. */
  readonly ready: Promise<void>;
  /** @internal the incarnation of the channel this client follows (from the replay): resumes ask for it. */
  epoch: number | undefined;

  /** @internal */
  constructor(
    private readonly host: ChannelHost,
    /** The channel's name, the same for every client of the scheduler. */
    readonly name: string,
    private readonly localMaxlen: number | null,
  ) {
    this.ready = new Promise<void>((r) => (this.resolveReady = r));
    // Someone may be awaiting `ready` with nothing else to do: the connection stays up until it resolves.
    const letGo = host.hold();
    void this.ready.then(letGo);
  }

  /** @internal opened with `create: false`: never creates the channel, also when resubscribing. */
  observeOnly = false;

  /** @internal the maxlen this client asked for (null: none). */
  get requestedMaxlen(): number | null {
    return this.localMaxlen;
  }

  /** This client's window size: its own maxlen, else the scheduler's; null when unbounded. */
  get maxlen(): number | null {
    return this.localMaxlen ?? this.schedulerMaxlen ?? null;
  }

  /** True once the channel was stopped (by anyone) or deleted. */
  get stopped(): boolean {
    return this.appendsClosed || this.stopReceived || this.deleted;
  }

  /** Appends ever seen, evicted ones included. */
  get count(): number {
    return this.total;
  }

  /** Items retained in this client's window. */
  get length(): number {
    return this.window.length;
  }

  /** Snapshot of the retained items (Futures or values), oldest first. Every Future is an owning handle. */
  get futures(): T[] {
    const out: T[] = [];
    for (let i = 0; i < this.window.length; i++) out.push(this.itemAt(i) as T);
    return out;
  }

  /**
   * The retained items as plain data, oldest first: `{ key, status }` for a future, `{ value }` for a value.
   * For observers (views, dashboards): unlike `futures`, it takes no handles, so it keeps nothing alive.
   */
  snapshot(): ChannelSnapshotItem[] {
    const out: ChannelSnapshotItem[] = [];
    for (let i = 0; i < this.window.length; i++) {
      const v = this.window.at(i);
      if (this.isFutureAt.at(i)) out.push({ key: (v as FutureState).key, status: (v as FutureState).status });
      else out.push({ value: v });
    }
    return out;
  }

  /** Same snapshot as `futures`, named for channels that carry values. */
  get data(): T[] {
    return this.futures;
  }

  /** Appends a future or a structured value. Throws ChannelStoppedError once stopped. */
  append(item: T): void {
    if (this.deleted) throw new ChannelDeletedError(this.name);
    if (this.stopped) throw new ChannelStoppedError(this.name);
    if (this.closedLocally || this.host.closed) throw new ClientClosedError(`channel '${this.name}' was closed by this client`);
    if (isFuture(item)) {
      item.checkUsable();
      this.host.postAppend(this.name, { k: item.key }, this.epoch);
    } else {
      this.host.postAppend(this.name, { v: encodeValue(item, `an item of channel '${this.name}'`) }, this.epoch);
    }
  }

  /** Resolves when every append of this client so far is in the channel (and in this client's window). */
  async flush(): Promise<void> {
    await this.host.request({ op: 'flush', channel: this.name });
  }

  /** Stops the channel for everyone: iterations end, later appends are refused. */
  async stop(): Promise<void> {
    this.appendsClosed = true;
    await this.host.request(this.epoch === undefined ? { op: 'stop', channel: this.name } : { op: 'stop', channel: this.name, epoch: this.epoch });
  }

  /** Unsubscribes this client: its iterations end and its window is dropped. */
  close(): void {
    if (this.closedLocally) return;
    this.closedLocally = true;
    this.host.unsubscribe(this);
    this.dropWindow();
    this.resolveReady();
    this.wake();
  }

  /** Removes the channel for everyone, releasing its futures. */
  async delete(): Promise<void> {
    await this.host.request(this.epoch === undefined ? { op: 'delete', channel: this.name } : { op: 'delete', channel: this.name, epoch: this.epoch });
  }

  /**
   * Retained items first, then new ones as they come; ends on stop or delete (and when this client closes
   * the channel or itself). A connection lost for good makes it throw ConnectionError.
   */
  [Symbol.asyncIterator](): AsyncIterator<T, void, undefined> {
    return new ChannelIterator<T>(this, this.host);
  }

  /**
   * @internal the window index of the next item at or after log position `cursor` (read it with
   * `positionAt` and `itemAt`), or PULL_WAIT / PULL_END. A number rather than an object: an iteration asks
   * once per item, and a subscriber process of hundreds of clients pays for every allocation in GC.
   */
  pull(cursor: number): number {
    if (this.closedLocally) return PULL_END;
    const i = this.indexAtOrAfter(cursor);
    if (i < this.window.length) return i;
    if (this.failure) throw this.failure;
    if (this.stopReceived || this.deleted || this.host.closed) return PULL_END;
    return PULL_WAIT;
  }

  /** @internal the log position of the item at window index `i` (which exists). */
  positionAt(i: number): number {
    return this.positions.at(i) as number;
  }

  /** @internal resolves at the next change (an item, stop, delete, close). */
  changed(): { promise: Promise<void>; cancel: () => void } {
    let wake!: () => void;
    const promise = new Promise<void>((r) => (wake = r));
    this.wakers.push(wake);
    return {
      promise,
      cancel: () => {
        const i = this.wakers.indexOf(wake);
        if (i >= 0) this.wakers.splice(i, 1);
        wake();
      },
    };
  }

  /** @internal the position of the oldest retained item (the count when none is retained). */
  get firstPosition(): number {
    return this.window.length > 0 ? (this.positions.at(0) as number) : this.total;
  }

  /** @internal the scheduler's replay of retained items. */
  receiveReplay(start: number, items: WireItem[], stopped: boolean, maxlen: number | null, epoch: number): void {
    this.schedulerMaxlen = maxlen;
    this.epoch = epoch;
    if (start > this.total) this.total = start;
    this.receiveItems(start, items);
    if (stopped) this.stopReceived = true;
    this.resolveReady();
    this.wake();
  }

  /** @internal new appends, `start` being the log position of the first. */
  receiveItems(start: number, items: WireItem[]): void {
    if (this.closedLocally) return;
    for (let i = 0; i < items.length; i++) {
      const position = start + i;
      const state = this.host.adoptItem(items[i]);
      if (position < this.total) {
        // Already seen (a replay overlapping what arrived, or evicted from this window): only the status may be newer.
        if (state) this.host.dropItem(state);
        continue;
      }
      if (state) {
        this.window.push(state);
        this.isFutureAt.push(true);
        this.handles.push(undefined);
      } else {
        this.window.push((items[i] as { v: unknown }).v);
        this.isFutureAt.push(false);
        this.handles.push(undefined);
      }
      this.positions.push(position);
      this.total = position + 1;
      const limit = this.maxlen;
      while (limit !== null && this.window.length > limit) this.evictOne();
    }
    this.wake();
  }

  /** @internal */
  receiveStop(): void {
    this.stopReceived = true;
    this.wake();
  }

  /** @internal */
  receiveDeleted(): void {
    this.deleted = true;
    this.dropWindow();
    this.resolveReady();
    this.wake();
  }

  /** @internal the client closed; `failure` when its connection was lost rather than closed on purpose. */
  clientClosed(failure?: Error): void {
    this.failure = failure;
    this.resolveReady();
    this.wake();
  }

  /** Index in the window of the first item at or after log position `position`. */
  private indexAtOrAfter(position: number): number {
    const n = this.window.length;
    if (n === 0) return 0;
    // Positions are consecutive unless items were evicted while this client was away: the guess of a
    // window without gaps is almost always right, and checked.
    const guess = position - (this.positions.at(0) as number);
    if (guess <= 0) return 0;
    if (guess < n && this.positions.at(guess) === position) return guess;
    let lo = 0;
    let hi = this.window.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.positions.at(mid) as number) < position) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** @internal the item at window index `i`: a value, or this window's handle on a future. */
  itemAt(i: number): ChannelItem {
    const v = this.window.at(i);
    if (!this.isFutureAt.at(i)) return v;
    let handle = this.handles.at(i);
    if (handle === undefined || handle.isReleased) this.handles.set(i, (handle = this.host.ownedFuture(v as FutureState)));
    return handle;
  }

  private evictOne(): void {
    const v = this.window.shift();
    const wasFuture = this.isFutureAt.shift();
    this.handles.shift(); // whoever holds it keeps it; otherwise it is collected and released
    this.positions.shift();
    if (wasFuture) this.host.dropItem(v as FutureState);
  }

  private dropWindow(): void {
    while (this.window.length > 0) this.evictOne();
  }

  private wake(): void {
    const ws = this.wakers;
    this.wakers = [];
    for (const w of ws) w();
  }

  /** `<Channel name: n items>`. */
  toString(): string {
    return `<Channel ${this.name}: ${this.length} items>`;
  }

  /** How Node's `util.inspect` (and the notebook) shows the channel: as `toString()`. */
  [inspect.custom](): string {
    return this.toString();
  }

  /** `'Channel'`, for `Object.prototype.toString`. */
  get [Symbol.toStringTag](): string {
    return 'Channel';
  }
}

/**
 * One `for await` over a channel: yields each item of the log at most once and in log order, from the oldest
 * retained when it started; items evicted from the window before it got to them are skipped. `return()`
 * ends it at once, also while a `next()` waits.
 */
class ChannelIterator<T> implements AsyncIterator<T, void, undefined> {
  private cursor: number | undefined;
  private finished = false;
  private waiting: { cancel: () => void } | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  /** Steps begun on `chain` and not yet settled. */
  private inFlight = 0;

  constructor(
    private readonly chan: Channel<T>,
    private readonly host: KeepAlive,
  ) {}

  next(): Promise<IteratorResult<T, void>> {
    // The common case of a subscriber reading a window that holds items: no step waits, and the next item
    // is there now. It is taken at once, without the chain of promises a waiting step needs (a subscriber
    // process of hundreds of clients spent about a tenth of its time on those per item).
    if (this.inFlight === 0 && this.cursor !== undefined && !this.finished) {
      let i: number;
      try {
        i = this.chan.pull(this.cursor);
      } catch (err) {
        this.finished = true;
        return Promise.reject(err);
      }
      if (i >= 0) {
        this.cursor = this.chan.positionAt(i) + 1;
        return Promise.resolve({ value: this.chan.itemAt(i) as T, done: false });
      }
    }
    // Calls that do not wait for each other still get consecutive items.
    this.inFlight++;
    const step = this.chain.then(() => this.step()).finally(() => this.inFlight--);
    this.chain = step.catch(() => undefined);
    return step;
  }

  return(): Promise<IteratorResult<T, void>> {
    this.finished = true;
    this.waiting?.cancel();
    return Promise.resolve({ value: undefined, done: true });
  }

  private async step(): Promise<IteratorResult<T, void>> {
    const host = this.host;
    if (this.cursor === undefined) {
      const letGo = host.hold();
      try {
        await this.chan.ready;
      } finally {
        letGo();
      }
      this.cursor = this.chan.firstPosition;
    }
    for (;;) {
      if (this.finished) return { value: undefined, done: true };
      let i: number;
      try {
        i = this.chan.pull(this.cursor);
      } catch (err) {
        this.finished = true;
        throw err;
      }
      if (i === PULL_END) {
        this.finished = true;
        return { value: undefined, done: true };
      }
      if (i >= 0) {
        this.cursor = this.chan.positionAt(i) + 1;
        return { value: this.chan.itemAt(i) as T, done: false };
      }
      const change = this.chan.changed();
      this.waiting = change;
      const letGo = host.hold();
      try {
        await change.promise;
      } finally {
        letGo();
        this.waiting = undefined;
      }
    }
  }
}
