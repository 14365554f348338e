/**
 * The I/O shell around the sans-I/O core: accepts client transports, feeds their messages to the
 * SchedulerState, delivers what it produces, and lets worker adapters pull ready tasks.
 */
import type { MessagePort } from 'node:worker_threads';
import { SchedulerState } from './core/state';
import { PROTOCOL_VERSION, type ClientMessage, type SchedulerMessage } from './protocol';
import { MessagePortTransport } from './transport/message-port';
import type { Transport } from './transport/transport';

export type SchedulerSide = Transport<ClientMessage, SchedulerMessage>;

/** A source of execution (the local thread pool, later remote workers): pulls work when told. */
export interface WorkerAdapter {
  readonly id: string;
  pump(): void;
  close(): Promise<void>;
}

export class SchedulerServer {
  readonly state: SchedulerState;
  private readonly conns = new Map<string, SchedulerSide>();
  private readonly workers: WorkerAdapter[] = [];
  private closed = false;

  constructor(readonly address: string) {
    this.state = new SchedulerState(address);
  }

  addWorker(adapter: WorkerAdapter, threads: number): void {
    this.workers.push(adapter);
    this.state.addWorker(adapter.id, threads);
    this.afterEvent();
  }

  /** Takes a client connection; its first message must be `hello`. */
  accept(transport: SchedulerSide): void {
    if (this.closed) {
      transport.close();
      return;
    }
    let clientId: string | undefined;
    transport.onMessages((batch) => {
      if (!Array.isArray(batch)) return this.reject(transport, 'a batch must be an array of messages');
      let i = 0;
      if (clientId === undefined) {
        const hello = batch[0];
        if (!hello || hello.op !== 'hello' || typeof hello.client !== 'string' || hello.client.length === 0) {
          return this.reject(transport, 'the first message must be hello');
        }
        if (hello.version !== PROTOCOL_VERSION) {
          return this.reject(transport, `protocol version ${String(hello.version)} is not supported (scheduler speaks ${PROTOCOL_VERSION})`);
        }
        if (this.conns.has(hello.client)) return this.reject(transport, `client id ${hello.client} is already connected`);
        clientId = hello.client;
        this.conns.set(clientId, transport);
        this.state.addClient(clientId);
        i = 1;
      }
      for (; i < batch.length; i++) {
        const msg = batch[i];
        if (msg && msg.op === 'close') {
          transport.close();
          break;
        }
        if (!msg || typeof msg !== 'object' || typeof msg.op !== 'string') {
          transport.send({ op: 'error', error: { name: 'ProtocolError', message: 'a message must be an object with an op', code: 'ERR_PROTOCOL' } });
          continue;
        }
        this.state.handleClient(clientId, msg);
      }
      this.afterEvent();
    });
    transport.onClose(() => {
      if (clientId === undefined) return;
      this.conns.delete(clientId);
      this.state.removeClient(clientId);
      this.afterEvent();
    });
  }

  /** Takes a client on another thread of this process. */
  acceptPort(port: MessagePort): void {
    this.accept(new MessagePortTransport<ClientMessage, SchedulerMessage>(port));
  }

  private reject(transport: SchedulerSide, message: string): void {
    transport.send({ op: 'error', error: { name: 'ProtocolError', message, code: 'ERR_HANDSHAKE' } });
    transport.close();
  }

  /** Delivers everything the core produced and lets workers pull ready tasks. */
  afterEvent(): void {
    if (this.state.readyCount > 0) for (const w of this.workers) w.pump();
    const out = this.state.drainOutbox();
    for (const [cid, msgs] of out) {
      const t = this.conns.get(cid);
      if (!t) continue;
      for (const m of msgs) t.send(m);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.conns.values()) t.close();
    this.conns.clear();
    await Promise.all(this.workers.map((w) => w.close()));
  }
}
