/**
 * The client side of the WebSocket transport. Constructed synchronously (so `localClient()` can return a
 * Client at once); connects in the background, turns the first `hello` into the JSON handshake carrying
 * the token, and queues everything else until the socket is open.
 */
import WebSocket from 'ws';
import { PROTOCOL_VERSION } from '../protocol/messages';
import type { Transport } from '../transport/transport';
import { parseSchedulerAddress } from './address';
import { isLoopback } from './auth';
import { CloseSignal } from '../transport/transport-base';
import { ConnectionError } from '../protocol/errors';
import { CloseCode, closeError } from './close-codes';
import { DEFAULT_LIMITS, type WireLimits } from './limits';
import { WebSocketTransport } from './ws-transport';
import type { Handshake } from './handshake';

export { parseSchedulerAddress } from './address';

export interface WsConnectOptions {
  token?: string;
  /** Extra CA certificate (PEM) for wss:// with a private CA or a self-signed certificate. */
  ca?: string | Buffer;
  limits?: Partial<WireLimits>;
  /** Milliseconds to wait for the socket to open. */
  connectTimeoutMs?: number;
  /** Role client: say in the handshake that this client fetches results from worker processes itself. */
  direct?: boolean;
}

/**
 * A client masks its frames (RFC 6455) so that a proxy between it and the server cannot be fooled into reading
 * bytes a script chose as a request of its own. On loopback and under TLS no intermediary reads the frames, so
 * there the mask is all zeros: the sender then skips masking (and the copy of every payload it makes for it)
 * and the server skips unmasking, which it otherwise does byte by byte in JavaScript for every frame of every
 * client and worker (about 6% of a busy scheduler's time).
 */
export function unmaskedIsSafe(url: URL): boolean {
  return url.protocol === 'wss:' || isLoopback(url.hostname);
}

function zeroMask(mask: Buffer): void {
  mask.fill(0);
}

export class WsClientTransport<In, Out extends { op: string }> implements Transport<In, Out> {
  private inner: WebSocketTransport<In, Out> | undefined;
  private queue: Out[] = [];
  private handler: ((messages: In[]) => void) | undefined;
  private readonly closeSignal = new CloseSignal();
  private readonly ws: WebSocket;
  private alive = false;

  constructor(
    private readonly address: string,
    private readonly role: 'client' | 'worker',
    private readonly opts: WsConnectOptions & { threads?: number } = {},
  ) {
    const url = parseSchedulerAddress(address);
    const limits = { ...DEFAULT_LIMITS, ...opts.limits };
    this.ws = new WebSocket(url, {
      maxPayload: limits.maxFrameBytes,
      perMessageDeflate: false,
      handshakeTimeout: opts.connectTimeoutMs ?? 10_000,
      ...(opts.ca ? { ca: opts.ca } : {}),
      ...(unmaskedIsSafe(url) ? { generateMask: zeroMask } : {}),
    });
    this.ws.on('unexpected-response', (_req, res) => {
      this.ended(new ConnectionError(`${address} answered HTTP ${res.statusCode}: not a Shared Futures scheduler`));
      this.ws.terminate();
    });
    this.ws.once('error', (err: Error) => {
      if (!this.inner) this.ended(new ConnectionError(`cannot connect to ${address}: ${err.message}`, { cause: err }));
    });
    this.ws.once('close', (code: number, reason: Buffer) => {
      if (!this.inner) this.ended(closeError(code, reason.toString(), address) ?? new ConnectionError(`${address} closed the connection before it was open (${code})`, { closeCode: code }));
    });
    this.ws.once('open', () => this.opened(limits));
  }

  private opened(limits: WireLimits): void {
    if (this.closed) {
      this.ws.close(CloseCode.normal);
      return;
    }
    const queue = this.queue;
    this.queue = [];
    const hello = queue.shift() as unknown as { op: string; client?: string; id?: string; name?: string; resume?: boolean; peer?: string };
    if (!hello || hello.op !== 'hello') throw new Error('the first message on a connection must be hello');
    const handshake: Handshake = {
      op: 'hello',
      version: PROTOCOL_VERSION,
      role: this.role,
      id: (hello.client ?? hello.id) as string,
      ...(hello.name ? { name: hello.name } : {}),
      ...(hello.resume ? { resume: true } : {}),
      ...(hello.peer ? { peer: hello.peer } : {}),
      ...(this.opts.direct ? { direct: true } : {}),
      ...(this.opts.threads ? { threads: this.opts.threads } : {}),
      ...(this.opts.token !== undefined ? { token: this.opts.token } : {}),
    };
    this.ws.send(JSON.stringify(handshake));
    const inner = new WebSocketTransport<In, Out>(this.ws, { limits, peer: this.address });
    this.inner = inner;
    inner.onClose((reason) => this.ended(reason));
    if (this.handler) inner.onMessages(this.handler);
    for (const m of queue) inner.send(m);
    this.applyKeepAlive();
  }

  send(message: Out): void {
    if (this.closed) return;
    if (this.inner) this.inner.send(message);
    else this.queue.push(message);
  }

  sendBatch(messages: Out[]): void {
    if (this.closed) return;
    if (this.inner) this.inner.sendBatch(messages);
    else for (const m of messages) this.queue.push(m);
  }

  onMessages(handler: (messages: In[]) => void): void {
    this.handler = handler;
    this.inner?.onMessages(handler);
  }

  onClose(handler: (reason?: Error) => void): void {
    this.closeSignal.add(handler);
  }

  setKeepAlive(alive: boolean): void {
    this.alive = alive;
    this.applyKeepAlive();
  }

  /** An idle connection does not keep the process alive; one with callers waiting does. */
  private applyKeepAlive(): void {
    const socket = (this.ws as unknown as { _socket?: { ref(): void; unref(): void } })._socket;
    if (!socket) return;
    if (this.alive) socket.ref();
    else socket.unref();
  }

  close(): void {
    if (this.closed) return;
    if (this.inner) this.inner.close();
    else this.ws.terminate();
    this.ended();
  }

  private get closed(): boolean {
    return this.closeSignal.fired;
  }

  private ended(reason?: Error): void {
    this.closeSignal.fire(reason);
  }
}
