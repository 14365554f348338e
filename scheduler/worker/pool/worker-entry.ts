/**
 * What each pool thread runs (Piscina's worker file): batches of tasks. A task that returns a promise does not
 * occupy the thread (unless the batch pins it): the batch returns at once and the outcome follows on this
 * thread's result port. Functions are compiled once per thread and cached by id.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { types } from 'node:util';
import { serialize } from 'node:v8';
import { MessageChannel, parentPort, threadId } from 'node:worker_threads';
import { workerData } from 'piscina';
import { Client } from '../../client/client';
import { zip } from '../../client/channel';
import { toErrorInfo, type ErrorInfo } from '../../protocol/errors';
import { isFutureRef, unescapeUserObject, type FnSpec } from '../../protocol/messages';
import { MessagePortTransport } from '../../transport/message-port';
import { WsClientTransport } from '../../wire/ws-client';
import type { ClientMessage, SchedulerMessage } from '../../protocol/messages';
import { sleep } from '../sleep';
import { ENDED_ERROR, ENDED_PENDING, ENDED_SERIALIZED, ENDED_VALUE, LOCAL_CLIENT_HOOK, type TaskOutcome, type ThreadMessage, type WireBatch, type WireResult } from './batch';

const resultChannel = new MessageChannel();
const resultPort = resultChannel.port1;
resultPort.unref();
parentPort?.postMessage({ sfThread: threadId, port: resultChannel.port2 }, [resultChannel.port2]);

const userRequire = createRequire(path.join(process.cwd(), 'noop.js'));
const compiled = new Map<string, (...args: unknown[]) => unknown>();
let pendingOut: TaskOutcome[] = [];
let flushScheduled = false;
let client: Client | undefined;

/** The Client of this thread, connected to the same scheduler through a MessagePort. */
function localClient(): Client {
  if (client && !client.closed) return client;
  const remote = workerData as { scheduler?: string; token?: string } | undefined;
  if (remote?.scheduler) {
    // A standalone worker process: connect to its scheduler over WebSocket.
    const transport = new WsClientTransport<SchedulerMessage, ClientMessage>(remote.scheduler, 'client', { token: remote.token });
    client = Client.fromTransport(transport, { name: `thread-${threadId}` });
    return client;
  }
  const { port1, port2 } = new MessageChannel();
  parentPort?.postMessage({ sfClient: port2 }, [port2]);
  client = Client.fromTransport(new MessagePortTransport(port1), { name: `thread-${threadId}` });
  return client;
}
(globalThis as Record<symbol, unknown>)[LOCAL_CLIENT_HOOK] = localClient;

// A task calling process.exit must fail alone, not take the thread (and its other tasks) down.
const realExit = process.exit.bind(process);
process.exit = ((code?: number) => {
  throw new Error(`process.exit(${code ?? ''}) was called inside a task; the task fails and the thread keeps serving`);
}) as typeof process.exit;

// An exception nobody catches (a throw in a timer of some task) ends the thread; say why first.
process.on('uncaughtException', (err) => {
  const msg: ThreadMessage = { crash: toErrorInfo(err) };
  resultPort.postMessage(msg);
  realExit(1);
});

function compile(id: string, fns: readonly FnSpec[]): (...args: unknown[]) => unknown {
  const cached = compiled.get(id);
  if (cached) return cached;
  const spec = fns.find((f) => f.id === id);
  if (!spec) throw new Error(`function ${id} was not shipped with its task`);
  const fn = spec.ref !== undefined ? resolveRef(spec.ref) : fromSource(spec.src as string);
  compiled.set(id, fn);
  return fn;
}

function resolveRef(ref: string): (...args: unknown[]) => unknown {
  const hash = ref.lastIndexOf('#');
  const mod = hash >= 0 ? ref.slice(0, hash) : ref;
  const name = hash >= 0 ? ref.slice(hash + 1) : undefined;
  const specifier = mod.startsWith('.') ? path.resolve(process.cwd(), mod) : mod;
  const exports = userRequire(specifier) as Record<string, unknown>;
  const fn = name === undefined ? exports : exports[name];
  if (typeof fn !== 'function') throw new TypeError(`'${ref}' is not a function (module '${mod}' has no exported function '${name ?? 'module.exports'}')`);
  return fn as (...args: unknown[]) => unknown;
}

