/**
 * A Transport over one WebSocket (either side). Binary frames carry V8-serialized batches; a batch larger
 * than CHUNK_BYTES leaves in chunks with a turn of the event loop between them, so one large result does
 * not delay every other connection. Text frames are only used by the handshake (ws-server/ws-client).
 *
 * Frame layout: byte 0 is the kind — 0 a whole batch, 1 the first chunk (then a 4-byte big-endian total
 * length), 2 a further chunk, 3 a whole segmented batch, 4 the first chunk of a segmented batch (then the
 * total length) — followed by the payload. A segmented batch (codec.ts, `writeSegments`) is how a batch
 * holding shared messages leaves: each shared message is a segment encoded once for all connections, the
 * messages between them are encoded together per connection.
 */
import type WebSocket from 'ws';
import { decodeBatch, decodeSegments, encodeBatch, encodeShared, isShared, segmentsLength, writeSegments } from './codec';
import { WireError } from '../protocol/errors';
import { CloseCode, closeError } from './close-codes';
import { CHUNK_BYTES, RateLimiter, type WireLimits } from './limits';
import { BatchingTransport } from '../transport/transport-base';

/** Frame kinds (byte 0 of every binary frame); exported for tests that speak the wire by hand. */
export const WHOLE = 0;
export const FIRST = 1;
export const MORE = 2;
export const WHOLE_SEGMENTS = 3;
export const FIRST_SEGMENTS = 4;

export interface WsTransportOptions {
  limits: WireLimits;
  /** Batches that arrived in the handshake, delivered first. */
  initial?: unknown[];
  /** Who is at the other end, as the error of a close it made names it (a scheduler's address, a client's id). */
  peer?: string;
  /** Called with a bad frame's error; the connection stays open (the server answers with an error message). */
  onBadFrame?: (err: WireError) => void;
}

/**
 * Turns of the event loop, as far as the WebSocket transports care: counted by one setImmediate per turn in
 * which some connection wrote. See WebSocketTransport.schedule.
 */
let turn = 0;
let turnEnding = false;

function markTurn(): void {
  if (turnEnding) return;
  turnEnding = true;
  setImmediate(() => {
    turn++;
    turnEnding = false;
  });
}

export class WebSocketTransport<In, Out> extends BatchingTransport<In, Out> {
  /** The turn in which this connection last wrote at the end of a microtask. */
  private wroteInTurn = -1;
  private sending: Buffer[] = [];
  private draining = false;
  private closing = false;
  private assembling: { total: number; parts: Buffer[]; received: number; segmented: boolean } | undefined;
  private readonly rate: RateLimiter;

