/**
 * A Transport over one WebSocket (either side). Binary frames carry V8-serialized batches; a batch larger
 * than CHUNK_BYTES leaves in chunks with a turn of the event loop between them, so one large result does
 * not hold up every other connection. Text frames are only used by the handshake (ws-server/ws-client).
 *
 * Frame layout: byte 0 is the kind — 0 a whole batch, 1 the first chunk (then a 4-byte big-endian total
 * length), 2 a further chunk — followed by the payload.
 */
import type WebSocket from 'ws';
import { decodeBatch, encodeBatch } from './codec';
import { WireError } from '../protocol/errors';
import { CloseCode } from './close-codes';
import { CHUNK_BYTES, RateLimiter, type WireLimits } from './limits';
import { BatchingTransport } from '../transport/transport-base';

const WHOLE = 0;
const FIRST = 1;
const MORE = 2;

export interface WsTransportOptions {
  limits: WireLimits;
  /** Batches that arrived in the handshake, delivered first. */
  initial?: unknown[];
  /** Called with a bad frame's error; the connection stays open (the server answers with an error message). */
  onBadFrame?: (err: WireError) => void;
  /** Checks each incoming message; a message it refuses is dropped and reported through onBadFrame. */
  validate?: (message: unknown) => WireError | undefined;
}

/** Refused messages of one batch reported one by one; past this, one summary error for the rest. */
const MAX_REPORTED_PER_BATCH = 16;

export class WebSocketTransport<In, Out> extends BatchingTransport<In, Out> {
  private sending: Buffer[] = [];
  private draining = false;
  private closing = false;
  private assembling: { total: number; parts: Buffer[]; received: number } | undefined;
  private readonly rate: RateLimiter;

