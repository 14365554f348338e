/**
 * Transport over a worker_threads MessagePort: lets a client in any thread of the process (a pool task,
 * the notebook kernel's thread) talk to the scheduler. Batches leave once per microtask checkpoint.
 */
import type { MessagePort } from 'node:worker_threads';
import { BatchingTransport } from './transport-base';

const CLOSE = '__sf_close__';

export class MessagePortTransport<In, Out> extends BatchingTransport<In, Out> {
  private alive = false;

  constructor(private readonly port: MessagePort) {
    super();
    port.on('close', () => this.closeSignal.fire());
  }

  protected deliver(batch: Out[]): void {
    this.port.postMessage(batch);
  }

  override onMessages(handler: (messages: In[]) => void): void {
    super.onMessages(handler);
    this.port.on('message', (batch: In[] | typeof CLOSE) => {
      if (batch === CLOSE) {
        this.closeSignal.fire();
        this.port.close();
        return;
      }
      this.receive(batch);
    });
    // A listener refs the port; an idle connection must not keep the process alive (see setKeepAlive).
    this.applyKeepAlive();
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
    this.closeSignal.fire();
    // Give the close marker a turn to leave before the port goes away.
    setImmediate(() => this.port.close());
  }
}
