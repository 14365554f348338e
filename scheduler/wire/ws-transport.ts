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
  /** Handles incoming batches in slices of inputSliceMs (the scheduler's connections). */
  sliceInput?: boolean;
  /**
   * Batches handled at once even when this turn's input slice is spent (control requests such as
   * schedulerInfo(): cheap, and waited for), unless earlier input of the same connection still waits.
   */
  cheap?: (batch: unknown[]) => boolean;
  /**
   * Cuts an incoming batch into parts, each handled as its own piece of input work (sliced connections only):
   * a slice can end between two parts, so one batch that costs much (an append of hundreds of futures to
   * hundreds of subscribers) does not hold the loop at once. Undefined: the batch is handled whole.
   */
  split?: (batch: unknown[]) => unknown[][] | undefined;
  /**
   * Messages that leave at once even while the connection waits in the write queue (replies to requests: a
   * control request such as schedulerInfo() is answered ahead of bulk deliveries). What was queued before
   * such a message leaves with it, so the connection's order is kept.
   */
  urgent?: (message: unknown) => boolean;
}

/**
 * Turns of the event loop, as far as the WebSocket transports care. A turn ends with `endTurn`, one
 * setImmediate per turn in which some connection read or wrote or in which work waits: it runs the waiting
 * writes and input with what is left of the turn's budget, then starts the count of the next turn.
 */
let turn = 0;
let turnEnding = false;
/**
 * ms this turn spent on the connections' work: handling input in the round of I/O callbacks, writing at the
 * end of microtasks (the fast path of `schedule`), and the write and input slices of `endTurn`. One budget
 * for all of them: a request that arrives while the scheduler is busy waits for the end of the current turn
 * (the next poll for input), and on a machine whose cores are shared that turn's CPU is stretched several
 * times over; with a budget per kind of work a turn took up to four slices.
 */
let spentInTurn = 0;

function markTurn(): void {
  if (turnEnding) return;
  turnEnding = true;
  setImmediate(endTurn);
}

/**
 * The end of a turn (the check phase, right after the round of I/O callbacks): a slice of the write queue,
 * then a slice of waiting input, each of at least one connection, within what is left of the turn's budget.
 * What still waits is left for the next turn, after the loop has polled for input.
 */
function endTurn(): void {
  try {
    runWrites();
    runInput();
  } finally {
    turn++;
    spentInTurn = 0;
    turnEnding = false;
    // Also after a handler threw: the rest of the work is not left waiting for ever.
    if (writesWaiting() > 0 || inputQueue.length > 0) markTurn();
  }
}

/**
 * How long the writes of one turn may take (ms), counted in the turn's budget: the writes that leave at the
 * end of microtasks, then the turn's slice of the write queue. Between two turns the loop polls for input, so
 * a request that arrives while a large fan-out is being written is read (and, being urgent, answered) within
 * about one turn.
 */
let writeSliceMs = 5;

/**
 * Connections whose writes wait for a slice, in the order they asked (each at most once). While it is not
 * empty every connection joins its end (first come, first written), except for urgent messages.
 */
const writeQueue: { flushQueued(): void }[] = [];
let writeQueueHead = 0;

/** Connections waiting to write (the write queue's length). */
export function writesWaiting(): number {
  return writeQueue.length - writeQueueHead;
}

function enqueueWrite(t: { flushQueued(): void }): void {
  writeQueue.push(t);
  markTurn();
}

/** The turn's slice of the write queue: at least one connection, then as long as the budget lasts. */
function runWrites(): void {
  if (writesWaiting() === 0) return;
  const t0 = performance.now();
  const until = t0 + writeSliceMs - spentInTurn;
  try {
    while (writeQueueHead < writeQueue.length) {
      const t = writeQueue[writeQueueHead++];
      t.flushQueued();
      if (performance.now() >= until) break;
    }
  } finally {
    spentInTurn += performance.now() - t0;
    compactWrites();
  }
}

