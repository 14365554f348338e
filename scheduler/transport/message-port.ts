/**
 * Transport over a worker_threads MessagePort: lets a client in any thread of the process (a pool task,
 * the notebook kernel's thread) talk to the scheduler. Batches leave once per microtask checkpoint.
 */
import type { MessagePort } from 'node:worker_threads';
import type { Transport } from './transport';

const CLOSE = '__sf_close__';

export class MessagePortTransport<In, Out> implements Transport<In, Out> {
  private queue: Out[] = [];
  private scheduled = false;
  private closeHandlers: ((reason?: Error) => void)[] = [];
  private closed = false;
  private alive = false;

  constructor(private readonly port: MessagePort) {
    port.on('close', () => this.ended());
  }

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
    if (this.queue.length === 0 || this.closed) return;
    const batch = this.queue;
    this.queue = [];
    this.port.postMessage(batch);
  }

  onMessages(handler: (messages: In[]) => void): void {
    this.port.on('message', (batch: In[] | typeof CLOSE) => {
      if (batch === CLOSE) {
        this.ended();
        this.port.close();
        return;
      }
      handler(batch);
    });
    // A listener refs the port; an idle connection must not keep the process alive (see setKeepAlive).
    this.applyKeepAlive();
  }

  onClose(handler: (reason?: Error) => void): void {
    this.closeHandlers.push(handler);
  }

  setKeepAlive(alive: boolean): void {
    this.alive = alive;
    this.applyKeepAlive();
  }

  private applyKeepAlive(): void {
    if (this.alive) this.port.ref();
    else this.port.unref();
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    this.port.postMessage(CLOSE);
    this.ended();
    // Give the close marker a turn to leave before the port goes away.
    setImmediate(() => this.port.close());
  }

  private ended(): void {
    if (this.closed) return;
    this.closed = true;
    const hs = this.closeHandlers;
    this.closeHandlers = [];
    for (const h of hs) h();
  }
}