  constructor(
    private readonly ws: WebSocket,
    private readonly opts: WsTransportOptions,
  ) {
    super();
    this.rate = new RateLimiter(opts.limits.maxMessagesPerSecond);
    if (opts.initial) this.receive(opts.initial as In[]);
    ws.on('message', (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => this.onFrame(toBuffer(data), isBinary));
    ws.on('close', (code: number, reason: Buffer) => this.closeSignal.fire(closeError(code, reason.toString())));
    ws.on('error', (err: Error) => this.closeSignal.fire(err));
  }

  protected override accepting(): boolean {
    return !this.closing;
  }

  protected deliver(batch: Out[]): void {
    let payload: Buffer;
    try {
      payload = encodeBatch(batch);
    } catch (err) {
      // One unsendable message must not take the others with it: send them one by one.
      if (batch.length > 1) return this.sendEach(batch);
      this.opts.onBadFrame?.(err as WireError);
      return;
    }
    this.enqueueFrames(payload);
  }

  private sendEach(batch: Out[]): void {
    for (const m of batch) {
      try {
        this.enqueueFrames(encodeBatch([m]));
      } catch (err) {
        this.opts.onBadFrame?.(err as WireError);
      }
    }
  }

  private enqueueFrames(payload: Buffer): void {
    if (this.ws.bufferedAmount > this.opts.limits.maxOutstandingBytes) {
      this.fail(CloseCode.slowConsumer, `slow consumer: more than ${this.opts.limits.maxOutstandingBytes} bytes unread`);
      return;
    }
    if (payload.length <= CHUNK_BYTES) {
      this.sending.push(Buffer.concat([Buffer.from([WHOLE]), payload]));
    } else {
      const head = Buffer.alloc(5);
      head[0] = FIRST;
      head.writeUInt32BE(payload.length, 1);
      this.sending.push(Buffer.concat([head, payload.subarray(0, CHUNK_BYTES)]));
      for (let off = CHUNK_BYTES; off < payload.length; off += CHUNK_BYTES) {
        this.sending.push(Buffer.concat([Buffer.from([MORE]), payload.subarray(off, off + CHUNK_BYTES)]));
      }
    }
    if (!this.draining) this.drain();
  }

  /** Sends queued frames; after each chunk of a large batch, yields a turn so other work can run. */
  private drain(): void {
    this.draining = true;
    while (this.sending.length > 0 && !this.closed) {
      const frame = this.sending.shift() as Buffer;
      this.ws.send(frame, { binary: true });
      if (frame[0] !== WHOLE && this.sending.length > 0) {
        setImmediate(() => this.drain());
        return;
      }
    }
    this.draining = false;
  }

  private onFrame(data: Buffer, isBinary: boolean): void {
    if (this.closed) return;
    if (!isBinary || data.length === 0) return this.bad(new WireError('ERR_FRAME', 'expected a binary frame after the handshake'));
    const kind = data[0];
    if ((kind === WHOLE || kind === FIRST) && this.assembling) {
      // The peer gave up on a chunked batch: drop it (and say so) rather than refuse every later frame.
      this.assembling = undefined;
      this.bad(new WireError('ERR_FRAME', 'a chunked batch was abandoned before its last chunk; it was dropped'));
    }
    if (kind === WHOLE) return this.decodeAndReceive(data.subarray(1));
    if (kind === FIRST) {
      if (data.length < 5) return this.bad(new WireError('ERR_FRAME', 'malformed first chunk'));
      const total = data.readUInt32BE(1);
      if (total > this.opts.limits.maxBatchBytes) {
        return this.fail(CloseCode.tooBig, `a batch of ${total} bytes is over the limit of ${this.opts.limits.maxBatchBytes}`);
      }
      this.assembling = { total, parts: [data.subarray(5)], received: data.length - 5 };
    } else if (kind === MORE) {
      if (!this.assembling) return this.bad(new WireError('ERR_FRAME', 'a continuation chunk without a first chunk'));
      this.assembling.parts.push(data.subarray(1));
      this.assembling.received += data.length - 1;
    } else {
      return this.bad(new WireError('ERR_FRAME', `unknown frame kind ${kind}`));
    }
    const a = this.assembling;
    if (a.received > a.total) {
      this.assembling = undefined;
      return this.bad(new WireError('ERR_FRAME', 'chunks longer than announced'));
    }
    if (a.received === a.total) {
      this.assembling = undefined;
      this.decodeAndReceive(Buffer.concat(a.parts));
    }
  }

  private decodeAndReceive(payload: Buffer): void {
    let batch: unknown[];
    try {
      batch = decodeBatch(payload);
    } catch (err) {
      return this.bad(err as WireError);
    }
    if (!this.rate.take(batch.length)) {
      return this.fail(CloseCode.rateLimited, `more than ${this.opts.limits.maxMessagesPerSecond} messages per second`);
    }
    if (this.opts.validate) {
      batch = this.validated(batch, this.opts.validate);
      if (batch.length === 0) return;
    }
    this.receive(batch as In[]);
  }

  /** The well-formed messages of a batch; each refused one is reported (a bounded number of replies). */
  private validated(batch: unknown[], validate: (message: unknown) => WireError | undefined): unknown[] {
    let kept: unknown[] | undefined;
    let refused = 0;
    for (let i = 0; i < batch.length; i++) {
      const err = validate(batch[i]);
      if (err === undefined) {
        kept?.push(batch[i]);
        continue;
      }
      kept ??= batch.slice(0, i);
      if (++refused <= MAX_REPORTED_PER_BATCH) this.bad(err);
    }
    if (refused > MAX_REPORTED_PER_BATCH) {
      this.bad(new WireError('ERR_PROTOCOL', `${refused - MAX_REPORTED_PER_BATCH} more malformed messages of the same batch were dropped`));
    }
    return kept ?? batch;
  }

  private bad(err: WireError): void {
    this.opts.onBadFrame?.(err);
  }

  /** Closes the connection with a code and a reason the peer will see. */
  fail(code: number, reason: string): void {
    if (this.closed) return;
    this.ws.close(code, reason.slice(0, 120));
    this.closeSignal.fire(closeError(code, reason));
  }

  close(): void {
    if (this.closed || this.closing) return;
    this.flush();
    this.closing = true;
    // Let queued chunks leave before the close frame.
    const finish = () => {
      if (this.sending.length > 0 && !this.closed && this.ws.readyState === this.ws.OPEN) {
        setImmediate(finish);
        return;
      }
      this.ws.close(CloseCode.normal, 'closed');
      this.closeSignal.fire();
    };
    finish();
  }
}

function toBuffer(data: Buffer | ArrayBuffer | Buffer[]): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/** The error a close code stands for (undefined for a normal close). */
export function closeError(code: number, reason: string): Error | undefined {
  if (code === CloseCode.normal || code === CloseCode.goingAway) return undefined;
  return new WireError(`ERR_CLOSED_${code}`, `connection closed (${code}${reason ? `: ${reason}` : ''})`);
}
