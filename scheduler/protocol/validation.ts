/**
 * The one check of the messages a client sends, whatever carried them (in-thread, MessagePort, WebSocket):
 * SchedulerServer.accept applies it to every message before the core sees it, so the core may trust the
 * types of ClientMessage. A field of the wrong type is answered with an error instead of being half-applied
 * (a string where keys belong would otherwise be read character by character). What needs the scheduler's
 * state (a function id never shipped, a key it does not know) is the core's to answer.
 */
import { ProtocolError } from './errors';
import { MAX_CHANNEL_NAME } from './messages';

type Msg = Record<string, unknown>;

const isReq = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);
const isStr = (v: unknown): v is string => typeof v === 'string';
const isStrArray = (v: unknown): v is string[] => Array.isArray(v) && v.every(isStr);
const isKeyArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((k) => isStr(k) && k.length > 0);
const isObj = (v: unknown): v is Msg => typeof v === 'object' && v !== null && !Array.isArray(v);
const optional = (v: unknown, check: (x: unknown) => boolean) => v === undefined || check(v);
const isNum = (v: unknown) => typeof v === 'number';
const isCount = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;
const isCountArray = (v: unknown, length: number) => Array.isArray(v) && v.length === length && v.every(isCount);

/** Field checks per op, each returning what is wrong (or undefined). Ops absent here are unknown. */
const CHECKS: Record<string, (m: Msg) => string | undefined> = {
  submit: (m) => {
    if (!Array.isArray(m.fns) || !Array.isArray(m.tasks)) return 'submit needs fns and tasks arrays';
    for (const f of m.fns) {
      if (!isObj(f) || !isStr(f.id) || !(isStr(f.src) || isStr(f.ref))) return 'submit: a function is {id, src} or {id, ref} with strings';
    }
    for (const t of m.tasks) {
      if (!isObj(t) || !isStr(t.key) || t.key.length === 0) return 'submit: a task needs a non-empty string key';
      if (!isStr(t.fn)) return `submit: task ${t.key} needs a function id (fn)`;
      if (t.fn === '' && !('value' in t)) return `submit: task ${t.key} needs a function id or a value`;
      if (!optional(t.args, Array.isArray)) return `submit: the args of task ${t.key} must be an array`;
      if (!optional(t.deps, isStrArray)) return `submit: the deps of task ${t.key} must be an array of keys`;
      if (!optional(t.priority, isNum) || !optional(t.retries, isNum)) return `submit: priority and retries of task ${t.key} are numbers`;
      if (!optional(t.graph, (g) => typeof g === 'boolean')) return `submit: graph of task ${t.key} is a boolean`;
    }
    return undefined;
  },
  scatter: (m) => (Array.isArray(m.items) && m.items.every((i) => isObj(i) && isStr(i.key) && i.key.length > 0) ? undefined : 'scatter needs items [{key, value}] with string keys'),
  want: (m) => (isKeyArray(m.keys) ? undefined : 'want needs keys: non-empty strings'),
  release: (m) => (isStrArray(m.keys) && optional(m.n, (n) => isCountArray(n, (m.keys as string[]).length)) ? undefined : 'release needs keys: string[] and an optional n: counts, one per key'),
  resync: (m) => (isStrArray(m.keys) && isCountArray(m.n, m.keys.length) ? undefined : 'resync needs keys: string[] and n: counts, one per key'),
  cancel: (m) => (isStrArray(m.keys) && optional(m.force, (f) => typeof f === 'boolean') ? undefined : 'cancel needs keys: string[] and an optional force: boolean'),
  gather: (m) =>
    isStrArray(m.keys) && optional(m.relay, (r) => typeof r === 'boolean') && optional(m.wait, (w) => typeof w === 'boolean') ? undefined : 'gather needs keys: string[], an optional relay: boolean and an optional wait: boolean',
  sub: (m) => {
    if (!(isStr(m.channel) && (m.maxlen === null || isNum(m.maxlen)) && optional(m.from, isCount) && optional(m.create, (x) => typeof x === 'boolean') && optional(m.epoch, isCount) && optional(m.resume, (x) => typeof x === 'boolean'))) {
      return 'sub needs channel: string, maxlen: number | null, and optionally from: a count (integer >= 0), create: boolean, epoch: a count, resume: boolean';
    }
    if (m.channel.length === 0) return 'a channel name must not be empty';
    if (m.channel.length > MAX_CHANNEL_NAME) return `a channel name is at most ${MAX_CHANNEL_NAME} characters, got ${m.channel.length}`;
    if (m.maxlen !== null && (!Number.isInteger(m.maxlen) || (m.maxlen as number) < 1)) return `invalid maxlen ${String(m.maxlen)}: a positive integer or null`;
    return undefined;
  },
  append: (m) => {
    if (!isStr(m.channel) || !Array.isArray(m.items) || !optional(m.epoch, isCount)) return 'append needs channel: string, items: [] and optionally epoch: a count';
    for (const i of m.items) if (!isObj(i) || !(isStr(i.k) || 'v' in i)) return 'append: an item is a future {k: key} or a value {v}';
    return undefined;
  },
  flush: (m) => (isStr(m.channel) ? undefined : 'flush needs channel: string'),
  stop: (m) => (isStr(m.channel) && optional(m.epoch, isCount) ? undefined : 'stop needs channel: string and optionally epoch: a count'),
  delete: (m) => (isStr(m.channel) && optional(m.epoch, isCount) ? undefined : 'delete needs channel: string and optionally epoch: a count'),
  unsub: (m) => (isStr(m.channel) ? undefined : 'unsub needs channel: string'),
  channels: () => undefined,
  info: () => undefined,
  story: (m) => (isStr(m.key) ? undefined : 'story needs key: string'),
  replicate: (m) => {
    if (!isKeyArray(m.keys)) return 'replicate needs keys: non-empty strings';
    if (!Number.isSafeInteger(m.n) || (m.n as number) < 1) return `replicate needs n: how many workers should hold each key, an integer >= 1 (got ${JSON.stringify(m.n)})`;
    return undefined;
  },
  events: (m) => (typeof m.on === 'boolean' ? undefined : 'events needs on: boolean'),
  close: () => undefined,
};

/** Ops that are requests: they carry a `req` id the reply echoes. */
const REQUESTS = new Set(['scatter', 'cancel', 'gather', 'flush', 'stop', 'delete', 'channels', 'info', 'story', 'replicate']);

/** Checks one message of a client; returns what is wrong with it, or undefined when it is well formed. */
export function checkClientMessage(message: unknown): ProtocolError | undefined {
  if (!isObj(message) || !isStr(message.op)) return new ProtocolError('a message must be an object with a string op');
  const op = message.op;
  const check = Object.prototype.hasOwnProperty.call(CHECKS, op) ? CHECKS[op] : undefined;
  if (!check) {
    const why = op === 'hello' ? 'hello is only accepted in the handshake' : `unknown op ${JSON.stringify(op.slice(0, 40))}`;
    return new ProtocolError(why, isReq(message.req) ? message.req : undefined);
  }
  if (REQUESTS.has(op) && !isReq(message.req)) return new ProtocolError(`${op} needs req: an integer request id`);
  const wrong = check(message);
  return wrong === undefined ? undefined : new ProtocolError(wrong, isReq(message.req) ? message.req : undefined);
}
