/**
 * Shape checks of the messages a remote client sends, applied before they reach the scheduler's core: a
 * field of the wrong type is answered with an error instead of being half-applied (a string where keys
 * belong would otherwise be read character by character). The core still checks meaning (known keys,
 * channel names, maxlen).
 */
import { WireError } from './errors';

/** A message that is not what the protocol says; `req` is set when it carried a usable request id. */
export class ProtocolViolation extends WireError {
  constructor(
    message: string,
    readonly req?: number,
  ) {
    super('ERR_PROTOCOL', message);
    this.name = 'ProtocolError';
  }
}

type Msg = Record<string, unknown>;

const isReq = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);
const isStr = (v: unknown): v is string => typeof v === 'string';
const isStrArray = (v: unknown): v is string[] => Array.isArray(v) && v.every(isStr);
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
      if (!optional(t.args, Array.isArray)) return `submit: the args of task ${t.key} must be an array`;
      if (!optional(t.deps, isStrArray)) return `submit: the deps of task ${t.key} must be an array of keys`;
      if (!optional(t.priority, isNum) || !optional(t.retries, isNum)) return `submit: priority and retries of task ${t.key} are numbers`;
      if (!optional(t.graph, (g) => typeof g === 'boolean')) return `submit: graph of task ${t.key} is a boolean`;
    }
    return undefined;
  },
  scatter: (m) => (Array.isArray(m.items) && m.items.every((i) => isObj(i) && isStr(i.key) && i.key.length > 0) ? undefined : 'scatter needs items [{key, value}] with string keys'),
  want: (m) => (isStrArray(m.keys) ? undefined : 'want needs keys: string[]'),
  release: (m) => (isStrArray(m.keys) && optional(m.n, (n) => isCountArray(n, (m.keys as string[]).length)) ? undefined : 'release needs keys: string[] and an optional n: counts, one per key'),
  resync: (m) => (isStrArray(m.keys) && isCountArray(m.n, m.keys.length) ? undefined : 'resync needs keys: string[] and n: counts, one per key'),
  cancel: (m) => (isStrArray(m.keys) && optional(m.force, (f) => typeof f === 'boolean') ? undefined : 'cancel needs keys: string[] and an optional force: boolean'),
  gather: (m) => (isStrArray(m.keys) ? undefined : 'gather needs keys: string[]'),
  sub: (m) => (isStr(m.channel) && (m.maxlen === null || isNum(m.maxlen)) && optional(m.from, isCount) && optional(m.create, (x) => typeof x === 'boolean') && optional(m.epoch, isCount) && optional(m.resume, (x) => typeof x === 'boolean') ? undefined : 'sub needs channel: string, maxlen: number | null, and optionally from: a count (integer >= 0), create: boolean, epoch: a count, resume: boolean'),
  append: (m) => {
    if (!isStr(m.channel) || !Array.isArray(m.items)) return 'append needs channel: string and items: []';
    for (const i of m.items) if (!isObj(i) || !(isStr(i.k) || 'v' in i)) return 'append: an item is a future {k: key} or a value {v}';
    return undefined;
  },
  flush: (m) => (isStr(m.channel) ? undefined : 'flush needs channel: string'),
  stop: (m) => (isStr(m.channel) ? undefined : 'stop needs channel: string'),
  delete: (m) => (isStr(m.channel) ? undefined : 'delete needs channel: string'),
  unsub: (m) => (isStr(m.channel) ? undefined : 'unsub needs channel: string'),
  channels: () => undefined,
  info: () => undefined,
  story: (m) => (isStr(m.key) ? undefined : 'story needs key: string'),
  events: (m) => (typeof m.on === 'boolean' ? undefined : 'events needs on: boolean'),
  close: () => undefined,
};

/** Ops that are requests: they carry a `req` id the reply echoes. */
const REQUESTS = new Set(['scatter', 'cancel', 'gather', 'flush', 'stop', 'delete', 'channels', 'info', 'story']);

/** Checks one message from a remote client; returns the violation, or undefined when it is well formed. */
export function checkClientMessage(message: unknown): ProtocolViolation | undefined {
  if (!isObj(message) || !isStr(message.op)) return new ProtocolViolation('a message must be an object with a string op');
  const op = message.op;
  const check = Object.prototype.hasOwnProperty.call(CHECKS, op) ? CHECKS[op] : undefined;
  if (!check) {
    const why = op === 'hello' ? 'hello is only accepted in the handshake' : `unknown op ${JSON.stringify(op.slice(0, 40))}`;
    return new ProtocolViolation(why, isReq(message.req) ? message.req : undefined);
  }
  if (REQUESTS.has(op) && !isReq(message.req)) return new ProtocolViolation(`${op} needs req: an integer request id`);
  const wrong = check(message);
  return wrong === undefined ? undefined : new ProtocolViolation(wrong, isReq(message.req) ? message.req : undefined);
}