  constructor(
    private readonly ws: WebSocket,
    private readonly opts: WsTransportOptions,
  ) {
    super();
    this.rate = new RateLimiter(opts.limits.maxMessagesPerSecond);
    if (opts.initial) this.receive(opts.initial as In[]);
    ws.on('message', (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => this.onFrame(toBuffer(data), isBinary));
    ws.on('close', (code: number, reason: Buffer) => this.closeSignal.fire(closeError(code, reason.toString(), opts.peer ?? 'the peer')));
    ws.on('error', (err: Error) => this.closeSignal.fire(err));
  }

  protected override accepting(): boolean {
    return !this.closing;
  }

  /**
   * The first write of a turn leaves at the end of the microtask, as soon as it can (latency); what is sent to
   * the same connection later in the same turn waits for the turn's end (setImmediate: right after the current
   * round of I/O callbacks), so a scheduler handling frames of many sockets in one round — outcomes from
   * workers, appends from producers — writes each connection at most twice per turn, not once per frame handled.
   * With 500 subscribers, a write per status change per subscriber stalled the scheduler's loop for a second.
   */
  protected override schedule(flush: () => void): void {
    if (this.wroteInTurn === turn) {
      setImmediate(flush);
      return;
    }
    this.wroteInTurn = turn;
    markTurn();
    queueMicrotask(flush);
  }

  protected deliver(batch: Out[]): void {
    let shared = false;
    for (const m of batch) if (isShared(m)) shared = true;
    if (shared) return this.deliverSegments(batch);
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

  /** A batch with shared messages: those reuse their one encoding, the runs between them are encoded here. */
  private deliverSegments(batch: Out[]): void {
    const segments: Buffer[] = [];
    try {
      let run: Out[] = [];
      for (const m of batch) {
        if (!isShared(m)) {
          run.push(m);
          continue;
        }
        if (run.length > 0) segments.push(encodeBatch(run));
        run = [];
        segments.push(encodeShared(m as object));
      }
      if (run.length > 0) segments.push(encodeBatch(run));
    } catch (err) {
      if (batch.length > 1) return this.sendEach(batch);
      this.opts.onBadFrame?.(err as WireError);
      return;
    }
    if (segments.length === 1) return this.enqueueFrames(segments[0]);
    const total = segmentsLength(segments);
    if (total <= CHUNK_BYTES) {
      const frame = Buffer.allocUnsafe(1 + total);
      frame[0] = WHOLE_SEGMENTS;
      writeSegments(segments, frame, 1);
      return this.enqueueFrame(frame);
    }
    const payload = Buffer.allocUnsafe(total);
    writeSegments(segments, payload, 0);
    this.enqueueFrames(payload, FIRST_SEGMENTS);
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

  /** Queues `payload` as one frame or, past CHUNK_BYTES, as chunks (`first` is the kind of the first chunk). */
  private enqueueFrames(payload: Buffer, first = FIRST): void {
    if (payload.length <= CHUNK_BYTES) {
      const frame = Buffer.allocUnsafe(1 + payload.length);
      frame[0] = WHOLE;
      payload.copy(frame, 1);
      return this.enqueueFrame(frame);
    }
    if (this.overLimit()) return;
    const head = Buffer.alloc(5);
    head[0] = first;
    head.writeUInt32BE(payload.length, 1);
    this.sending.push(Buffer.concat([head, payload.subarray(0, CHUNK_BYTES)]));
    for (let off = CHUNK_BYTES; off < payload.length; off += CHUNK_BYTES) {
      this.sending.push(Buffer.concat([Buffer.from([MORE]), payload.subarray(off, off + CHUNK_BYTES)]));
    }
    if (!this.draining) this.drain();
  }

  /** Queues one whole frame (kind byte included). */
  private enqueueFrame(frame: Buffer): void {
    if (this.overLimit()) return;
    this.sending.push(frame);
    if (!this.draining) this.drain();
  }

  /** Cuts off a peer that leaves more than maxOutstandingBytes unread; true when it did. */
  private overLimit(): boolean {
    if (this.ws.bufferedAmount <= this.opts.limits.maxOutstandingBytes) return false;
    this.fail(CloseCode.slowConsumer, `slow consumer: more than ${this.opts.limits.maxOutstandingBytes} bytes unread`);
    return true;
  }

  /** Sends queued frames; after each chunk of a large batch, yields a turn so other work can run. */
  private drain(): void {
    this.draining = true;
    while (this.sending.length > 0 && !this.closed) {
      const frame = this.sending.shift() as Buffer;
      this.ws.send(frame, { binary: true });
      if (frame[0] !== WHOLE && frame[0] !== WHOLE_SEGMENTS && this.sending.length > 0) {
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
    if ((kind === WHOLE || kind === FIRST || kind === WHOLE_SEGMENTS || kind === FIRST_SEGMENTS) && this.assembling) {
      // The peer gave up on a chunked batch: drop it (and say so) rather than refuse every later frame.
      this.assembling = undefined;
      this.bad(new WireError('ERR_FRAME', 'a chunked batch was abandoned before its last chunk; it was dropped'));
    }
    if (kind === WHOLE) return this.decodeAndReceive(data.subarray(1), false);
    if (kind === WHOLE_SEGMENTS) return this.decodeAndReceive(data.subarray(1), true);
    if (kind === FIRST || kind === FIRST_SEGMENTS) {
      if (data.length < 5) return this.bad(new WireError('ERR_FRAME', 'malformed first chunk'));
      const total = data.readUInt32BE(1);
      if (total > this.opts.limits.maxBatchBytes) {
        return this.fail(CloseCode.tooBig, `a batch of ${total} bytes is over the limit of ${this.opts.limits.maxBatchBytes}`);
      }
      this.assembling = { total, parts: [data.subarray(5)], received: data.length - 5, segmented: kind === FIRST_SEGMENTS };
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
      this.decodeAndReceive(Buffer.concat(a.parts), a.segmented);
    }
  }

  private decodeAndReceive(payload: Buffer, segmented: boolean): void {
    let batch: unknown[];
    try {
      batch = segmented ? decodeSegments(payload) : decodeBatch(payload);
    } catch (err) {
      return this.bad(err as WireError);
    }
    if (!this.rate.take(batch.length)) {
      return this.fail(CloseCode.rateLimited, `more than ${this.opts.limits.maxMessagesPerSecond} messages per second`);
    }
    this.receive(batch as In[]);
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
