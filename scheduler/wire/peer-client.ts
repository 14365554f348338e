/**
 * Asks worker processes' peer servers for results they store: used by worker processes (to fetch the
 * dependencies of their tasks from each other) and by clients (to gather results without the scheduler
 * relaying them). One WebSocket per peer address, opened on first use and kept; a connection that fails or
 * closes is dropped from the cache and opened again by the next request.
 */
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import { AuthenticationError, ConnectionError, WireError, fromErrorInfo } from '../protocol/errors';
import { PROTOCOL_VERSION } from '../protocol/messages';
import type { FromPeer, ToPeer } from '../protocol/worker-process-messages';
import { parseSchedulerAddress } from './address';
import { CloseCode, closeError } from './close-codes';
import type { Handshake } from './handshake';
import { DEFAULT_LIMITS, type WireLimits } from './limits';
import { decodeMessage, encodeMessage, rebuildRaw, type RawPart } from './peer-frames';

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

/** A reply whose raw parts are still arriving. */
interface Assembling {
  reply: { req: number; values: unknown[]; missing?: string[] };
  parts: RawPart[];
  next: number;
}

class PeerConnection {
  private readonly ws: WebSocket;
  private open = false;
  private readonly queue: Buffer[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextReq = 1;
  private lastHeard = Date.now();
  private readonly idle: NodeJS.Timeout;
  private assembling: Assembling | undefined;
  /** Bytes announced by replies and not arrived yet (what this connection is receiving). */
  private receiving = 0;
  dead = false;

  constructor(
    readonly address: string,
    id: string,
    token: string | undefined,
    limits: WireLimits,
    private readonly onEnd: (c: PeerConnection) => void,
    private readonly onBytes: (delta: number) => void,
  ) {
    const url = parseSchedulerAddress(address);
    this.ws = new WebSocket(url, { maxPayload: limits.maxBatchBytes, perMessageDeflate: false, handshakeTimeout: PEER_CONNECT_TIMEOUT_MS });
    this.ws.on('unexpected-response', (_req, res) => {
      this.ws.terminate();
      this.end(new ConnectionError(`${address} answered HTTP ${res.statusCode}: not a Shared Futures worker's peer port`));
    });
    this.ws.on('error', (err: Error) => this.end(new ConnectionError(`cannot reach peer ${address}: ${err.message}`, { cause: err })));
    this.ws.on('close', (code: number, reason: Buffer) => this.end(closeError(code, reason.toString(), `peer ${address}`) ?? new ConnectionError(`peer ${address} closed the connection`)));
    this.ws.once('open', () => {
      const hello: Handshake = { op: 'hello', version: PROTOCOL_VERSION, role: 'peer', id, ...(token !== undefined ? { token } : {}) };
      this.ws.send(JSON.stringify(hello));
      this.open = true;
      for (const f of this.queue.splice(0)) this.ws.send(f, { binary: true });
      this.applyKeepAlive();
    });
    this.ws.on('message', (data: Buffer, binary: boolean) => {
      this.lastHeard = Date.now();
      try {
        if (!binary) throw new WireError('ERR_FRAME', 'expected a binary frame');
        this.receive(data);
      } catch (err) {
        this.ws.terminate();
        this.end(err as Error);
      }
    });
    this.idle = setInterval(() => {
      if (this.pending.size > 0 && Date.now() - this.lastHeard > PEER_IDLE_TIMEOUT_MS) {
        this.ws.terminate();
        this.end(new ConnectionError(`peer ${address} sent nothing for ${PEER_IDLE_TIMEOUT_MS / 1000}s`));
      }
    }, PEER_IDLE_TIMEOUT_MS / 4);
    this.idle.unref();
  }

  get(keys: string[]): Promise<PeerAnswer> {
    if (this.dead) return Promise.reject(new ConnectionError(`peer ${this.address} is unreachable`));
    const req = this.nextReq++;
    if (this.pending.size === 0) this.lastHeard = Date.now();
    return new Promise((resolve, reject) => {
      this.pending.set(req, { resolve, reject });
      this.applyKeepAlive();
      const frame = encodeMessage({ op: 'get', req, keys } satisfies ToPeer);
      if (this.open) this.ws.send(frame, { binary: true });
      else this.queue.push(frame);
    });
  }

  private receive(frame: Buffer): void {
    const a = this.assembling;
    if (a) {
      const part = a.parts[a.next++];
      a.reply.values[part.i] = rebuildRaw(part, frame);
      this.received(part.bytes);
      if (a.next === a.parts.length) {
        this.assembling = undefined;
        this.settle(a.reply);
      }
      return;
    }
    const m = decodeMessage(frame) as FromPeer & { raw?: RawPart[] };
    if (m?.op === 'data') {
      if (m.raw && m.raw.length > 0) {
        const announced = m.raw.reduce((n, p) => n + p.bytes, 0);
        this.receiving += announced;
        this.onBytes(announced);
        this.assembling = { reply: m, parts: m.raw, next: 0 };
        return;
      }
      this.settle(m);
    } else if (m?.op === 'error') {
      // The peer could not take a request (it says why); nothing is left to wait for on this connection.
      this.ws.terminate();
      this.end(fromErrorInfo(m.error));
    } else {
      throw new WireError('ERR_DECODE', `unknown peer message ${JSON.stringify((m as { op?: unknown })?.op)}`);
    }
  }

  private received(bytes: number): void {
    this.receiving -= bytes;
    this.onBytes(-bytes);
  }

  private settle(reply: { req: number; values: unknown[]; missing?: string[] }): void {
    const p = this.pending.get(reply.req);
    if (!p) return;
    this.pending.delete(reply.req);
    this.applyKeepAlive();
    p.resolve({ values: reply.values, missing: reply.missing ?? [] });
  }

  /** An idle connection does not keep the process alive; one with requests outstanding does. */
  private applyKeepAlive(): void {
    const socket = (this.ws as unknown as { _socket?: { ref(): void; unref(): void } })._socket;
    if (!socket) return;
    if (this.pending.size > 0) socket.ref();
    else socket.unref();
  }

  private end(reason: Error): void {
    if (this.dead) return;
    this.dead = true;
    clearInterval(this.idle);
    this.onBytes(-this.receiving);
    this.receiving = 0;
    const err = reason instanceof ConnectionError || reason instanceof AuthenticationError ? reason : new ConnectionError(`peer ${this.address}: ${reason.message}`, { cause: reason });
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    this.onEnd(this);
  }

  close(): void {
    if (this.open) this.ws.close(CloseCode.normal, 'closed');
    else this.ws.terminate();
    this.end(new ConnectionError(`the connection to peer ${this.address} was closed`));
  }
}

export class PeerClient {
  private readonly conns = new Map<string, PeerConnection>();
  private readonly id: string;
  /** See bytesInFlight. */
  private inFlight = 0;

  constructor(
    private readonly token: string | undefined,
    /** Names this side in the peers' handshakes (a worker id, a client id). */
    name: string,
  ) {
    this.id = `${name.slice(0, 100)}-peer-${randomUUID().slice(0, 8)}`; // a handshake id is at most 200 characters
  }

  /** Bytes of large results announced by peers and not arrived yet, over every connection. */
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
          DEFAULT_LIMITS,
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