/** Drops the written entries of the write queue. */
function compactWrites(): void {
  if (writeQueueHead >= writeQueue.length) {
    writeQueue.length = 0;
    writeQueueHead = 0;
  } else if (writeQueueHead > 1024 && writeQueueHead * 2 > writeQueue.length) {
    writeQueue.splice(0, writeQueueHead);
    writeQueueHead = 0;
  }
}

/**
 * How long the handling of incoming batches may take per turn (ms), counted in the turn's budget, on
 * connections that slice their input (`sliceInput`: the scheduler's). A batch that arrives once this turn's
 * budget is spent waits in its connection's input queue (the socket paused meanwhile) and is handled in a
 * later turn, so the one round of I/O callbacks that reads many sockets — outcomes of 16 workers, appends,
 * each fanning out to hundreds of clients — cannot hold the loop for all of them at once.
 */
let inputSliceMs = 5;

/**
 * Sets the slices' lengths (ms); returns the previous ones. Tests make them 0 (one connection's writes, one
 * connection's input per turn) to see the slicing on a machine of any speed.
 */
export function setSlices(slices: { writeMs?: number; inputMs?: number }): { writeMs: number; inputMs: number } {
  const before = { writeMs: writeSliceMs, inputMs: inputSliceMs };
  writeSliceMs = slices.writeMs ?? writeSliceMs;
  inputSliceMs = slices.inputMs ?? inputSliceMs;
  return before;
}

/** Connections with input waiting for a slice, in the order they fell behind. */
const inputQueue: { takeDeferred(until: number): boolean }[] = [];

function enqueueInput(t: { takeDeferred(until: number): boolean }): void {
  inputQueue.push(t);
  markTurn();
}

/** Batches waiting for a slice, over all connections (exported for tests). */
export function inputWaiting(): number {
  return inputQueue.length;
}

/** The turn's slice of waiting input: at least one batch, then as long as the budget lasts. */
function runInput(): void {
  if (inputQueue.length === 0) return;
  const t0 = performance.now();
  const until = t0 + inputSliceMs - spentInTurn;
  // Round robin: a connection with more input than one slice takes goes back to the end.
  try {
    for (let n = inputQueue.length; n > 0; n--) {
      const t = inputQueue[0];
      const more = t.takeDeferred(until);
      inputQueue.shift();
      if (more) inputQueue.push(t);
      if (performance.now() >= until) break;
    }
  } finally {
    spentInTurn += performance.now() - t0;
  }
}

