/**
 * A client's connection to the scheduler: the transport, the session (hello, welcome, close), reconnecting,
 * keep-alive, the outbox and request correlation. The first connect and every reconnect go through the same
 * `attach`: bind the transport, send `hello` (with `resume` on a reconnect), wait for `welcome`. Messages
 * other than `welcome`, `reply` and `error` go to the owner (the Client).
 */
import { ClientClosedError, ConnectionError, fromErrorInfo } from '../protocol/errors';
import { PROTOCOL_VERSION, type ClientMessage, type SchedulerMessage } from '../protocol/messages';
import type { Transport } from '../transport/transport';
import type { KeepAlive } from './future';
import { Outbox } from './outbox';
import { Requests, type RequestMessage } from './requests';

export type ClientSide = Transport<SchedulerMessage, ClientMessage>;

/** What the connection tells its owner. */
export interface ConnectionOwner {
  /** A message for the client's futures, channels or event feed. */
  receive(msg: SchedulerMessage): void;
  /** Back after a reconnect: the messages that restore this client's wants and subscriptions. */
  resyncMessages(): ClientMessage[];
  /** Closed for good; `lost` says why when the connection was lost rather than closed by the user. */
  closed(lost: Error | undefined): void;
}

export interface ConnectionOptions {
  name?: string;
  /** Makes a new transport to the same scheduler: given for remote clients, which reconnect. */
  connector?: () => ClientSide;
  reconnectTimeoutMs?: number;
}

type Deferred = { resolve: () => void; reject: (e: Error) => void };

export class Connection implements KeepAlive {
  /** Address of the scheduler, known once welcomed. */
  address = '';
  readonly outbox: Outbox;
  readonly requests: Requests;
  /** Resolves once the scheduler accepted the first hello. */
  readonly connected: Promise<void>;
  private transport!: ClientSide;
  private connector: (() => ClientSide) | undefined;
  private readonly reconnectTimeoutMs: number;
  /** The hello sent on the current transport, until the scheduler answers it. */
  private awaitingWelcome: Deferred | undefined;
  private everWelcomed = false;
  private userClosed = false;
  private isClosed = false;
  private holds = 0;
  private reconnect: { started: number; attempt: number; letGo: () => void } | undefined;

  constructor(
    private readonly id: string,
    transport: ClientSide,
    private readonly owner: ConnectionOwner,
    private readonly opts: ConnectionOptions = {},
  ) {
    this.connector = opts.connector;
    this.reconnectTimeoutMs = opts.reconnectTimeoutMs ?? 60_000;
    this.outbox = new Outbox((batch) => this.transport.sendBatch(batch));
    this.requests = new Requests(this);
    this.connected = this.attach(transport);
    this.connected.catch(() => undefined);
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Queues a message for the end of this tick. */
  post(msg: ClientMessage): void {
    this.outbox.post(msg);
  }

  /** Sends a message that expects a reply; resolves with the reply's value. `keepAlive`: see Requests.send. */
  request(msg: RequestMessage, keepAlive = true): Promise<unknown> {
    if (this.isClosed) return Promise.reject(new ClientClosedError());
    return this.requests.send(msg, (m) => this.outbox.post(m), keepAlive);
  }

  /** Keeps the connection (and so the process) alive while someone waits on the scheduler. */
  hold(): () => void {
    if (this.holds++ === 0) this.transport.setKeepAlive?.(true);
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      if (--this.holds === 0) this.transport.setKeepAlive?.(false);
    };
  }

  /** Says goodbye to the scheduler (which releases everything this client wanted) and closes. */
  close(): void {
    if (this.isClosed) return;
    this.userClosed = true;
    if (!this.reconnect) {
      this.outbox.post({ op: 'close' });
      this.outbox.flush();
    }
    this.transport.close();
    this.finish(undefined);
  }

  /** Binds `transport` as the current one and says hello on it; resolves on the scheduler's welcome. */
  private attach(transport: ClientSide, resume = false): Promise<void> {
    this.transport = transport;
    const letGo = this.hold(); // waiting for the welcome
    transport.setKeepAlive?.(true);
    const welcomed = new Promise<void>((resolve, reject) => (this.awaitingWelcome = { resolve, reject }));
    welcomed.then(letGo, letGo);
    transport.onMessages((batch) => {
      if (transport === this.transport) this.receive(batch);
    });
    transport.onClose((reason) => {
      if (transport === this.transport) this.transportClosed(reason);
    });
    // Ahead of the outbox: the hello is the first message on every transport.
    transport.sendBatch([{ op: 'hello', client: this.id, version: PROTOCOL_VERSION, ...(this.opts.name ? { name: this.opts.name } : {}), ...(resume ? { resume: true } : {}) }]);
    return welcomed;
  }

