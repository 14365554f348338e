/**
 * Encoding of message batches on the wire: V8's serializer (the structured-clone algorithm), so values
 * behave exactly as they do between threads (Maps, Sets, Dates, typed arrays and cycles survive;
 * functions and symbols are refused). Measured against msgpackr in README ("Wire").
 */
import { deserialize, serialize } from 'node:v8';
import { WireError } from '../protocol/errors';

/** Encodes a batch; throws WireError when a value cannot be carried. */
export function encodeBatch(batch: unknown[]): Buffer {
  try {
    return serialize(batch);
  } catch (err) {
    throw new WireError('ERR_ENCODE', `a message cannot be encoded: ${(err as Error).message}`);
  }
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
