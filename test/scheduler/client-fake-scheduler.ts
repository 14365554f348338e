/** A scripted scheduler end for client tests: records what the client sends and answers by hand. */
import { PROTOCOL_VERSION, type ClientMessage, type SchedulerMessage } from '../../scheduler/protocol/messages';
import type { Transport } from '../../scheduler/transport/transport';

export class FakeSchedulerEnd implements Transport<SchedulerMessage, ClientMessage> {
  /** Batches handed over with sendBatch, in order. */
  readonly batches: ClientMessage[][] = [];
  /** Messages handed over one by one with send (queued by the transport). */
  readonly sent: ClientMessage[] = [];
  /** Every setKeepAlive call, in order. */
  readonly keepAlive: boolean[] = [];
  private handler: ((messages: SchedulerMessage[]) => void) | undefined;
  private readonly closeHandlers: ((reason?: Error) => void)[] = [];
  closed = false;

  send(message: ClientMessage): void {
    this.sent.push(message);
  }

  sendBatch(messages: ClientMessage[]): void {
    this.batches.push([...messages]);
  }

  onMessages(handler: (messages: SchedulerMessage[]) => void): void {
    this.handler = handler;
  }

  onClose(handler: (reason?: Error) => void): void {
    this.closeHandlers.push(handler);
  }

  setKeepAlive(alive: boolean): void {
    this.keepAlive.push(alive);
  }

  close(): void {
    this.drop();
  }

  /** The scheduler sends `messages` as one batch. */
  deliver(...messages: SchedulerMessage[]): void {
    if (!this.handler) throw new Error('the client registered no handler');
    this.handler(messages);
  }

  welcome(client: string): void {
    this.deliver({ op: 'welcome', client, address: 'fake://scheduler', version: PROTOCOL_VERSION });
  }

  /** The connection goes away. */
  drop(reason?: Error): void {
    if (this.closed) return;
    this.closed = true;
    for (const h of this.closeHandlers.splice(0)) h(reason);
  }

  /** Every message the client handed over, in order, by either method. */
  all(): ClientMessage[] {
    return [...this.batches.flat(), ...this.sent];
  }
}