  private receive(batch: SchedulerMessage[]): void {
    for (const msg of batch) {
      switch (msg.op) {
        case 'welcome':
          this.address = msg.address;
          this.welcomed();
          break;
        case 'reply':
          if (msg.ok) this.requests.settle(msg.req, msg.value, undefined);
          else this.requests.settle(msg.req, undefined, msg.error);
          break;
        case 'error':
          // Before the welcome, the scheduler refuses the hello; afterwards it reports a message it could not take.
          if (this.awaitingWelcome) this.welcomeFailed(fromErrorInfo(msg.error));
          else process.emitWarning(`scheduler: ${msg.error.message}`, { code: msg.error.code });
          break;
        default:
          this.owner.receive(msg);
      }
    }
  }

  private welcomed(): void {
    const w = this.awaitingWelcome;
    this.awaitingWelcome = undefined;
    this.everWelcomed = true;
    if (this.reconnect) this.resumed();
    w?.resolve();
  }

  private welcomeFailed(err: Error): void {
    const w = this.awaitingWelcome;
    this.awaitingWelcome = undefined;
    w?.reject(err);
  }

  private transportClosed(reason: Error | undefined): void {
    if (this.isClosed) return;
    if (this.userClosed) {
      this.finish(undefined);
    } else if (this.reconnect) {
      // This attempt failed: try again after a pause.
      this.welcomeFailed(reason ?? new ConnectionError(`the connection to ${this.address} closed before the scheduler answered`));
      this.scheduleAttempt();
    } else if (this.connector && this.everWelcomed && !this.userClosed) {
      this.startReconnect(reason);
    } else {
      this.finish(reason);
    }
  }

  /** The connection dropped: answers in flight are lost; reconnect with backoff and resynchronise. */
  private startReconnect(reason: Error | undefined): void {
    this.reconnect = { started: Date.now(), attempt: 0, letGo: this.hold() };
    this.outbox.hold();
    this.requests.failAll(new ConnectionError(`the connection to ${this.address} was lost${reason ? ` (${reason.message})` : ''}; the request may or may not have been applied`));
    this.scheduleAttempt();
  }

  private scheduleAttempt(): void {
    const r = this.reconnect;
    if (!r || this.isClosed) return;
    if (Date.now() - r.started > this.reconnectTimeoutMs) {
      this.connector = undefined;
      this.finish(new ConnectionError(`could not reconnect to ${this.address} within ${this.reconnectTimeoutMs} ms`));
      return;
    }
    const delay = Math.min(5000, 50 * 2 ** r.attempt++) * (0.75 + Math.random() * 0.5);
    setTimeout(() => {
      if (this.isClosed || !this.connector) return;
      void this.attach(this.connector(), true).catch(() => undefined);
    }, delay);
  }

  /**
   * Welcomed back: what was queued meanwhile goes first; then the owner's resync messages (exactly which
   * wants this client holds, and every channel resumed after the last item this client saw). Subscriptions
   * queued while away are left out: the resync renews every channel anyway.
   */
  private resumed(): void {
    const r = this.reconnect;
    this.reconnect = undefined;
    r?.letGo();
    this.outbox.resume((m) => m.op === 'sub', this.owner.resyncMessages());
  }

  /** Closed for good: on purpose (`close()`), or lost (`reason`, or a connection that cannot come back). */
  private finish(reason: Error | undefined): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.reconnect?.letGo();
    this.reconnect = undefined;
    this.outbox.close();
    // Closed on purpose, or lost: iterations end in the first case and throw ConnectionError in the second.
    const lost = this.userClosed
      ? undefined
      : reason instanceof ConnectionError
        ? reason
        : new ConnectionError(`the connection to ${this.address || 'the scheduler'} was lost${reason ? `: ${reason.message}` : ''}`, { cause: reason });
    const err = this.userClosed ? new ClientClosedError() : (reason ?? (lost as Error));
    this.welcomeFailed(err);
    this.requests.failAll(err);
    this.owner.closed(lost);
  }
}
