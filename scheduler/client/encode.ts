/**
 * What a client sends as values: task arguments (Futures among them become markers and dependencies) and
 * values (scattered, appended, graph literals), each checked to be copyable, with a message that says where
 * the culprit is when it is not.
 */
import { types } from 'node:util';
import { SerializationError } from '../protocol/errors';
import { escapeUserObject, futureRef, needsEscape } from '../protocol/messages';
import { isFuture } from './future';

/** Checks that a value can be sent and returns the copy that will be. */
export function encodeValue(value: unknown, what: string): unknown {
  switch (typeof value) {
    case 'function':
      throw new SerializationError(`${what} cannot be sent: it is a function (submit it as a task instead)`);
    case 'symbol':
      throw new SerializationError(`${what} cannot be sent: it is a symbol`);
    case 'object':
      if (value === null) return value;
      if (isFuture(value)) throw new SerializationError(`${what} cannot be sent: a Future is not a value (append it to a channel or pass it as a task argument)`);
      try {
        return structuredClone(value);
      } catch (err) {
        // The engine's message can quote the source of a function; say where the culprit is instead.
        throw new SerializationError(`${what} cannot be sent: ${whyUncloneable(value) ?? `it holds a value that cannot be copied (${cloneFailure(err)})`}`);
      }
    default:
      return value;
  }
}

/**
 * Futures anywhere in the arguments (arrays, plain objects, Map keys and values, Set members) become
 * markers and dependencies; user objects that a worker could read as a marker travel escaped.
 */
export function encodeArgs(args: unknown[], deps: string[]): unknown[] {
  if (plainArgs(args)) return args;
  const replaced = replaceFutures(args, deps, new Map());
  return encodeValue(replaced, 'a task argument') as unknown[];
}

/** Arguments that are all primitives a task can take as they are (no object, function or symbol): `encodeArgs` returns them unchanged. */
export function plainArgs(args: unknown[]): boolean {
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (typeof a === 'object' ? a !== null : typeof a === 'function' || typeof a === 'symbol') return false;
  }
  return true;
}

/**
 * A copy of `value` in which every Future is a marker (its key pushed to `deps`) and every user object
 * shaped like a marker or an escape is escaped (see escapeUserObject in protocol/messages.ts), walking arrays, Maps, Sets and objects the
 * structured clone copies as plain objects. Shared references and cycles are kept.
 */
function replaceFutures(value: unknown, deps: string[], seen: Map<object, unknown>): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (isFuture(value)) {
    value.checkUsable();
    deps.push(value.key);
    return futureRef(value.key);
  }
  if (seen.has(value)) return seen.get(value);
  if (Array.isArray(value)) {
    const out: unknown[] = new Array<unknown>(value.length);
    seen.set(value, out);
    value.forEach((v, i) => (out[i] = replaceFutures(v, deps, seen)));
    return out;
  }
  if (types.isMap(value)) {
    const out = new Map<unknown, unknown>();
    seen.set(value, out);
    for (const [k, v] of value as Map<unknown, unknown>) out.set(replaceFutures(k, deps, seen), replaceFutures(v, deps, seen));
    return out;
  }
  if (types.isSet(value)) {
    const out = new Set<unknown>();
    seen.set(value, out);
    for (const v of value as Set<unknown>) out.add(replaceFutures(v, deps, seen));
    return out;
  }
  if (Object.prototype.toString.call(value) === '[object Object]') {
    const keys = Object.keys(value);
    const out: Record<string, unknown> = {};
    seen.set(value, needsEscape(keys) ? escapeUserObject(out) : out);
    for (const k of keys) defineField(out, k, replaceFutures((value as Record<string, unknown>)[k], deps, seen));
    return seen.get(value);
  }
  if (isNativeCloneable(value)) return value;
  // Anything else the structured clone may still turn into a plain object (a class with its own
  // Symbol.toStringTag): copy it now and walk the copy, so that it cannot come out marker-shaped.
  let copy: unknown;
  try {
    copy = structuredClone(value);
  } catch {
    return value; // encodeValue reports it
  }
  const out = typeof copy === 'object' && copy !== null && !isNativeCloneable(copy) ? replaceFutures(copy, deps, seen) : copy;
  seen.set(value, out);
  return out;
}

/** Built-in values the structured clone copies as themselves (never as plain objects). */
function isNativeCloneable(value: object): boolean {
  return types.isDate(value) || types.isRegExp(value) || types.isNativeError(value) || types.isBoxedPrimitive(value) || types.isAnyArrayBuffer(value) || ArrayBuffer.isView(value);
}

/** `out[key] = value`, also for a key named `__proto__` (which an assignment would take as the prototype). */
function defineField(out: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  else out[key] = value;
}

/** Where in `value` the first thing that cannot be sent is, said without quoting any source. */
function whyUncloneable(value: unknown, path = 'it', seen = new Set<object>()): string | undefined {
  if (typeof value === 'function') return `${path} is a function${value.name ? ` (${value.name})` : ''}: functions cannot be sent (submit it as a task instead)`;
  if (typeof value === 'symbol') return `${path} is a symbol`;
  if (typeof value !== 'object' || value === null || seen.has(value)) return undefined;
  seen.add(value);
  if (isFuture(value)) {
    return `${path} is a Future, which cannot travel inside a value: append the future itself to a channel, or send future.key and call client.future(key) on the other side`;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const why = whyUncloneable(value[i], `${path}[${i}]`, seen);
      if (why) return why;
    }
    return undefined;
  }
  if (types.isMap(value)) {
    let i = 0;
    for (const [k, v] of value as Map<unknown, unknown>) {
      const why = whyUncloneable(k, `a key of ${path}`, seen) ?? whyUncloneable(v, `${path}.get(${typeof k === 'string' ? JSON.stringify(k) : `<key ${i}>`})`, seen);
      if (why) return why;
      i++;
    }
    return undefined;
  }
  if (types.isSet(value)) {
    for (const v of value as Set<unknown>) {
      const why = whyUncloneable(v, `a member of ${path}`, seen);
      if (why) return why;
    }
    return undefined;
  }
  if (isNativeCloneable(value)) return undefined;
  if (types.isPromise(value) || types.isWeakMap(value) || types.isWeakSet(value) || types.isProxy(value)) return `${path} is a ${Object.prototype.toString.call(value).slice(8, -1)}, which cannot be copied`;
  for (const k of Object.keys(value)) {
    const why = whyUncloneable((value as Record<string, unknown>)[k], `${path}${/^[A-Za-z_$][\w$]*$/.test(k) ? `.${k}` : `[${JSON.stringify(k)}]`}`, seen);
    if (why) return why;
  }
  return undefined;
}

/** The first line of a clone failure, without the quoted value when that could be source text. */
function cloneFailure(err: unknown): string {
  const message = String((err as Error)?.message ?? err).split('\n')[0];
  const m = /^(.*) could not be cloned\.?$/.exec(message);
  if (m && /^#<\w+>$/.test(m[1])) return `${m[1]} could not be cloned`;
  return m ? 'a value could not be cloned' : message.slice(0, 120);
}
