/**
 * A pair of transports for a client and the scheduler on the same thread: a batch is handed over when it
 * leaves (at the end of the sender's tick: the transport's queue for the scheduler, the outbox for the
 * client). Messages that carry user values are structured-cloned on the way to a client, so no two
 * clients ever share a mutable object.
 */
import type { Transport } from './transport';
import { BatchingTransport } from './transport-base';

const CARRIES_VALUES = new Set(['items', 'replay', 'reply']);

class InThreadEnd<In, Out> extends BatchingTransport<In, Out> {
  peer!: InThreadEnd<Out, In>;

  constructor(private readonly cloneOutgoing: boolean) {
    super();
  }

  protected deliver(batch: Out[]): void {
    if (this.peer.closed) return;
    const delivered = this.cloneOutgoing ? batch.map((m) => (CARRIES_VALUES.has((m as { op: string }).op) ? structuredClone(m) : m)) : batch;
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
