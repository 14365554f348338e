/**
 * Serves a SchedulerServer over WebSocket. The first frame of a connection is a JSON text handshake
 * (protocol version, role, name, token); nothing is decoded with the binary codec before the token is
 * checked. Clients are handed to SchedulerServer.accept (which checks their messages, as it does those of
 * every transport), worker processes to SchedulerServer.acceptWorkerProcess.
 */
import fs from 'node:fs';
import type { WebSocket } from 'ws';
import { InvalidArgumentError, toErrorInfo } from '../protocol/errors';
import type { ClientMessage, SchedulerMessage } from '../protocol/messages';
import type { SchedulerServer } from './server';
import type { FromWorkerProcess, ToWorkerProcess } from '../protocol/worker-process-messages';
import { generateToken, isLoopback } from '../wire/auth';
import type { Handshake } from '../wire/handshake';
import { CloseCode } from '../wire/close-codes';
import { DEFAULT_LIMITS, type WireLimits } from '../wire/limits';
import { WebSocketTransport } from '../wire/ws-transport';
import { acceptHandshake, listenWebSocket } from '../wire/ws-listen';

export interface ListenOptions {
  host?: string;
  port?: number;
  /** Required unless the host is loopback; generated when absent on loopback. */
  token?: string;
  /** PEM files for wss://. */
  cert?: string;
  key?: string;
  limits?: Partial<WireLimits>;
  /** How long a disconnected client's wants and subscriptions are kept for it to reconnect (ms). */
  reconnectGraceMs?: number;
}

export interface Listener {
  /** `ws://host:port` or `wss://host:port`. */
  readonly address: string;
  readonly token: string;
  /** True when the token was generated (and should be shown to the user). */
  readonly generatedToken: boolean;
  close(): Promise<void>;
}

export async function listen(server: SchedulerServer, opts: ListenOptions = {}): Promise<Listener> {
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? 8786;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError(`port must be an integer from 0 to 65535, got ${String(opts.port)}`);
  if (!opts.token && !isLoopback(host)) {
    throw new InvalidArgumentError(`a token is required to listen on ${host}, which other machines can reach: pass --token (or SHARED_FUTURES_TOKEN)`);
  }
  if (opts.token !== undefined && (typeof opts.token !== 'string' || opts.token.length < 8)) {
    throw new InvalidArgumentError('a token must be a string of at least 8 characters');
  }
  if (Boolean(opts.cert) !== Boolean(opts.key)) throw new InvalidArgumentError('--cert and --key go together');
  const token = opts.token ?? generateToken();
  const limits: WireLimits = { ...DEFAULT_LIMITS, ...opts.limits };
  const tls = opts.cert && opts.key ? { cert: fs.readFileSync(opts.cert), key: fs.readFileSync(opts.key) } : undefined;
  const rules = { timeoutMs: limits.handshakeTimeoutMs, token, roles: ['client', 'worker'] as const, speaker: 'scheduler' };
  const graceMs = opts.reconnectGraceMs ?? 30_000;
  const endpoint = await listenWebSocket({
    host,
    port,
    ...(tls ? { tls } : {}),
    maxFrameBytes: limits.maxFrameBytes,
    banner: 'Shared Futures scheduler: connect with a WebSocket client',
    shuttingDown: 'scheduler shutting down',
    onConnection: (ws) => acceptHandshake(ws, rules, (hello) => accepted(server, ws, hello, limits, graceMs)),
  });
  return { address: endpoint.address, token, generatedToken: opts.token === undefined, close: () => endpoint.close() };
}

/** A connection whose handshake passed: a worker process goes to acceptWorkerProcess, a client to accept. */
function accepted(server: SchedulerServer, ws: WebSocket, hello: Handshake, limits: WireLimits, graceMs: number): void {
  if (hello.role === 'worker') {
    const threads = Number(hello.threads);
    if (!Number.isInteger(threads) || threads < 1 || threads > 1024) {
      ws.close(CloseCode.badHandshake, 'bad handshake: a worker says how many threads it has (1 to 1024)');
      return;
    }
    const peer = hello.peer;
    if (peer !== undefined && (typeof peer !== 'string' || peer.length > 300 || !/^wss?:\/\/\S+$/.test(peer))) {
      ws.close(CloseCode.badHandshake, 'bad handshake: a worker announces its peer address as ws://host:port');
      return;
    }
    const transport: WebSocketTransport<FromWorkerProcess, ToWorkerProcess> = new WebSocketTransport(ws, {
      limits: { ...limits, maxOutstandingBytes: Number.MAX_SAFE_INTEGER },
      sliceInput: true,
      onBadFrame: (err) => transport.send({ op: 'error', error: toErrorInfo(err) }),
    });
    server.acceptWorkerProcess(transport, hello.id, threads, hello.name, peer);
    return;
  }
  const first: ClientMessage = { op: 'hello', client: hello.id, version: hello.version, ...(hello.name ? { name: hello.name } : {}), ...(hello.resume ? { resume: true } : {}), ...(hello.direct === true ? { direct: true } : {}) };
  const transport: WebSocketTransport<ClientMessage, SchedulerMessage> = new WebSocketTransport(ws, {
    limits,
    initial: [first],
    // Messages are checked by server.accept, as those of every other transport.
    onBadFrame: (err) => transport.send({ op: 'error', error: toErrorInfo(err) }),
    // A reply answers a request the client waits for (schedulerInfo(), a flush, a gather): it does not wait
    // behind a fan-out to other connections.
    urgent: (m) => (m as SchedulerMessage).op === 'reply',
    sliceInput: true,
    cheap: (batch) => batch.every((m) => isControlOp((m as { op?: unknown } | null)?.op)),
    split: (batch) => server.splitBatch(batch),
  });
  server.accept(transport, { graceMs });
}

/** Client requests that only read the scheduler's state: answered ahead of waiting bulk input. */
function isControlOp(op: unknown): boolean {
  return op === 'info' || op === 'channels' || op === 'story';
}