export class WebSocketTransport<In, Out> extends BatchingTransport<In, Out> {
  /** The turn in which this connection last wrote at the end of a microtask. */
  private wroteInTurn = -1;
  /** In the write queue, not yet written. */
  private waitingToWrite = false;
  /** What the peer's frames asked for (a batch to handle, a bad frame's answer, its close), waiting for an input slice, in arrival order. */
  private deferred: (() => void)[] = [];
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
    ws.on('close', (code: number, reason: Buffer) => this.peerGone(closeError(code, reason.toString(), opts.peer ?? 'the peer')));
    ws.on('error', (err: Error) => this.peerGone(err));
  }

  override send(message: Out): void {
    super.send(message);
    if (this.waitingToWrite && this.opts.urgent?.(message)) {
      // Out of the write queue (its entry is skipped): this and what waited before it leave now.
      this.waitingToWrite = false;
      queueMicrotask(() => this.flush());
    }
  }

  /** Called by the write queue when this connection's turn comes. */
  flushQueued(): void {
    if (!this.waitingToWrite) return;
    this.waitingToWrite = false;
    this.flush();
  }

  /**
   * Does what a frame of the peer asks for (`work`: handle a batch, answer a bad frame, close) now, or — on a
   * connection that slices its input, once this turn's input slice is spent or while earlier input of this
   * connection waits — queues it for a later slice (see inputSliceMs), so the peer's frames are always dealt
   * with in the order it sent them. `cheap` work (a control request) runs past a spent slice.
   */
  private inOrder(work: () => void, cheap?: () => boolean): void {
    if (!this.opts.sliceInput) return work();
    if (this.deferred.length === 0 && (spentInTurn < inputSliceMs || cheap?.() === true)) {
      markTurn();
      const t0 = performance.now();
      try {
        work();
      } finally {
        spentInTurn += performance.now() - t0;
      }
      return;
    }
    this.deferred.push(work);
    if (this.deferred.length === 1) {
      // Nothing more is read from this socket until its waiting input is handled.
      this.ws.pause();
      enqueueInput(this);
    }
  }

  /** Handles waiting input until `until` (performance.now()); true when some still waits. */
  takeDeferred(until: number): boolean {
    while (this.deferred.length > 0 && !this.closed) {
      (this.deferred.shift() as () => void)();
      if (performance.now() >= until) break;
    }
    if (this.closed) this.deferred = [];
    if (this.deferred.length > 0) return true;
    // Also once closed: a closing handshake (fail() closes at once) needs the peer's answer read.
    this.ws.resume();
    return false;
  }

  /**
   * The connection ended (closed by the peer, or failed). What it sent before is handled first: with input
   * waiting, the close is handled after it, and past this turn's input slice it waits for a slice too (a
   * hundred clients leaving at once each release what they held).
   */
  private peerGone(reason: Error | undefined): void {
    if (!this.closed) this.inOrder(() => this.closeSignal.fire(reason));
  }

  protected override accepting(): boolean {
    return !this.closing;
  }

  /**
   * The first write of a turn leaves at the end of the microtask, as soon as it can (latency), as long as the
   * writes of this turn have taken less than writeSliceMs and no connection waits in the write queue; other
   * writes join the write queue, written in slices of writeSliceMs from the turn's end (setImmediate: right
   * after the current round of I/O callbacks) with a poll for input between slices. So a scheduler handling
   * frames of many sockets in one round — outcomes from workers, appends from producers — writes each
   * connection at most twice per turn, not once per frame handled, and a fan-out to many connections is
   * spread over turns instead of holding the loop until every subscriber is written: with 500 subscribers,
   * writing all of them in one turn held the loop for up to 2 s.
   */
  protected override schedule(flush: () => void): void {
    if (this.wroteInTurn !== turn && spentInTurn < writeSliceMs && writesWaiting() === 0) {
      this.wroteInTurn = turn;
      markTurn();
      queueMicrotask(() => {
        // Many connections may have been sent to before the first of these microtasks runs: the budget is
        // checked here, and once it is spent the others join the write queue.
        if (spentInTurn >= writeSliceMs || writesWaiting() > 0) {
          this.waitingToWrite = true;
          enqueueWrite(this);
          return;
        }
        const t0 = performance.now();
        flush();
        spentInTurn += performance.now() - t0;
      });
      return;
    }
    this.waitingToWrite = true;
    enqueueWrite(this);
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
        return this.inOrder(() => this.fail(CloseCode.tooBig, `a batch of ${total} bytes is over the limit of ${this.opts.limits.maxBatchBytes}`));
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
      return this.inOrder(() => this.fail(CloseCode.rateLimited, `more than ${this.opts.limits.maxMessagesPerSecond} messages per second`));
    }
    const parts = this.opts.sliceInput ? this.opts.split?.(batch) : undefined;
    if (parts === undefined || parts.length < 2) {
      const cheap = this.opts.cheap;
      this.inOrder(() => this.receive(batch as In[]), cheap && (() => cheap(batch)));
      return;
    }
    // In order, each as input work of its own; the parts after a `close` the peer sent (the connection is
    // closing) are dropped, as the rest of a whole batch after it would be.
    parts.forEach((part, i) => this.inOrder(() => (i === 0 || !this.closing) && this.receive(part as In[])));
  }

  private bad(err: WireError): void {
    this.inOrder(() => this.opts.onBadFrame?.(err));
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
