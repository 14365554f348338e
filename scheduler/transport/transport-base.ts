/**
 * What every batching transport shares: a send queue flushed once per microtask, and a close signal.
 *
 * The queue serves the senders that send message by message (the scheduler's and the workers' ends). The
 * client does not use it: its outbox (client/outbox.ts) is the one place that batches per tick on the client
 * path, because only the client knows which of its messages merge (consecutive submits, appends to one
 * channel, wants, releases) and it must hold them anyway while it reconnects; it hands each tick's batch
 * to `sendBatch`, which delivers at once.
 */
import type { Transport } from './transport';

/** Close handlers, fired once with the reason (undefined for an orderly close). */
export class CloseSignal {
  private handlers: ((reason?: Error) => void)[] = [];
  fired = false;

  add(handler: (reason?: Error) => void): void {
    this.handlers.push(handler);
  }

  fire(reason?: Error): void {
    if (this.fired) return;
    this.fired = true;
    const hs = this.handlers;
    this.handlers = [];
    for (const h of hs) h(reason);
  }
}

export abstract class BatchingTransport<In, Out> implements Transport<In, Out> {
  private queue: Out[] = [];
  private scheduled = false;
  private handler: ((messages: In[]) => void) | undefined;
  /** Batches that arrived before a handler was registered. */
  private early: In[][] = [];
  protected readonly closeSignal = new CloseSignal();

  /** True once closed (by either side). */
  get closed(): boolean {
    return this.closeSignal.fired;
  }

  send(message: Out): void {
    if (this.closed || !this.accepting()) return;
    this.queue.push(message);
    if (!this.scheduled) {
      this.scheduled = true;
      this.schedule(() => this.flush());
    }
  }

  sendBatch(messages: Out[]): void {
    if (this.closed || !this.accepting() || messages.length === 0) return;
    if (this.queue.length === 0) return this.deliver(messages);
    for (const m of messages) this.queue.push(m);
    this.flush();
  }

  /** Hands the queued messages to the medium now. */
  protected flush(): void {
    this.scheduled = false;
    if (this.queue.length === 0 || this.closed) return;
    const batch = this.queue;
    this.queue = [];
    this.deliver(batch);
  }

  /** When the queue leaves: at the end of this microtask; a socket transport may defer it (ws-transport.ts). */
  protected schedule(flush: () => void): void {
    queueMicrotask(flush);
  }

  /** Puts one batch on the medium. */
  protected abstract deliver(batch: Out[]): void;

  /** False while closing: no new messages are taken. */
  protected accepting(): boolean {
    return true;
  }

  /** Passes an incoming batch on, keeping it until a handler is registered. */
  protected receive(batch: In[]): void {
    if (this.handler) this.handler(batch);
    else this.early.push(batch);
  }

  onMessages(handler: (messages: In[]) => void): void {
    this.handler = handler;
    const early = this.early;
    this.early = [];
    for (const b of early) handler(b);
  }

  onClose(handler: (reason?: Error) => void): void {
    this.closeSignal.add(handler);
  }

  abstract close(): void;
}
