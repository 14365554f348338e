/**
 * A worker process's peer server: other worker processes (for their tasks' dependencies) and clients (for
 * their gathers) fetch the results this worker stores here, so that data moves between the machines that
 * have it and need it without passing through the scheduler. The first frame is the JSON text handshake of
 * role 'peer' carrying the scheduler's token, checked in constant time before any binary frame is decoded,
 * as the scheduler does (server/ws-server.ts). Then: `get` keys → `data` values (and the keys not stored),
 * framed as wire/peer-frames.ts says (large binary results as frames of their own bytes).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { InvalidArgumentError, toErrorInfo } from '../../protocol/errors';
import { PROTOCOL_VERSION } from '../../protocol/messages';
import type { FromPeer, ToPeer } from '../../protocol/worker-process-messages';
import { isLoopback, tokensMatch } from '../../wire/auth';
import { CloseCode } from '../../wire/close-codes';
import type { Handshake } from '../../wire/handshake';
import { DEFAULT_LIMITS, type WireLimits } from '../../wire/limits';
import { decodeMessage, encodeMessage, encodeReply } from '../../wire/peer-frames';

export interface PeerListenOptions {
  host?: string;
  port?: number;
  /** The scheduler's token: peers must present it. Required unless the host is loopback. */
  token?: string;
  limits?: Partial<WireLimits>;
}

export interface PeerServer {
  /** `ws://host:port`, as announced to the scheduler. */
  readonly address: string;
  close(): Promise<void>;
}

/** Where a peer server listens unless told otherwise: loopback, on a free port. */
export const DEFAULT_PEER_HOST = '127.0.0.1';

/** Serves `lookup` (the values of the keys this worker stores, and the keys it does not) to peers. */
export async function listenForPeers(lookup: (keys: string[]) => { values: unknown[]; missing: string[] }, opts: PeerListenOptions = {}): Promise<PeerServer> {
  const host = opts.host ?? DEFAULT_PEER_HOST;
  const port = opts.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError(`the peer port must be an integer from 0 to 65535, got ${String(opts.port)}`);
  if (opts.token === undefined && !isLoopback(host)) {
    throw new InvalidArgumentError(`a token is required to listen for peers on ${host}, which other machines can reach: pass --token (or SHARED_FUTURES_TOKEN)`);
  }
  // Replies carry results of any size; the requesting side bounds what it asks for at once.
  const limits: WireLimits = { ...DEFAULT_LIMITS, ...opts.limits };
  const httpServer = http.createServer((_req, res) => {
    res.writeHead(426, { 'content-type': 'text/plain' });
    res.end('Shared Futures worker peer port: connect with a WebSocket client\n');
  });
  const wss = new WebSocketServer({ server: httpServer, maxPayload: limits.maxFrameBytes, perMessageDeflate: false });
  wss.on('error', () => undefined);
  const sockets = new Set<WebSocket>();
  wss.on('connection', (ws) => {
    sockets.add(ws);
    ws.on('close', () => sockets.delete(ws));
    handshake(ws, opts.token, limits, lookup);
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
    address: `ws://${shownHost}:${addr.port}`,
    close: async () => {
      for (const ws of sockets) ws.close(CloseCode.goingAway, 'worker shutting down');
      wss.close();
      await new Promise<void>((resolve) => httpServer.close(() => resolve()));
      for (const ws of sockets) ws.terminate();
    },
  };
}

function handshake(ws: WebSocket, token: string | undefined, limits: WireLimits, lookup: (keys: string[]) => { values: unknown[]; missing: string[] }): void {
  const timer = setTimeout(() => ws.close(CloseCode.badHandshake, 'no handshake in time'), limits.handshakeTimeoutMs);
  ws.once('message', (data: Buffer, isBinary: boolean) => {
    clearTimeout(timer);
    let hello: Handshake;
    try {
      if (isBinary) throw new Error('the handshake is a JSON text frame');
      hello = JSON.parse(data.toString('utf8')) as Handshake;
      if (!hello || hello.op !== 'hello' || hello.role !== 'peer') throw new Error('expected {op: "hello", version, role: "peer", id, token}');
    } catch (err) {
      ws.close(CloseCode.badHandshake, `bad handshake: ${(err as Error).message}`.slice(0, 120));
      return;
    }
    // The token is checked before anything else of the peer is looked at; it is never logged.
    if (token !== undefined ? !tokensMatch(token, hello.token) : hello.token !== undefined) {
      ws.close(CloseCode.authFailed, hello.token ? 'authentication failed: wrong token' : 'authentication failed: a token is required');
      return;
    }
    if (hello.version !== PROTOCOL_VERSION) {
      ws.close(CloseCode.versionMismatch, `protocol version ${String(hello.version)} is not supported (this worker speaks ${PROTOCOL_VERSION})`);
      return;
    }
    const fail = (message: string) => ws.send(encodeMessage({ op: 'error', error: toErrorInfo(new InvalidArgumentError(message)) } satisfies FromPeer));
    ws.on('message', (frame: Buffer, binary: boolean) => {
      let m: ToPeer;
      try {
        if (!binary) throw new Error('expected a binary frame after the handshake');
        m = decodeMessage(frame) as ToPeer;
      } catch (err) {
        return fail((err as Error).message);
      }
      if (m?.op !== 'get' || !Number.isSafeInteger(m.req) || !Array.isArray(m.keys) || !m.keys.every((k) => typeof k === 'string')) {
        return fail('a peer asks {op: "get", req, keys: string[]}');
      }
      const { values, missing } = lookup(m.keys);
      let frames: Uint8Array[];
      try {
        frames = encodeReply(missing.length > 0 ? { op: 'data', req: m.req, values, missing } : { op: 'data', req: m.req, values });
      } catch (err) {
        return ws.send(encodeMessage({ op: 'error', error: toErrorInfo(err) } satisfies FromPeer));
      }
      for (const f of frames) ws.send(f, { binary: true });
    });
  });
}
