/**
 * Stable keys for pure tasks (after Dask's tokenize): a hash of the function's identity and its
 * arguments, so identical submissions share one task.
 */
import { hash } from 'node:crypto';
import { serialize } from 'node:v8';

/** Hex digest of a string or bytes. */
export function digest(data: string | Uint8Array): string {
  return hash('sha1', data, 'hex').slice(0, 32);
}

/** A token for `fnId` applied to `args` (args already stripped of futures, which appear as refs). */
export function tokenize(fnId: string, args: readonly unknown[]): string {
  let flat = fnId;
  for (const a of args) {
    switch (typeof a) {
      case 'number':
        flat += Object.is(a, -0) ? '\u0001n-0' : `\u0001n${a}`;
        break;
      case 'string':
        flat += `\u0001s${a.length}:${a}`;
        break;
      case 'boolean':
        flat += a ? '\u0001t' : '\u0001f';
        break;
      case 'undefined':
        flat += '\u0001u';
        break;
      default:
        if (a === null) {
          flat += '\u0001z';
          break;
        }
        // Anything structured: its serialized bytes stand for it.
        return digest(Buffer.concat([Buffer.from(fnId), serialize(args)]));
    }
  }
  return digest(flat);
}

let counter = 0;
// Random per module instance (each thread has its own) plus the start time: unique across threads and runs.
const prefix = `${Math.random().toString(36).slice(2, 8)}${Date.now().toString(36)}`;

/** A key that is never produced twice (for `pure: false`). */
export function uniqueToken(): string {
  return prefix + (++counter).toString(36);
}

let lastName: string | undefined;
let lastBase = '';

/**
 * `${name}-${uniqueToken()}`, the key of a `pure: false` task, with the part before the counter made once per
 * function name: one string joined per task instead of three (a `map` makes one key per item).
 */
export function uniqueKey(name: string): string {
  if (name !== lastName) {
    lastName = name;
    lastBase = `${name}-${prefix}`;
  }
  return lastBase + (++counter).toString(36);
}
