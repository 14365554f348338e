/**
 * Encoding of message batches on the wire: V8's serializer (the structured-clone algorithm), so values
 * behave exactly as they do between threads (Maps, Sets, Dates, typed arrays and cycles survive;
 * functions and symbols are refused). Measured against msgpackr in README ("Wire").
 */
import { deserialize, serialize } from 'node:v8';
import { WireError } from '../protocol/errors';
import type { FutureStatus } from '../protocol/messages';

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

/**
 * Messages that carry one object per task (a client's submit, the scheduler's run orders to a worker process,
 * a worker process's outcomes), and the field holding that list. On the wire the list travels by column,
 * `{ $cols: names, v: columns }`: V8's serializer writes and reads every property name of every object
 * again (reading one costs more than the rest of a small task), while a column of values costs little. A
 * property an object lacks is a hole in its column, so decoding gives back exactly the objects encoded.
 */
const BY_COLUMN: Readonly<Record<string, string>> = { submit: 'tasks', run: 'tasks', done: 'outcomes' };
/** Shorter lists go as they are: the names would cost as much as they save. */
const BY_COLUMN_MIN = 4;

interface Columns {
  $cols: string[];
  v: unknown[][];
}

/**
 * `list` of plain objects by column, or undefined when it is not one (then it travels as it is). A column
 * every object has is a packed array (filled by `push` and never given a hole), which the serializer writes
 * densely; a column with holes is written as a sparse array, index by index, which costs about three times
 * as much to read. A column that needs a hole is moved to an array of its own (`withHoles`): holes made in
 * an array of the packed columns' literal would make V8 allocate every later one there with holes too.
 */
function toColumns(list: unknown[]): Columns | undefined {
  const names: string[] = [];
  const v: unknown[][] = [];
  /** Per column, whether it was moved to an array with holes. */
  const holey: boolean[] = [];
  const n = list.length;
  for (let i = 0; i < n; i++) {
    const o = list[i];
    if (typeof o !== 'object' || o === null || Array.isArray(o)) return undefined;
    for (const name in o) {
      let j = names.indexOf(name);
      if (j < 0) {
        j = names.push(name) - 1;
        v.push(i === 0 ? [] : withHoles([], n));
        holey.push(i !== 0);
      } else if (!holey[j] && v[j].length !== i) {
        // An object before this one lacked the property.
        v[j] = withHoles(v[j], n);
        holey[j] = true;
      }
      if (holey[j]) v[j][i] = (o as Record<string, unknown>)[name];
      else v[j].push((o as Record<string, unknown>)[name]);
    }
  }
  // A property the last objects lack.
  for (let j = 0; j < v.length; j++) if (v[j].length !== n) v[j] = withHoles(v[j], n);
  // Objects without properties have no columns to carry them: they travel as they are.
  return names.length > 0 ? { $cols: names, v } : undefined;
}

/** A copy of `col` in an array of length `n` (holes after its entries). */
function withHoles(col: unknown[], n: number): unknown[] {
  const out = new Array<unknown>(n);
  for (let i = 0; i < col.length; i++) out[i] = col[i];
  return out;
}

/**
 * The objects of a column form, or undefined when `c` is not a well-formed one. `maxLength` bounds every
 * array in it (the frame's size: a list of n values takes at least n bytes), so a hostile sparse array that
 * claims billions of entries is refused instead of walked.
 */
function fromColumns(c: unknown, maxLength: number): unknown[] | undefined {
  const { $cols: names, v } = c as Partial<Columns>;
  if (!Array.isArray(names) || !Array.isArray(v) || v.length !== names.length || v.length === 0 || v.length > maxLength) return undefined;
  for (let j = 0; j < v.length; j++) {
    const col = v[j];
    if (!Array.isArray(col) || col.length > maxLength) return undefined;
    // Names are own data properties, as the serializer would have made them; never the prototype.
    const name = names[j];
    if (typeof name !== 'string' || name === '__proto__') return undefined;
  }
  const n = v[0].length;
  const out: Record<string, unknown>[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const o: Record<string, unknown> = {};
    for (let j = 0; j < names.length; j++) {
      const col = v[j];
      if (i in col) o[names[j]] = col[i];
    }
    out[i] = o;
  }
  return out;
}

/**
 * A `status` message's statuses travel as one byte each (their index here) instead of one string each: a
 * client hears two statuses of every task it submits, and reading a string costs several times a byte.
 */
