/**
 * Asks worker processes' peer servers for results they store: used by worker processes (to fetch the
 * dependencies of their tasks from each other) and by clients (to gather results without the scheduler
 * relaying them). One WebSocket per peer address, opened on first use and kept; a connection that fails or
 * closes is dropped from the cache and opened again by the next request.
 */
import { randomUUID } from 'node:crypto';
import { ConnectionError, fromErrorInfo } from '../protocol/errors';
import type { FromPeer, ToPeer } from '../protocol/worker-process-messages';
import { WsClientTransport } from './ws-client';

/** How long a peer may take to accept a connection. */
const PEER_CONNECT_TIMEOUT_MS = 5_000;
/**
 * A peer that sends nothing for this long while a request is outstanding is given up on (its connection is
 * closed and the request fails), so a peer that stopped (SIGSTOP, a dead link) cannot hold a fetch forever.
 */
export const PEER_IDLE_TIMEOUT_MS = 30_000;

/** What a peer answered: the values of the keys asked for, in order, and the keys it does not store. */
export interface PeerAnswer {
  values: unknown[];
  missing: string[];
}

type Pending = { resolve: (a: PeerAnswer) => void; reject: (e: Error) => void };

class PeerConnection {
  private readonly transport: WsClientTransport<FromPeer, ToPeer | { op: 'hello'; id: string }>;
  private readonly pending = new Map<number, Pending>();
  private nextReq = 1;
  private lastHeard = Date.now();
  private readonly idle: NodeJS.Timeout;
  /** Bytes arrived since the oldest outstanding request started (what this connection is receiving). */
  receiving = 0;
  dead = false;

  constructor(
    readonly address: string,
    id: string,
    token: string | undefined,
    private readonly onEnd: (c: PeerConnection) => void,
    private readonly onBytes: (delta: number) => void,
  ) {
    this.transport = new WsClientTransport(address, 'peer', {
      ...(token !== undefined ? { token } : {}),
      connectTimeoutMs: PEER_CONNECT_TIMEOUT_MS,
      onFrameBytes: (n) => {
        this.lastHeard = Date.now();
        if (this.pending.size === 0) return;
        this.receiving += n;
        this.onBytes(n);
      },
    });
    this.transport.onMessages((batch) => this.receive(batch));
    this.transport.onClose((reason) => this.end(reason ?? new ConnectionError(`peer ${address} closed the connection`)));
    this.transport.send({ op: 'hello', id });
    this.idle = setInterval(() => {
      if (this.pending.size > 0 && Date.now() - this.lastHeard > PEER_IDLE_TIMEOUT_MS) {
        this.transport.close();
        this.end(new ConnectionError(`peer ${address} sent nothing for ${PEER_IDLE_TIMEOUT_MS / 1000}s`));
      }
    }, PEER_IDLE_TIMEOUT_MS / 4);
    this.idle.unref();
  }

  get(keys: string[]): Promise<PeerAnswer> {
    if (this.dead) return Promise.reject(new ConnectionError(`peer ${this.address} is unreachable`));
    const req = this.nextReq++;
    if (this.pending.size === 0) this.lastHeard = Date.now();
    this.transport.setKeepAlive(true);
    return new Promise((resolve, reject) => {
      this.pending.set(req, { resolve, reject });
      this.transport.send({ op: 'get', req, keys });
    });
  }

  private receive(batch: FromPeer[]): void {
    for (const m of batch) {
      if (m?.op === 'data') {
        const p = this.pending.get(m.req);
        if (!p) continue;
        this.pending.delete(m.req);
        this.settled();
        p.resolve({ values: m.values, missing: m.missing ?? [] });
      } else if (m?.op === 'error') {
        // The peer could not take a request (it says why); nothing is left to wait for on this connection.
        this.transport.close();
        this.end(fromErrorInfo(m.error));
      }
    }
  }

  /** A request was answered: what arrived for it no longer counts as being received. */
  private settled(): void {
    if (this.pending.size === 0) {
      this.onBytes(-this.receiving);
      this.receiving = 0;
      this.transport.setKeepAlive(false);
    }
  }

  private end(reason: Error): void {
    if (this.dead) return;
    this.dead = true;
    clearInterval(this.idle);
    this.onBytes(-this.receiving);
    this.receiving = 0;
    const err = reason instanceof ConnectionError || reason.name === 'AuthenticationError' ? reason : new ConnectionError(`peer ${this.address}: ${reason.message}`, { cause: reason });
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    this.onEnd(this);
  }

  close(): void {
    this.transport.close();
    this.end(new ConnectionError(`the connection to peer ${this.address} was closed`));
  }
}

export class PeerClient {
  private readonly conns = new Map<string, PeerConnection>();
  private readonly id: string;
  /** Bytes arriving for outstanding requests, over every connection. */
  private inFlight = 0;

  constructor(
    private readonly token: string | undefined,
    /** Names this side in the peers' handshakes (a worker id, a client id). */
    name: string,
  ) {
    this.id = `${name}-peer-${randomUUID().slice(0, 8)}`;
  }

  /** Bytes received so far for requests not yet answered. */
  get bytesInFlight(): number {
    return this.inFlight;
  }

  /** Asks the peer server at `address` for `keys`; rejects with a ConnectionError when it cannot be reached. */
  get(address: string, keys: string[]): Promise<PeerAnswer> {
    let c = this.conns.get(address);
    if (!c || c.dead) {
      try {
        c = new PeerConnection(
          address,
          this.id,
          this.token,
          (ended) => {
            if (this.conns.get(address) === ended) this.conns.delete(address);
          },
          (delta) => (this.inFlight += delta),
        );
      } catch (err) {
        return Promise.reject(new ConnectionError(`cannot reach peer ${address}: ${(err as Error).message}`, { cause: err }));
      }
      this.conns.set(address, c);
    }
    return c.get(keys);
  }

  close(): void {
    for (const c of [...this.conns.values()]) c.close();
    this.conns.clear();
  }
}
