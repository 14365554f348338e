/**
 * Serves a SchedulerServer over WebSocket. The first frame of a connection is a JSON text handshake
 * (protocol version, role, name, token); nothing is decoded with the binary codec before the token is
 * checked. Clients are handed to SchedulerServer.accept (which checks their messages, as it does those of
 * every transport), worker processes to SchedulerServer.acceptWorkerProcess.
 */
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { InvalidArgumentError, toErrorInfo } from '../protocol/errors';
import { PROTOCOL_VERSION, type ClientMessage, type SchedulerMessage } from '../protocol/messages';
import type { SchedulerServer } from './server';
import type { FromWorkerProcess, ToWorkerProcess } from '../protocol/worker-process-messages';
import { generateToken, isLoopback, tokensMatch } from '../wire/auth';
import type { Handshake } from '../wire/handshake';
import { CloseCode } from '../wire/close-codes';
import { DEFAULT_LIMITS, type WireLimits } from '../wire/limits';
import { WebSocketTransport } from '../wire/ws-transport';

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
  const httpServer = tls ? https.createServer(tls) : http.createServer();
  httpServer.on('request', (_req, res) => {
    res.writeHead(426, { 'content-type': 'text/plain' });
    res.end('Shared Futures scheduler: connect with a WebSocket client\n');
  });
  const wss = new WebSocketServer({ server: httpServer, maxPayload: limits.maxFrameBytes, perMessageDeflate: false });
  // The server re-emits the HTTP server's errors; listening errors (EADDRINUSE…) reject the promise below,
  // and without a listener this re-emit would crash the process instead.
  wss.on('error', () => undefined);
  const sockets = new Set<WebSocket>();
  wss.on('connection', (ws) => {
    sockets.add(ws);
    ws.on('close', () => sockets.delete(ws));
    handshake(server, ws, token, limits, opts.reconnectGraceMs ?? 30_000);
  });
  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(port, host, () => {
      httpServer.off('error', reject);
      resolve();
    });
  });
  const addr = httpServer.address() as AddressInfo;
  const shownHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    address: `${tls ? 'wss' : 'ws'}://${shownHost}:${addr.port}`,
    token,
    generatedToken: opts.token === undefined,
    close: async () => {
      for (const ws of sockets) ws.close(CloseCode.goingAway, 'scheduler shutting down');
      wss.close();
      await new Promise<void>((resolve) => httpServer.close(() => resolve()));
      for (const ws of sockets) ws.terminate();
    },
  };
}

function handshake(server: SchedulerServer, ws: WebSocket, token: string, limits: WireLimits, graceMs: number): void {
  const timer = setTimeout(() => ws.close(CloseCode.badHandshake, 'no handshake in time'), limits.handshakeTimeoutMs);
  ws.once('message', (data: Buffer, isBinary: boolean) => {
    clearTimeout(timer);
    let hello: Handshake;
    try {
      if (isBinary) throw new Error('the handshake is a JSON text frame');
      hello = JSON.parse(data.toString('utf8')) as Handshake;
      if (!hello || hello.op !== 'hello' || (hello.role !== 'client' && hello.role !== 'worker') || typeof hello.id !== 'string' || hello.id.length === 0 || hello.id.length > 200) {
        throw new Error('expected {op: "hello", version, role: "client" | "worker", id}');
      }
    } catch (err) {
      ws.close(CloseCode.badHandshake, `bad handshake: ${(err as Error).message}`.slice(0, 120));
      return;
    }
    // The token is checked before anything else of the peer is looked at; it is never logged.
    if (!tokensMatch(token, hello.token)) {
      ws.close(CloseCode.authFailed, hello.token ? 'authentication failed: wrong token' : 'authentication failed: a token is required');
      return;
    }
    if (hello.version !== PROTOCOL_VERSION) {
      ws.close(CloseCode.versionMismatch, `protocol version ${String(hello.version)} is not supported (scheduler speaks ${PROTOCOL_VERSION})`);
      return;
    }
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
    });
    server.accept(transport, { graceMs });
  });
}
