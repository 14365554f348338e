/**
 * A pair of transports for a client and the scheduler on the same thread: a batch is handed over when it
 * leaves (at the end of the sender's tick: the transport's queue for the scheduler, the outbox for the
 * client). Messages that carry user values are structured-cloned on the way to a client, so no two
 * clients ever share a mutable object.
 */
import type { Transport } from './transport';
import { BatchingTransport } from './transport-base';

const CARRIES_VALUES = new Set(['items', 'replay', 'reply']);

/**
 * Whether `m` needs the copy: a reply whose value is a primitive, or an array of primitives (a gather of
 * numbers or strings, the common case), shares nothing mutable, and copying 100,000 values costs the
 * scheduler's thread for nothing. Checking costs one pass over the array, much less than the copy.
 */
function needsClone(m: { op: string; ok?: boolean; value?: unknown }): boolean {
  if (!CARRIES_VALUES.has(m.op)) return false;
  if (m.op !== 'reply' || m.ok !== true) return true;
  const v = m.value;
  if (typeof v !== 'object' || v === null) return false;
  if (!Array.isArray(v)) return true;
  for (let i = 0; i < v.length; i++) {
    const x: unknown = v[i];
    if (typeof x === 'object' ? x !== null : typeof x === 'function') return true;
  }
  return false;
}

class InThreadEnd<In, Out> extends BatchingTransport<In, Out> {
  peer!: InThreadEnd<Out, In>;

  constructor(private readonly cloneOutgoing: boolean) {
    super();
  }

  protected deliver(batch: Out[]): void {
    if (this.peer.closed) return;
    const delivered = this.cloneOutgoing ? batch.map((m) => (needsClone(m as { op: string; ok?: boolean; value?: unknown }) ? structuredClone(m) : m)) : batch;
    this.peer.receive(delivered);
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    this.closeSignal.fire();
    queueMicrotask(() => this.peer.closeSignal.fire());
  }
}

/** Creates connected ends: `[clientEnd, schedulerEnd]`. */
export function inThreadPair<C, S>(): [Transport<S, C>, Transport<C, S>] {
  const client = new InThreadEnd<S, C>(false);
  const scheduler = new InThreadEnd<C, S>(true);
  client.peer = scheduler;
  scheduler.peer = client;
  return [client, scheduler];
}
