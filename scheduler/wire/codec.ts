/**
 * Encoding of message batches on the wire: V8's serializer (the structured-clone algorithm), so values
 * behave exactly as they do between threads (Maps, Sets, Dates, typed arrays and cycles survive;
 * functions and symbols are refused). Measured against msgpackr in README ("Wire").
 */
import { deserialize, serialize } from 'node:v8';
import { WireError } from '../protocol/errors';

/**
 * Marks a message the core queued, unchanged, for many clients (a channel append goes to every subscriber):
 * the WebSocket transports encode it once and every connection sends the same bytes. A registered symbol,
 * so the core sets it without importing the wire; the serializer ignores symbol keys, so it never travels (the core sets it not enumerable, so it stays out of comparisons too).
 */
export const SHARED_MESSAGE: unique symbol = Symbol.for('shared-futures.shared-message') as never;

/** True for a message marked with SHARED_MESSAGE. */
export function isShared(message: unknown): boolean {
  return (message as { [SHARED_MESSAGE]?: boolean } | null)?.[SHARED_MESSAGE] === true;
}

/** How many times this process ran the serializer over a batch: lets tests see that shared messages are encoded once. */
export const encodeCount = { batches: 0 };

/** Encodes a batch; throws WireError when a value cannot be carried. */
export function encodeBatch(batch: unknown[]): Buffer {
  encodeCount.batches++;
  try {
    return serialize(batch);
  } catch (err) {
    throw new WireError('ERR_ENCODE', `a message cannot be encoded: ${(err as Error).message}`);
  }
}

/**
 * The encoding of one shared message as a batch of one, made at its first send and reused by every other
 * connection it goes to (kept while the message object lives: the core drops it after the drain).
 */
const sharedEncodings = new WeakMap<object, Buffer>();

export function encodeShared(message: object): Buffer {
  let bytes = sharedEncodings.get(message);
  if (!bytes) {
    bytes = encodeBatch([message]);
    sharedEncodings.set(message, bytes);
  }
  return bytes;
}

/** Decodes a batch; anything but an array of objects with an `op` string is a WireError. */
export function decodeBatch(data: Uint8Array): unknown[] {
  let value: unknown;
  try {
    value = deserialize(data);
  } catch (err) {
    throw new WireError('ERR_DECODE', `a frame could not be decoded: ${(err as Error).message}`);
  }
  if (!Array.isArray(value)) throw new WireError('ERR_DECODE', 'a frame must hold an array of messages');
  return value;
}

/**
 * A batch made of separately encoded segments (each an encoded batch) is laid out as, per segment, a 4-byte
 * big-endian length then its bytes. `segmentsLength` is the size of that layout, `writeSegments` writes it.
 */
export function segmentsLength(segments: Buffer[]): number {
  let n = 0;
  for (const s of segments) n += 4 + s.length;
  return n;
}

export function writeSegments(segments: Buffer[], out: Buffer, offset: number): void {
  for (const s of segments) {
    out.writeUInt32BE(s.length, offset);
    s.copy(out, offset + 4);
    offset += 4 + s.length;
  }
}

/** Decodes a segmented batch into one list of messages, in order. */
export function decodeSegments(data: Buffer): unknown[] {
  const out: unknown[] = [];
  let off = 0;
  while (off < data.length) {
    if (off + 4 > data.length) throw new WireError('ERR_DECODE', 'a segment header was cut short');
    const len = data.readUInt32BE(off);
    off += 4;
    if (off + len > data.length) throw new WireError('ERR_DECODE', 'a segment is longer than its frame');
    const part = decodeBatch(data.subarray(off, off + len));
    for (const m of part) out.push(m);
    off += len;
  }
  return out;
}
