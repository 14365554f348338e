/**
 * A pair of transports for a client and the scheduler on the same thread: batches are handed over in a
 * microtask. Messages that carry user values are structured-cloned on the way to a client, so no two
 * clients ever share a mutable object.
 */
import type { Transport } from './transport';

const CARRIES_VALUES = new Set(['items', 'replay', 'reply']);

class InThreadEnd<In, Out> implements Transport<In, Out> {
  peer!: InThreadEnd<Out, In>;
  private handler: ((messages: In[]) => void) | undefined;
  private closeHandlers: ((reason?: Error) => void)[] = [];
  private queue: Out[] = [];
  private scheduled = false;
  private pending: In[][] = [];
  closed = false;

  constructor(private readonly cloneOutgoing: boolean) {}

  send(message: Out): void {
    if (this.closed) return;
    this.queue.push(message);
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(() => this.flush());
    }
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0 || this.peer.closed) return;
    const delivered = this.cloneOutgoing
      ? batch.map((m) => (CARRIES_VALUES.has((m as { op: string }).op) ? structuredClone(m) : m))
      : batch;
    this.peer.deliver(delivered);
  }

  deliver(batch: In[]): void {
    if (this.handler) this.handler(batch);
    else this.pending.push(batch);
  }

  onMessages(handler: (messages: In[]) => void): void {
    this.handler = handler;
    const pending = this.pending;
    this.pending = [];
    for (const b of pending) handler(b);
  }

  onClose(handler: (reason?: Error) => void): void {
    this.closeHandlers.push(handler);
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.fireClose();
    queueMicrotask(() => this.peer.remoteClosed());
  }

  private remoteClosed(): void {
    if (this.closed) return;
    this.closed = true;
    this.fireClose();
  }

  private fireClose(): void {
    const hs = this.closeHandlers;
    this.closeHandlers = [];
    for (const h of hs) h();
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
