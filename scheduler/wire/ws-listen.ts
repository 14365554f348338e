/**
 * The listening end of a WebSocket endpoint, shared by the scheduler (server/ws-server.ts) and a worker
 * process's peer port (worker/remote/peer-server.ts): the HTTP server, the connections it tracks and closes,
 * and the first frame of every connection, the JSON text handshake, checked in one place — the token first
 * (in constant time, never logged), then the role and the protocol version — before anything binary from
 * the peer is decoded.
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { PROTOCOL_VERSION } from '../protocol/messages';
import { tokensMatch } from './auth';
import { CloseCode } from './close-codes';
import type { Handshake } from './handshake';

export interface WsListenOptions {
  host: string;
  port: number;
  /** PEM contents for wss://. */
  tls?: { cert: Buffer; key: Buffer };
  maxFrameBytes: number;
  /** What a plain HTTP request is told (with status 426). */
  banner: string;
  /** The close reason every connection gets when the endpoint closes. */
  shuttingDown: string;
  onConnection(ws: WebSocket): void;
}

export interface WsListening {
  /** `ws://host:port` or `wss://host:port`. */
  readonly address: string;
  close(): Promise<void>;
}

export async function listenWebSocket(opts: WsListenOptions): Promise<WsListening> {
  const httpServer = opts.tls ? https.createServer(opts.tls) : http.createServer();
  httpServer.on('request', (_req, res) => {
    res.writeHead(426, { 'content-type': 'text/plain' });
    res.end(`${opts.banner}\n`);
  });
  const wss = new WebSocketServer({ server: httpServer, maxPayload: opts.maxFrameBytes, perMessageDeflate: false });
  // The server re-emits the HTTP server's errors; listening errors (EADDRINUSE…) reject the promise below,
  // and without a listener this re-emit would crash the process instead.
  wss.on('error', () => undefined);
  const sockets = new Set<WebSocket>();
  wss.on('connection', (ws) => {
    sockets.add(ws);
    ws.on('close', () => sockets.delete(ws));
    opts.onConnection(ws);
  });
  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(opts.port, opts.host, () => {
      httpServer.off('error', reject);
      resolve();
    });
  });
  const addr = httpServer.address() as AddressInfo;
  const shownHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    address: `${opts.tls ? 'wss' : 'ws'}://${shownHost}:${addr.port}`,
    close: async () => {
      for (const ws of sockets) ws.close(CloseCode.goingAway, opts.shuttingDown);
      wss.close();
      await new Promise<void>((resolve) => httpServer.close(() => resolve()));
      for (const ws of sockets) ws.terminate();
    },
  };
}

export interface HandshakeRules {
  timeoutMs: number;
  /** The token a peer must present; undefined: none may be presented (a loopback endpoint without one). */
  token: string | undefined;
  roles: readonly Handshake['role'][];
  /** Who answers, in the version-mismatch reason ("scheduler", "this worker"). */
  speaker: string;
}

/**
 * Waits for a connection's handshake and hands it to `accept` when it is well formed, carries the token and
 * speaks this protocol version; otherwise closes the connection with the code and reason saying why.
 */
export function acceptHandshake(ws: WebSocket, rules: HandshakeRules, accept: (hello: Handshake) => void): void {
  const timer = setTimeout(() => ws.close(CloseCode.badHandshake, 'no handshake in time'), rules.timeoutMs);
  ws.once('message', (data: Buffer, isBinary: boolean) => {
    clearTimeout(timer);
    let hello: Handshake;
    try {
      if (isBinary) throw new Error('the handshake is a JSON text frame');
      hello = JSON.parse(data.toString('utf8')) as Handshake;
      if (!hello || hello.op !== 'hello' || !rules.roles.includes(hello.role) || typeof hello.id !== 'string' || hello.id.length === 0 || hello.id.length > 200) {
        throw new Error(`expected {op: "hello", version, role: ${rules.roles.map((r) => `"${r}"`).join(' | ')}, id}`);
      }
    } catch (err) {
      ws.close(CloseCode.badHandshake, `bad handshake: ${(err as Error).message}`.slice(0, 120));
      return;
    }
    // The token is checked before anything else of the peer is looked at; it is never logged.
    if (rules.token !== undefined ? !tokensMatch(rules.token, hello.token) : hello.token !== undefined) {
      ws.close(CloseCode.authFailed, hello.token ? 'authentication failed: wrong token' : 'authentication failed: a token is required');
      return;
    }
    if (hello.version !== PROTOCOL_VERSION) {
      ws.close(CloseCode.versionMismatch, `protocol version ${String(hello.version)} is not supported (${rules.speaker} speaks ${PROTOCOL_VERSION})`);
      return;
    }
    accept(hello);
  });
}