const STATUSES: readonly string[] = ['pending', 'processing', 'finished', 'error', 'cancelled', 'lost'] satisfies FutureStatus[];
const STATUS_CODE = new Map(STATUSES.map((s, i) => [s, i]));

/** The statuses `s` as codes, or undefined when one is not a status (then they travel as they are). */
function statusCodes(s: unknown): Uint8Array | undefined {
  if (!Array.isArray(s) || s.length < BY_COLUMN_MIN) return undefined;
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const code = STATUS_CODE.get(s[i] as string);
    if (code === undefined) return undefined;
    out[i] = code;
  }
  return out;
}

/**
 * The `items` of an `items` or `replay` message (channel items: `{v: value}` or a future `{k, s?, e?}`)
 * travel as `{ $v: x, c?: codes, e?: errors }`: `x[i]` is item i's value or key, and `c[i]` (absent when
 * every item is a value) says which: ITEM_VALUE, or a future with no status (ITEM_FUTURE) or with status
 * STATUSES[c - ITEM_STATUS], plus ITEM_ERROR when it carries an error, the next of `e`. A subscriber reads
 * a list of values instead of an object per item with its property name (for a list of numbers, about
 * fifteen times less to read); an append goes to every subscriber, so this is the most read list there is.
 */
const ITEMS_BY_OP: Readonly<Record<string, true>> = { items: true, replay: true };
const ITEM_VALUE = 0;
const ITEM_FUTURE = 1;
const ITEM_STATUS = 2;
const ITEM_ERROR = 64;

interface ItemColumns {
  $v: unknown[];
  c?: number[];
  e?: unknown[];
}

/** Item `o`'s code when it is exactly a channel item (own keys v, or k with s and e), else -1. */
function itemCode(o: unknown): number {
  // A literal, as the core makes them: its enumerable properties are its own, the ones the serializer writes.
  if (typeof o !== 'object' || o === null || Object.getPrototypeOf(o) !== Object.prototype) return -1;
  let keys = 0;
  for (const _ in o) keys++;
  const item = o as { v?: unknown; k?: unknown; s?: unknown; e?: unknown };
  if (keys === 1 && Object.hasOwn(item, 'v')) return ITEM_VALUE;
  if (typeof item.k !== 'string' || !Object.hasOwn(item, 'k')) return -1;
  let code = ITEM_FUTURE;
  let expected = 1;
  if (Object.hasOwn(item, 's')) {
    const status = STATUS_CODE.get(item.s as string);
    if (status === undefined) return -1;
    code = ITEM_STATUS + status;
    expected++;
  }
  if (Object.hasOwn(item, 'e')) {
    if (item.e === undefined) return -1;
    code |= ITEM_ERROR;
    expected++;
  }
  return keys === expected ? code : -1;
}

/** A channel item list in its column form, or undefined when an entry is not exactly a channel item. */
function toItemColumns(list: unknown[]): ItemColumns | undefined {
  const x: unknown[] = [];
  let codes: number[] | undefined;
  let errors: unknown[] | undefined;
  for (let i = 0; i < list.length; i++) {
    const o = list[i] as { v?: unknown; k?: string; e?: unknown };
    const code = itemCode(o);
    if (code < 0) return undefined;
    if (code === ITEM_VALUE) x.push(o.v);
    else {
      x.push(o.k);
      if (code & ITEM_ERROR) (errors ??= []).push(o.e);
    }
    if (codes === undefined && code !== ITEM_VALUE) {
      codes = [];
      for (let j = 0; j < i; j++) codes.push(ITEM_VALUE);
    }
    codes?.push(code);
  }
  const out: ItemColumns = { $v: x };
  if (codes) out.c = codes;
  if (errors) out.e = errors;
  return out;
}

/**
 * The channel items of a column form, in the order of `toItemColumns`. A subscriber takes what the scheduler
 * sends as it is, so a malformed form is a WireError here; `maxLength` (the frame's size) bounds the list.
 */
