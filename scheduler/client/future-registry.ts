/**
 * The client's futures: one FutureState per key, shared by every handle on it, and the want-counts behind
 * them. The scheduler counts one want of this client per submit, want, scatter, graph key or channel
 * delivery; the state collects those it was given (`acquired`) and takes them back at once when its last
 * holder (a handle or a channel window) lets go, by `release()` or by garbage collection of the handle.
 */
import type { ClientMessage, FutureStatus, SchedulerMessage, WireItem } from '../protocol/messages';
import { LazyKeyTable } from '../util/key-table';
import type { Connection } from './connection';
import { isGatherWhere, type DirectGather } from './direct';
import { Future, FutureState, type FutureHost } from './future';

export class FutureRegistry implements FutureHost {
  /**
   * The state of each key this client follows; looked up mostly in the order keys were made, and a fresh
   * key's state often let go of before anything looks it up out of order (see LazyKeyTable).
   */
  private readonly states = new LazyKeyTable<FutureState>();
  /**
   * Garbage collection of handles. Each handle is registered with a slot number as its held value and no
   * unregister token: a token costs the registry an entry in its token table per handle (insert at
   * registration, lookup and removal at `release()`), about as much again as the registration itself, paid
   * 100,000 times by a `map` of 100,000 items. `slotStates[slot]` is the state the handle in that slot still
   * holds; `release()` empties it, so that the handle's later collection releases nothing. A slot is reused
   * only once its handle was collected (its callback came), so a callback never finds another handle's state.
   */
  private readonly slotStates: (FutureState | undefined)[] = [];
  private readonly freeSlots: number[] = [];
  private readonly finalizer = new FinalizationRegistry<number>((slot) => this.collected(slot));

  constructor(
    private readonly conn: Connection,
    /** Fetches results from the worker processes holding them (a ws:// client not connected with direct: 'never'). */
    private readonly direct?: DirectGather,
  ) {}

  get closed(): boolean {
    return this.conn.closed;
  }

  hold(): () => void {
    return this.conn.hold();
  }

  has(key: string): boolean {
    return this.states.has(key);
  }

  /** A handle on the state this client already follows for `key`, unless it must be defined anew (a submit goes out). */
  followed(key: string): Future | undefined {
    const s = this.states.get(key);
    if (!s || s.byKeyOnly || s.cancelledHere || s.status === 'cancelled' || s.status === 'lost') return undefined;
    return new Future(this, s);
  }

