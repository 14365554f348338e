/**
 * The client's futures: one FutureState per key, shared by every handle on it, and the want-counts behind
 * them. The scheduler counts one want of this client per submit, want, scatter, graph key or channel
 * delivery; the state collects those it was given (`acquired`) and takes them back at once when its last
 * holder (a handle or a channel window) lets go, by `release()` or by garbage collection of the handle.
 */
import type { ClientMessage, FutureStatus, SchedulerMessage, WireItem } from '../protocol/messages';
import type { Connection } from './connection';
import { isGatherWhere, type DirectGather } from './direct';
import { Future, FutureState, type FutureHost } from './future';

export class FutureRegistry implements FutureHost {
  private readonly states = new Map<string, FutureState>();
  private readonly finalizer = new FinalizationRegistry<FutureState>((state) => this.releaseHandle(state));

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

  /** A handle on `key` by name: the state held now, or a placeholder that wants the key. */
  byKey(key: string): Future {
    let state = this.states.get(key);
    if (!state) {
      this.states.set(key, (state = new FutureState(key)));
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
    for (const [key, state] of this.states) {
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

  registerHandle(future: Future, state: FutureState): void {
    this.finalizer.register(future, state, future);
  }

  unregisterHandle(future: Future): void {
    this.finalizer.unregister(future);
  }

  /** A holder let go of `state`; the last one takes back every want the state collected. */
  releaseHandle(state: FutureState): void {
    if (--state.refs > 0) return;
    if (this.states.get(state.key) === state) this.states.delete(state.key);
    if (state.acquired > 0 && !this.conn.closed) this.conn.outbox.release(state.key, state.acquired);
    state.acquired = 0;
  }
}