function fromItemColumns(form: Record<string, unknown>, maxLength: number): unknown[] {
  const bad = (why: string) => new WireError('ERR_DECODE', `a channel item list in column form is malformed: ${why}`);
  const { $v: x, c: codes, e: errors } = form as Partial<ItemColumns>;
  if (!Array.isArray(x) || x.length > maxLength) throw bad('$v is not a list of the frame\'s size');
  const n = x.length;
  const out: unknown[] = new Array(n);
  if (codes === undefined) {
    if (errors !== undefined) throw bad('errors without codes');
    for (let i = 0; i < n; i++) out[i] = { v: x[i] };
    return out;
  }
  if (!Array.isArray(codes) || codes.length !== n) throw bad('c is not one code per item');
  if (errors !== undefined && (!Array.isArray(errors) || errors.length > n)) throw bad('e is not a list of errors');
  let nextError = 0;
  for (let i = 0; i < n; i++) {
    const code = codes[i] as number;
    if (code === ITEM_VALUE) {
      out[i] = { v: x[i] };
      continue;
    }
    const k = x[i];
    if (typeof k !== 'string') throw bad(`item ${i} is a future without a string key`);
    const status = (code & ~ITEM_ERROR) - ITEM_STATUS;
    let item: { k: string; s?: string; e?: unknown };
    if (!Number.isInteger(code) || code < ITEM_FUTURE || code > (ITEM_ERROR | (ITEM_STATUS + STATUSES.length - 1))) throw bad(`item ${i} has code ${String(code)}`);
    if (status === ITEM_FUTURE - ITEM_STATUS) item = { k };
    else if (status >= 0 && status < STATUSES.length) item = { k, s: STATUSES[status] };
    else throw bad(`item ${i} has code ${code}`);
    if (code & ITEM_ERROR) {
      if (errors === undefined || nextError >= errors.length) throw bad(`item ${i} has an error that e lacks`);
      item.e = errors[nextError++];
    }
    out[i] = item;
  }
  if (nextError !== (errors?.length ?? 0)) throw bad('e holds more errors than items have');
  return out;
}

/** The batch with its per-task lists by column (a copy: messages are never changed in place). */
function packBatch(batch: unknown[]): unknown[] {
  let out: unknown[] | undefined;
  for (let i = 0; i < batch.length; i++) {
    const m = batch[i] as Record<string, unknown> | null;
    if (m?.op === 'status') {
      const codes = statusCodes(m.s);
      if (codes) {
        out ??= batch.slice();
        out[i] = { ...m, s: codes };
      }
      continue;
    }
    if (typeof m?.op === 'string' && ITEMS_BY_OP[m.op] === true) {
      const items = Array.isArray(m.items) && m.items.length >= BY_COLUMN_MIN ? toItemColumns(m.items) : undefined;
      if (items) {
        out ??= batch.slice();
        out[i] = { ...m, items };
      }
      continue;
    }
    const field = typeof m?.op === 'string' ? BY_COLUMN[m.op] : undefined;
    if (field === undefined || m === null) continue;
    const list = m[field];
    if (!Array.isArray(list) || list.length < BY_COLUMN_MIN) continue;
    const cols = toColumns(list);
    if (!cols) continue;
    out ??= batch.slice();
    out[i] = { ...m, [field]: cols };
  }
  return out ?? batch;
}

/**
 * Undoes packBatch in place on a freshly decoded batch of a frame of `maxLength` bytes; a malformed column
 * form of a per-task list is left for validation to refuse (the scheduler checks what clients send), one of
 * channel items (which only the scheduler sends, and clients do not check) is a WireError.
 */
function unpackBatch(batch: unknown[], maxLength: number): void {
  for (const m of batch as (Record<string, unknown> | null)[]) {
    if (m?.op === 'status') {
      if (m.s instanceof Uint8Array) {
        m.s = Array.from(m.s, (code) => {
          const status = STATUSES[code];
          if (status === undefined) throw new WireError('ERR_DECODE', `status code ${code} is not a status`);
          return status;
        });
      }
      continue;
    }
    if (typeof m?.op === 'string' && ITEMS_BY_OP[m.op] === true) {
      const items = m.items;
      if (typeof items === 'object' && items !== null && !Array.isArray(items)) m.items = fromItemColumns(items as Record<string, unknown>, maxLength);
      continue;
    }
    const field = typeof m?.op === 'string' ? BY_COLUMN[m.op] : undefined;
    if (field === undefined || m === null) continue;
    const list = m[field];
    if (typeof list !== 'object' || list === null || Array.isArray(list)) continue;
    const objects = fromColumns(list, maxLength);
    if (objects) m[field] = objects;
  }
}

/** Encodes a batch; throws WireError when a value cannot be carried. */
export function encodeBatch(batch: unknown[]): Buffer {
  encodeCount.batches++;
  try {
    return serialize(packBatch(batch));
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
  // Every message takes at least a byte: a longer array is a sparse one claiming entries it does not have
  // (walking its length would hold the loop for minutes).
  if (value.length > data.length) throw new WireError('ERR_DECODE', `a frame of ${data.length} bytes cannot hold ${value.length} messages`);
  unpackBatch(value, data.length);
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