  /** A handle for a want the scheduler counted for this client (a submit, a scatter, a graph key): on the state held now, or a new one. */
  acquire(key: string, status: FutureStatus): Future {
    let state = this.states.get(key);
    if (!state) state = this.create(key, status);
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

  /**
   * `acquire` for a key nobody ever named before (a fresh unique token of a `pure: false` task): no lookup,
   * the one cost per task of a `map` it could skip.
   */
  acquireNew(key: string): Future {
    const state = this.create(key, 'pending');
    state.acquired = 1;
    return new Future(this, state);
  }

  /** A new state for `key`, in `states` until its last holder lets go. */
  private create(key: string, status: FutureStatus): FutureState {
    const state = new FutureState(key, status);
    state.listed = true;
    this.states.add(state);
    return state;
  }

  /** A handle on `key` by name: the state held now, or a placeholder that wants the key. */
  byKey(key: string): Future {
    let state = this.states.get(key);
    if (!state) {
      state = this.create(key, 'pending');
      state.byKeyOnly = true;
      this.conn.outbox.want(key);
      state.acquired++;
    }
    return new Future(this, state);
  }

  /** The scheduler counted a want of `key` that no handle asked for: the state held now keeps it, or it goes back. */
  absorbWant(key: string): void {
    const state = this.states.get(key);
    if (state) state.acquired++;
    else this.conn.outbox.release(key, 1);
  }

  /** A channel item arrived: a future's state, now also held by the channel's window. */
  adoptItem(item: WireItem): FutureState | undefined {
    if (!('k' in item)) return undefined;
    // The scheduler counted one want of this client for the delivery.
    let state = this.states.get(item.k);
    if (!state) {
      state = this.create(item.k, item.s ?? 'pending');
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

  /** A new owning handle on `state`. */
  ownedFuture(state: FutureState): Future {
    return new Future(this, state);
  }

  /** The scheduler's `status` message. */
  updateStatus(msg: Extract<SchedulerMessage, { op: 'status' }>): void {
    for (let i = 0; i < msg.keys.length; i++) this.states.get(msg.keys[i])?.update(msg.s[i], msg.e?.[i] ?? undefined);
  }

  /** After a reconnect: exactly the wants this client holds. */
  resyncMessage(): ClientMessage {
    const keys: string[] = [];
    const n: number[] = [];
    for (const state of this.states.values()) {
      const key = state.key;
      if (state.acquired === 0) continue;
      keys.push(key);
      n.push(state.acquired);
    }
    return { op: 'resync', keys, n };
  }

  /** The client closed: every waiter wakes (and finds it closed). */
  wakeAll(): void {
    for (const state of this.states.values()) state.wake();
  }

  /**
   * The values of `keys`. `wait`: asked before they all finished; the scheduler answers once they settle
   * (the request keeps nothing alive: whoever asked waits for the statuses too, and holds the process).
   */
  async gatherKeys(keys: string[], wait = false): Promise<unknown[]> {
    const reply = await (wait ? this.conn.request({ op: 'gather', keys, wait }, false) : this.conn.request({ op: 'gather', keys }));
    // Only a client that said `direct` is told where results are instead of given them.
    if (!this.direct || !isGatherWhere(reply)) return reply as unknown[];
    return this.direct.complete(reply, keys, (again) => this.conn.request({ op: 'gather', keys: again, relay: true }) as Promise<unknown[]>);
  }

  /**
   * This client's handles on `keys` read cancelled from now on and stop following the key — also when
   * others keep the task running, or submit it again — until this client itself submits, wants or
   * receives the key again.
   */
  async cancelKeys(keys: string[], force: boolean): Promise<void> {
    await this.conn.request(force ? { op: 'cancel', keys, force } : { op: 'cancel', keys });
    for (const key of keys) {
      const state = this.states.get(key);
      if (!state) continue;
      state.update('cancelled', undefined);
      state.cancelledHere = true;
    }
  }

  /** Watches `future` for garbage collection (which lets go of `state`); returns the handle's slot. */
  registerHandle(future: Future, state: FutureState): number {
    const slot = this.freeSlots.length > 0 ? (this.freeSlots.pop() as number) : this.slotStates.length;
    this.slotStates[slot] = state;
    this.finalizer.register(future, slot);
    return slot;
  }

  /** The handle in `slot` was released: its collection must not let go of its state again. */
  unregisterHandle(slot: number): void {
    this.slotStates[slot] = undefined;
  }

  /** The handle in `slot` was collected: it lets go of its state unless it was released before. */
  private collected(slot: number): void {
    const state = this.slotStates[slot];
    this.slotStates[slot] = undefined;
    this.freeSlots.push(slot);
    if (state !== undefined) this.releaseHandle(state);
  }

  /** Handles watched for garbage collection now (released or not, until collected): for tests. */
  get watchedHandles(): number {
    return this.slotStates.length - this.freeSlots.length;
  }

  /** Slots ever made (the most handles watched at once): for tests. */
  get slotCount(): number {
    return this.slotStates.length;
  }

  /** A holder let go of `state`; the last one takes back every want the state collected. */
  releaseHandle(state: FutureState): void {
    if (--state.refs > 0) return;
    if (state.listed) {
      state.listed = false;
      this.states.remove(state);
    }
    if (state.acquired > 0 && !this.conn.closed) this.conn.outbox.release(state.key, state.acquired);
    state.acquired = 0;
  }
}