const METHOD = /^(?:async\s+)?\*?\s*([A-Za-z_$][\w$]*)\s*\(/;

function fromSource(src: string): (...args: unknown[]) => unknown {
  const make = (body: string) =>
     
    new Function('localClient', 'zip', 'sleep', 'require', body)(localClient, zip, sleep, userRequire) as (...args: unknown[]) => unknown;
  try {
    return make(`return (${src}\n);`);
  } catch (err) {
    // Method shorthand (`name(a) { ... }`) is not an expression on its own.
    const m = METHOD.exec(src);
    if (err instanceof SyntaxError && m && !src.startsWith('function')) return make(`return ({ ${src}\n })[${JSON.stringify(m[1])}];`);
    throw err;
  }
}

/**
 * Decodes task arguments in place (they are this thread's own copy): markers become the dependencies'
 * values, escaped user objects become themselves again (client.ts `replaceFutures` is the inverse).
 * Walks arrays, Maps, Sets and plain objects, as the client does; shared references and cycles are kept.
 */
function decodeArgs(value: unknown, deps: Record<string, unknown>, done: Map<object, unknown>): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (isFutureRef(value)) return deps[value.$sf];
  if (done.has(value)) return done.get(value);
  if (Array.isArray(value)) {
    done.set(value, value);
    for (let i = 0; i < value.length; i++) {
      const v: unknown = value[i];
      const d = decodeArgs(v, deps, done);
      if (d !== v) value[i] = d;
    }
    return value;
  }
  if (types.isMap(value) || types.isSet(value)) {
    done.set(value, value);
    const map = types.isMap(value) ? (value as Map<unknown, unknown>) : undefined;
    const entries = map ? [...map] : [...(value as Set<unknown>)].map((v) => [v, v]);
    let changed = false;
    const decoded = entries.map(([k, v]) => {
      const dk = decodeArgs(k, deps, done);
      const dv = map ? decodeArgs(v, deps, done) : dk;
      if (dk !== k || dv !== v) changed = true;
      return [dk, dv];
    });
    if (changed && map) {
      map.clear();
      for (const [k, v] of decoded) map.set(k, v);
    } else if (changed) {
      const set = value as Set<unknown>;
      set.clear();
      for (const [k] of decoded) set.add(k);
    }
    return value;
  }
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return value;
  // An escaped user object: its own key is data, never a marker, so it is not looked at as one.
  const target = (unescapeUserObject(value) ?? value) as Record<string, unknown>;
  done.set(value, target);
  for (const k of Object.keys(target)) {
    const v = target[k];
    const d = decodeArgs(v, deps, done);
    if (d === v) continue;
    if (k === '__proto__') Object.defineProperty(target, k, { value: d, enumerable: true, writable: true, configurable: true });
    else target[k] = d;
  }
  return target;
}

/** True when some argument is an object: only then can it hold a marker or an escaped object. */
function hasObjectArg(args: unknown[]): boolean {
  for (const a of args) if (typeof a === 'object' && a !== null) return true;
  return false;
}

function describe(err: unknown): ErrorInfo {
  if (err instanceof ReferenceError) {
    const m = /^(\S+) is not defined$/.exec(err.message);
    if (m) {
      return {
        name: 'ReferenceError',
        message: `the task uses '${m[1]}', which the worker does not have: pass it as an argument (client.submit(fn, ${m[1]})) or define it inside the function`,
        stack: err.stack,
      };
    }
  }
  return toErrorInfo(err);
}

function outcome(key: string, run: number, value: unknown): TaskOutcome {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function' && typeof value !== 'symbol')) return { key, run, ok: true, value };
  try {
    if (typeof value === 'function' || typeof value === 'symbol') throw new TypeError(`${typeof value} values cannot be sent`);
    return { key, run, ok: true, ser: serialize(value) };
  } catch (err) {
    return { key, run, ok: false, error: { name: 'SerializationError', message: `the task's result cannot be sent: ${(err as Error).message}`, code: 'ERR_SERIALIZATION', key } };
  }
}

function later(o: TaskOutcome): void {
  pendingOut.push(o);
  if (!flushScheduled) {
    flushScheduled = true;
    setImmediate(flushLater);
  }
}

function flushLater(): void {
  flushScheduled = false;
  const done = pendingOut;
  pendingOut = [];
  const msg: ThreadMessage = { done };
  resultPort.postMessage(msg);
}

/** Runs one batch; Piscina calls this. */
export default function runBatch(batch: WireBatch): WireResult | Promise<WireResult> {
  const t0 = performance.now();
  const n = batch.keys.length;
  const how = new Uint8Array(n);
  const out: unknown[] = new Array<unknown>(n);
  const pinned: Promise<void>[] = [];
  const sameFn = typeof batch.fn === 'number' ? batch.fn : -1;
  for (let i = 0; i < n; i++) {
    const key = batch.keys[i];
    const run = batch.runs[i];
    try {
      const spec = batch.fns[sameFn >= 0 ? sameFn : (batch.fn as number[])[i]];
      if (spec === undefined) throw new Error(`the function of task ${key} was not shipped with it`);
      const fn = compile(spec.id, batch.fns);
      const taskArgs = batch.args[i];
      const deps = batch.deps?.[i];
      const args = deps || hasObjectArg(taskArgs) ? (decodeArgs(taskArgs, deps ?? {}, new Map()) as unknown[]) : taskArgs;
      const r = fn(...args);
      if (r !== null && typeof r === 'object' && typeof (r as PromiseLike<unknown>).then === 'function') {
        const settled = Promise.resolve(r as PromiseLike<unknown>).then(
          (v) => outcome(key, run, v),
          (e: unknown): TaskOutcome => ({ key, run, ok: false, error: describe(e) }),
        );
        if (batch.pinThread) {
          pinned.push(settled.then((o) => setOutcome(how, out, i, o)));
        } else {
          how[i] = ENDED_PENDING;
          void settled.then(later);
        }
      } else {
        setOutcome(how, out, i, outcome(key, run, r));
      }
    } catch (err) {
      how[i] = ENDED_ERROR;
      out[i] = describe(err);
    }
  }
  if (pinned.length > 0) return Promise.all(pinned).then(() => ({ threadId, how, out, ms: performance.now() - t0 }));
  return { threadId, how, out, ms: performance.now() - t0 };
}

/** Puts a settled task's outcome in place `i` of a batch's result. */
function setOutcome(how: Uint8Array, out: unknown[], i: number, o: TaskOutcome): void {
  if (!o.ok) {
    how[i] = ENDED_ERROR;
    out[i] = o.error;
  } else if (o.ser !== undefined) {
    how[i] = ENDED_SERIALIZED;
    out[i] = o.ser;
  } else {
    how[i] = ENDED_VALUE;
    out[i] = o.value;
  }
}
