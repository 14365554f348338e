/**
 * Frames of the peer link (a PeerClient asking a worker process's peer server for results), after the JSON
 * text handshake. Every message is a binary frame holding a V8-serialized one-message batch, except large
 * binary results: a typed array of RAW_MIN_BYTES or more leaves a `data` reply and follows it as a frame of
 * its own bytes, written from the stored array itself and read into an array viewing the received frame, so
 * a large result is copied once on its way (by the socket) instead of being serialized, chunked, reassembled
 * and deserialized. The reply's `raw` lists the values that follow, in order; the frames of one reply are
 * written together, so they arrive together.
 */
import { decodeBatch, encodeBatch } from './codec';
import { WireError } from '../protocol/errors';

/** Typed arrays smaller than this travel inside the reply (serializing them is cheaper than another frame). */
export const RAW_MIN_BYTES = 64 * 2 ** 10;

const VIEWS = {
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
} as const;

type ViewKind = keyof typeof VIEWS | 'Buffer';

/** A value of a reply that follows as a frame of its own: its position and what to rebuild it as. */
export interface RawPart {
  i: number;
  kind: ViewKind;
  bytes: number;
}

/** The kind of a typed array that may travel raw, or undefined. */
function rawKind(v: unknown): ViewKind | undefined {
  if (!ArrayBuffer.isView(v) || v instanceof DataView || v.byteLength < RAW_MIN_BYTES) return undefined;
  if (Buffer.isBuffer(v)) return 'Buffer';
  const name = (Object.getPrototypeOf(v) as { constructor?: { name?: string } })?.constructor?.name;
  return name !== undefined && Object.prototype.hasOwnProperty.call(VIEWS, name) && (VIEWS as Record<string, unknown>)[name] === (v as object).constructor ? (name as ViewKind) : undefined;
}

/** The frames of a `data` reply: the reply (large typed arrays left out and listed in `raw`), then their bytes. */
export function encodeReply(reply: { op: 'data'; req: number; values: unknown[]; missing?: string[] }): Uint8Array[] {
  const raw: RawPart[] = [];
  const bodies: Uint8Array[] = [];
  const values = reply.values.map((v, i) => {
    const kind = rawKind(v);
    if (kind === undefined) return v;
    const view = v as ArrayBufferView;
    raw.push({ i, kind, bytes: view.byteLength });
    bodies.push(new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
    return undefined;
  });
  const head = encodeBatch([raw.length > 0 ? { ...reply, values, raw } : reply]);
  return [head, ...bodies];
}

/** One message of a binary frame that is not a raw part. */
export function decodeMessage(frame: Uint8Array): unknown {
  const batch = decodeBatch(frame);
  if (batch.length !== 1) throw new WireError('ERR_DECODE', 'a peer frame holds exactly one message');
  return batch[0];
}

export function encodeMessage(message: unknown): Buffer {
  return encodeBatch([message]);
}

/** The value a raw part stands for, viewing `frame` when it can (copied when its alignment does not allow a view). */
export function rebuildRaw(part: RawPart, frame: Buffer): unknown {
  if (frame.byteLength !== part.bytes) throw new WireError('ERR_FRAME', `a raw value of ${part.bytes} bytes arrived as ${frame.byteLength}`);
  // A view keeps its whole ArrayBuffer alive (and a structured clone copies all of it): own it when it is shared.
  const whole = frame.byteOffset === 0 && frame.byteLength === frame.buffer.byteLength;
  const own = whole ? frame : Buffer.from(frame);
  if (part.kind === 'Buffer') return own;
  const View = VIEWS[part.kind];
  if (View === undefined) throw new WireError('ERR_DECODE', `unknown raw kind ${String(part.kind)}`);
  if (own.byteOffset % View.BYTES_PER_ELEMENT !== 0 || part.bytes % View.BYTES_PER_ELEMENT !== 0) {
    const copy = new Uint8Array(part.bytes);
    copy.set(own);
    return new View(copy.buffer, 0, part.bytes / View.BYTES_PER_ELEMENT);
  }
  return new View(own.buffer as ArrayBuffer, own.byteOffset, part.bytes / View.BYTES_PER_ELEMENT);
}
