/**
 * A worker process's peer server: other worker processes (for their tasks' dependencies) and clients (for
 * their gathers) fetch the results this worker stores here, so that data moves between the machines that
 * have it and need it without passing through the scheduler. The first frame is the JSON text handshake of
 * role 'peer' carrying the scheduler's token, checked in constant time before any binary frame is decoded,
 * as the scheduler does (server/ws-server.ts). Then: `get` keys → `data` values (and the keys not stored),
 * framed as wire/peer-frames.ts says (large binary results as frames of their own bytes).
 */
import type { WebSocket } from 'ws';
import { InvalidArgumentError, toErrorInfo } from '../../protocol/errors';
import type { FromPeer, ToPeer } from '../../protocol/worker-process-messages';
import { isLoopback } from '../../wire/auth';
import { DEFAULT_LIMITS, type WireLimits } from '../../wire/limits';
import { decodeMessage, encodeMessage, encodeReply } from '../../wire/peer-frames';
import { acceptHandshake, listenWebSocket } from '../../wire/ws-listen';

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
  const rules = { timeoutMs: limits.handshakeTimeoutMs, token: opts.token, roles: ['peer'] as const, speaker: 'this worker' };
  return listenWebSocket({
    host,
    port,
    maxFrameBytes: limits.maxFrameBytes,
    banner: 'Shared Futures worker peer port: connect with a WebSocket client',
    shuttingDown: 'worker shutting down',
    onConnection: (ws) => acceptHandshake(ws, rules, () => serve(ws, lookup)),
  });
}

/** Answers a peer's `get` requests on a connection whose handshake passed. */
function serve(ws: WebSocket, lookup: (keys: string[]) => { values: unknown[]; missing: string[] }): void {
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
}
