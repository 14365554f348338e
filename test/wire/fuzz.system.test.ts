/**
 * Malformed input never takes the scheduler down. A scheduler process is fed well over
 * 100,000 random and mutated frames over several authenticated connections while a normal client keeps
 * submitting tasks and appending to a channel that another client reads. After each case a marker request
 * is sent on the same connection; since a connection's frames are handled in order, the answers between
 * two marker replies belong to the case in between. Every case built to be bad must get an error answer
 * or a closed connection; the scheduler must stay up and answer markers (no hang); the normal clients'
 * results must all be correct.
 *
 * Reproduce a run with SF_FUZZ_SEED=<seed printed by the test>; SF_FUZZ_FRAMES sets the number of frames.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { deserialize, serialize } from 'node:v8';
import WebSocket from 'ws';
import { Client, type Future } from '../../scheduler';
import { DEFAULT_LIMITS } from '../../scheduler/wire/limits';
import { decodeSegments } from '../../scheduler/wire/codec';
import { FIRST, FIRST_SEGMENTS, MORE, WHOLE, WHOLE_SEGMENTS } from '../../scheduler/wire/ws-transport';
import { PROTOCOL_VERSION } from '../../scheduler/protocol/messages';
import { startScheduler, stopAll } from '../support/processes';
import { seededRandom } from '../support/random';

after(stopAll);

const TOKEN = `fuzz-token-${randomUUID()}`;
const FRAMES = Number(process.env.SF_FUZZ_FRAMES ?? 100_000);
const CONNECTIONS = 4;
const SEED = Number(process.env.SF_FUZZ_SEED ?? (Date.now() >>> 0));
/** The scheduler runs with its default limits, what users run. */
const MAX_BATCH = DEFAULT_LIMITS.maxBatchBytes;


type Expect = 'error' | 'error-or-close' | 'close' | 'any';

/** One fuzz case: frames to send, what must follow, and the marker that closes the case. */
interface Case {
  kind: string;
  frames: { data: Buffer | string; binary: boolean }[];
  expect: Expect;
  /** Marker kind: a story request (default) or a flush of the channel (appends report at flush). */
  flushChannel?: string;
}

const frame = (kind: number, payload: Buffer) => ({ data: Buffer.concat([Buffer.from([kind]), payload]), binary: true });
const whole = (batch: unknown) => frame(WHOLE, serialize(batch));

/** Decodes like the scheduler does: `error` when the frame cannot be a batch at all. */
function classify(payload: Buffer): Expect {
  try {
    return Array.isArray(deserialize(payload)) ? 'any' : 'error';
  } catch {
    return 'error';
  }
}

class CaseMaker {
  private n = 0;
  constructor(
    private readonly r: () => number,
    private readonly conn: number,
  ) {}

  int(n: number): number {
    return Math.floor(this.r() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
  str(max = 12): string {
    let s = '';
    const len = this.int(max + 1);
    for (let i = 0; i < len; i++) s += String.fromCharCode(this.r() < 0.9 ? 97 + this.int(26) : this.int(0xffff));
    return s;
  }
  /** Any value of a random type, sometimes nested. */
  junk(depth = 0): unknown {
    const choices: (() => unknown)[] = [
      () => this.int(1e9) - 5e8,
      () => this.r() * 1e300,
      () => Number.NaN,
      () => -Infinity,
      () => this.str(),
      () => null,
      () => undefined,
      () => this.r() < 0.5,
      () => BigInt(this.int(1e9)) ** 5n,
      () => new Date(this.int(1e12)),
      () => /re[gx]+/g,
      () => new Map([[this.str(), this.str()]]),
      () => new Set([this.int(5)]),
      () => this.bytes(this.int(16)),
      () => new Float64Array(this.int(4)),
      () => (depth < 3 ? [this.junk(depth + 1), this.junk(depth + 1)] : []),
      () => (depth < 3 ? { [this.str()]: this.junk(depth + 1), op: this.junk(depth + 1) } : {}),
    ];
    return this.pick(choices)();
  }

  /** Channel and key names private to this connection, so the fuzz never touches the normal client's. */
  chan(): string {
    return `fz-${this.conn}-${this.int(4)}`;
  }
  key(): string {
    return `fz-${this.conn}-key-${this.n++}`;
  }

  /** Well-formed messages, the material for mutation and for "one field wrong" cases. */
  valid(): Record<string, unknown> {
    const req = 1e6 + this.int(1e6);
    const ch = this.chan();
    return this.pick<() => Record<string, unknown>>([
      () => ({ op: 'submit', fns: [{ id: `ref:fuzz-missing-module-${this.conn}#f`, ref: `fuzz-missing-module-${this.conn}#f` }], tasks: [{ key: this.key(), fn: `ref:fuzz-missing-module-${this.conn}#f`, args: [this.int(10)] }] }),
      () => ({ op: 'scatter', req, items: [{ key: this.key(), value: this.int(100) }] }),
      () => ({ op: 'want', keys: [this.key()] }),
      () => ({ op: 'release', keys: [this.key()] }),
      () => ({ op: 'cancel', req, keys: [this.key()] }),
      () => ({ op: 'gather', req, keys: [] }),
      () => ({ op: 'sub', channel: ch, maxlen: 8 }),
      () => ({ op: 'append', channel: ch, items: [{ v: this.int(100) }] }),
      () => ({ op: 'flush', req, channel: ch }),
      () => ({ op: 'unsub', channel: ch }),
      () => ({ op: 'channels', req }),
      () => ({ op: 'info', req }),
      () => ({ op: 'story', req, key: this.key() }),
      () => ({ op: 'events', on: false }),
    ])();
  }

  /** A message with exactly one field of a wrong type or value: the scheduler must answer with an error. */
  wrongField(): { msg: unknown; flushChannel?: string } {
    const req = 2e6 + this.int(1e6);
    const ch = this.chan();
    const notString = () => this.pick<unknown>([5, null, true, ['a'], { a: 1 }, 1.5, new Map()]);
    const notArray = () => this.pick<unknown>([5, 'abc', null, { 0: 'a', length: 1 }, true, new Set(['a'])]);
    const notReq = () => this.pick<unknown>(['7', null, { n: 1 }, [1], true, Number.NaN]);
    const cases: (() => { msg: unknown; flushChannel?: string })[] = [
      () => ({ msg: { op: 'submit', fns: notArray(), tasks: [] } }),
      () => ({ msg: { op: 'submit', fns: [], tasks: notArray() } }),
      () => ({ msg: { op: 'submit', fns: [], tasks: [{ key: notString(), fn: 'x', args: [] }] } }),
      () => ({ msg: { op: 'submit', fns: [], tasks: [{ key: this.key(), fn: `unknown-fn-${this.str()}`, args: [] }] } }),
      () => ({ msg: { op: 'submit', fns: [{ id: notString(), src: '() => 1' }], tasks: [] } }),
      () => ({ msg: { op: 'submit', fns: [{ id: 'src:x' }], tasks: [] } }),
      () => ({ msg: { op: 'submit', fns: [this.junk()], tasks: [] } }),
      () => ({ msg: { op: 'submit', fns: [], tasks: [null] } }),
      () => ({ msg: { op: 'scatter', req, items: notArray() } }),
      () => ({ msg: { op: 'scatter', req, items: [{ key: notString(), value: 1 }] } }),
      () => ({ msg: { op: 'scatter', req: notReq(), items: [] } }),
      () => ({ msg: { op: 'want', keys: notArray() } }),
      () => ({ msg: { op: 'want', keys: [notString()] } }),
      () => ({ msg: { op: 'release', keys: notArray() } }),
      () => ({ msg: { op: 'release', keys: [notString()] } }),
      () => ({ msg: { op: 'cancel', req, keys: notArray() } }),
      () => ({ msg: { op: 'cancel', req: notReq(), keys: [] } }),
      () => ({ msg: { op: 'gather', req, keys: notArray() } }),
      () => ({ msg: { op: 'gather', req: notReq(), keys: [] } }),
      () => ({ msg: { op: 'gather', req, keys: [`unknown-key-${this.str()}`] } }),
      () => ({ msg: { op: 'sub', channel: notString(), maxlen: null } }),
      () => ({ msg: { op: 'sub', channel: '', maxlen: null } }),
      () => ({ msg: { op: 'sub', channel: 'x'.repeat(257 + this.int(1000)), maxlen: null } }),
      () => ({ msg: { op: 'sub', channel: ch, maxlen: this.pick<unknown>([0, -1, 1.5, '3', Number.NaN, {}]) } }),
      () => ({ msg: { op: 'sub', channel: ch, maxlen: null, from: this.pick<unknown>(['1', -1, 0.5, {}, Number.NaN]) } }),
      () => ({ msg: { op: 'append', channel: notString(), items: [{ v: 1 }] } }),
      () => ({ msg: { op: 'append', channel: ch, items: notArray() } }),
      () => ({ msg: { op: 'append', channel: ch, items: [this.pick<unknown>([null, 5, 'v', {}, { k: 5 }, { x: 1 }])] } }),
      // Appends are answered at the next flush (flush is exact and reports refusals).
      () => ({ msg: { op: 'append', channel: ch, items: [{ k: `unknown-key-${this.str()}` }] }, flushChannel: ch }),
      () => ({ msg: { op: 'append', channel: `fz-${this.conn}-never-${this.str()}`, items: [{ v: 1 }] }, flushChannel: 'use-msg' }),
      () => ({ msg: { op: 'flush', req, channel: notString() } }),
      () => ({ msg: { op: 'flush', req: notReq(), channel: ch } }),
      () => ({ msg: { op: 'stop', req: notReq(), channel: ch } }),
      () => ({ msg: { op: 'stop', req, channel: notString() } }),
      () => ({ msg: { op: 'unsub', channel: notString() } }),
      () => ({ msg: { op: 'delete', req, channel: notString() } }),
      () => ({ msg: { op: 'delete', req: notReq(), channel: ch } }),
      () => ({ msg: { op: 'channels', req: notReq() } }),
      () => ({ msg: { op: 'info', req: notReq() } }),
      () => ({ msg: { op: 'story', req, key: notString() } }),
      () => ({ msg: { op: 'story', req: notReq(), key: 'k' } }),
      () => ({ msg: { op: 'events', on: this.pick<unknown>(['yes', 1, null, {}]) } }),
      () => ({ msg: { op: 'hello', client: this.str(), version: 1 } }),
      () => ({ msg: { op: this.pick<unknown>([5, null, true, {}, [], '']) } }),
      () => ({ msg: { op: `no-such-op-${this.str()}` } }),
      () => ({ msg: this.pick<unknown>([42, null, 'submit', [], true, new Map([['op', 'info']])]) }),
      () => ({ msg: { ...this.valid(), op: this.pick(['constructor', '__proto__', 'toString', 'hasOwnProperty']) } }),
    ];
    const c = this.pick(cases)();
    if (c.flushChannel === 'use-msg') c.flushChannel = (c.msg as { channel: string }).channel;
    return c;
  }

  /** Byte-level mutations of a valid batch: flips, inserts, deletions, truncation, splices. */
  mutate(payload: Buffer): Buffer {
    let b = Buffer.from(payload);
    const ops = 1 + this.int(4);
    for (let i = 0; i < ops && b.length > 0; i++) {
      const at = this.int(b.length);
      switch (this.int(6)) {
        case 0:
          b[at] ^= 1 << this.int(8);
          break;
        case 1:
          b[at] = this.int(256);
          break;
        case 2:
          b = Buffer.concat([b.subarray(0, at), this.bytes(1 + this.int(4)), b.subarray(at)]);
          break;
        case 3:
          b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1 + this.int(4))]);
          break;
        case 4:
          b[at] = this.pick([0x00, 0x7f, 0x80, 0xff, 0xfe, 0x41, 0x61, 0x6f, 0x53, 0x22, 0x24]);
          break;
        default:
          b = Buffer.concat([b.subarray(0, at), b.subarray(this.int(b.length))]);
      }
    }
    return b;
  }

  /** V8 payloads announcing lengths far beyond what follows. */
  hugeLength(): Buffer {
    const varint = (n: number) => {
      const out: number[] = [];
      do {
        let byte = n % 128;
        n = Math.floor(n / 128);
        if (n > 0) byte |= 0x80;
        out.push(byte);
      } while (n > 0);
      return Buffer.from(out);
    };
    const big = this.pick([2 ** 31 - 1, 2 ** 32 - 1, 2 ** 28, 1e9, 2 ** 30 + this.int(1000)]);
    const header = Buffer.from([0xff, 0x0f]);
    return this.pick<() => Buffer>([
      () => Buffer.concat([header, Buffer.from([0x41]), varint(big), Buffer.from([0x49, 0x02])]), // dense array
      () => Buffer.concat([header, Buffer.from([0x61]), varint(big), Buffer.from([0x40, 0x00, 0x00])]), // sparse array
      () => Buffer.concat([header, Buffer.from([0x41, 0x01, 0x22]), varint(big), Buffer.from('op')]), // one-byte string
      () => Buffer.concat([header, Buffer.from([0x41, 0x01, 0x63]), varint(big), Buffer.from('ab')]), // two-byte string
      () => Buffer.concat([header, Buffer.from([0x41, 0x01, 0x42]), varint(big), Buffer.from([1, 2])]), // array buffer
      () => Buffer.concat([header, Buffer.from([0x41, 0x01, 0x5c, 0x01, 0x00, 0x00, 0x00]), Buffer.from([0xff, 0xff, 0xff, 0x7f]), Buffer.from([1])]), // host object (Buffer)
      () => Buffer.concat([header, Buffer.from([0x41, 0x01, 0x6f]), Buffer.from([0x22, 0x02]), Buffer.from('op'), Buffer.from([0x22]), varint(big)]), // object, string value
    ])();
  }

  next(): Case {
    const roll = this.int(100);
    if (roll < 30) {
      // A valid batch, mutated at the byte level.
      const batch = Array.from({ length: 1 + this.int(3) }, () => this.valid());
      const payload = this.mutate(serialize(batch));
      return { kind: 'mutated', frames: [frame(WHOLE, payload)], expect: classify(payload) };
    }
    if (roll < 55) {
      const { msg, flushChannel } = this.wrongField();
      // Sometimes the bad message rides in a batch with valid ones; sometimes with unknown extra keys.
      const batch = this.r() < 0.3 ? [this.valid(), msg] : [msg];
      if (this.r() < 0.2 && typeof msg === 'object' && msg !== null && !Array.isArray(msg)) (msg as Record<string, unknown>)[`x_${this.str(4)}`] = this.junk();
      return { kind: 'wrong-field', frames: [whole(batch)], expect: 'error', flushChannel };
    }
    if (roll < 62) {
      // A valid batch truncated: V8 data cut short never decodes.
      const payload = serialize(Array.from({ length: 1 + this.int(3) }, () => this.valid()));
      return { kind: 'truncated', frames: [frame(WHOLE, payload.subarray(0, this.int(payload.length)))], expect: 'error' };
    }
    if (roll < 68) {
      const payload = this.bytes(this.int(200));
      return { kind: 'random-bytes', frames: [frame(WHOLE, payload)], expect: classify(payload) };
    }
    if (roll < 72) {
      return { kind: 'not-a-batch', frames: [whole(this.pick<unknown>([42, 'x', null, { op: 'info', req: 1 }, new Map(), this.junk()]))], expect: 'error' };
    }
    if (roll < 76) {
      return { kind: 'text-frame', frames: [{ data: this.pick([JSON.stringify([this.valid()]), this.str(40), '', '{"op":"hello"}']), binary: false }], expect: 'error' };
    }
    if (roll < 77) {
      // Kinds 0-4 exist (ws-transport.ts); every other byte is refused.
      const b = this.r() < 0.3 ? Buffer.alloc(0) : Buffer.concat([Buffer.from([FIRST_SEGMENTS + 1 + this.int(255 - FIRST_SEGMENTS)]), this.bytes(this.int(20))]);
      return { kind: 'bad-kind', frames: [{ data: b, binary: true }], expect: 'error' };
    }
    if (roll < 79) {
      // A batch of segments whose layout is wrong: a header cut short, or a segment longer than the frame.
      const len = Buffer.alloc(4);
      len.writeUInt32BE(100 + this.int(1000));
      const body = this.r() < 0.5 ? this.bytes(1 + this.int(3)) : Buffer.concat([len, this.bytes(this.int(50))]);
      return { kind: 'bad-segments', frames: [frame(WHOLE_SEGMENTS, body)], expect: 'error' };
    }
    if (roll < 84) {
      return { kind: 'huge-length', frames: [frame(WHOLE, this.hugeLength())], expect: 'error-or-close' };
    }
    if (roll < 86) {
      // A sparse batch: many holes, each a bad message; or a length beyond the message rate.
      const a: unknown[] = [];
      a.length = this.pick([10, 1000, 2 ** 32 - 1]);
      return { kind: 'sparse-batch', frames: [whole(a)], expect: 'error-or-close' };
    }
    return this.chunks();
  }

  /** Bad chunk sequences (frame kinds 1 and 2). */
  chunks(): Case {
    let bad = this.wrongField();
    while (bad.flushChannel) bad = this.wrongField(); // appends answer at flush; the marker here is a story
    const good = serialize([{ op: 'story', req: 1, key: 'chunked' }, bad.msg]);
    const head = (total: number) => {
      const h = Buffer.alloc(5);
      h[0] = FIRST;
      h.writeUInt32BE(total >>> 0, 1);
      return h;
    };
    const bin = (data: Buffer) => ({ data, binary: true });
    return this.pick<() => Case>([
      () => ({ kind: 'chunk-more-first', frames: [frame(MORE, this.bytes(10))], expect: 'error' }),
      () => ({ kind: 'chunk-short-head', frames: [bin(Buffer.concat([Buffer.from([FIRST]), this.bytes(this.int(4))]))], expect: 'error' }),
      () => ({ kind: 'chunk-too-big', frames: [bin(Buffer.concat([head(MAX_BATCH + 1 + this.int(2 ** 31)), this.bytes(10)]))], expect: 'close' }),
      () => ({ kind: 'chunk-overshoot', frames: [bin(Buffer.concat([head(4), this.bytes(10)]))], expect: 'error' }),
      () => ({ kind: 'chunk-overshoot-more', frames: [bin(Buffer.concat([head(12), this.bytes(10)])), frame(MORE, this.bytes(5))], expect: 'error' }),
      // Never completed: the marker (a whole frame) interrupts it.
      () => ({ kind: 'chunk-abandoned', frames: [bin(Buffer.concat([head(good.length + 100), good]))], expect: 'error' }),
      () => ({ kind: 'chunk-first-twice', frames: [bin(Buffer.concat([head(good.length), good.subarray(0, 3)])), bin(Buffer.concat([head(good.length), good]))], expect: 'error' }),
      () => ({ kind: 'chunk-garbage', frames: [bin(Buffer.concat([head(30), this.bytes(10)])), frame(MORE, this.bytes(20))], expect: 'error' }),
      () => {
        // A correct chunk sequence carrying a batch with a bad message.
        const cut = 1 + this.int(good.length - 2);
        return { kind: 'chunk-bad-message', frames: [bin(Buffer.concat([head(good.length), good.subarray(0, cut)])), frame(MORE, good.subarray(cut))], expect: 'error' };
      },
    ])();
  }
}

interface Tally {
  frames: number;
  cases: number;
  errors: number;
  closes: number;
  byKind: Record<string, number>;
  closeCodes: Record<string, number>;
  unanswered: string[];
}

/** Cases in flight per connection: answers come back in order, so they can be pipelined. */
const WINDOW = 16;

/**
 * One fuzzing connection after another (a closed one is replaced), until `frames` frames are sent. Cases
 * that may close the connection are sent alone, so a close is pinned on the case that caused it.
 */
async function fuzzConnection(address: string, conn: number, frames: number, tally: Tally, onCase?: () => void): Promise<void> {
  const maker = new CaseMaker(seededRandom(SEED + conn * 7919), conn);
  let req = 0;
  let next: Case | undefined;
  while (tally.frames < frames) {
    const ws = new WebSocket(address, { perMessageDeflate: false, maxPayload: 256 * 2 ** 20 });
    let errors = 0;
    let closeCode: number | undefined;
    let wake: (() => void) | undefined;
    const inflight: { c: Case; marker: number }[] = [];
    const answered: { c: Case; errors: number }[] = [];
    await new Promise<void>((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    ws.on('error', () => undefined);
    ws.on('close', (code) => {
      closeCode = code;
      wake?.();
    });
    let errorsAtLastMarker = 0;
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      assert.ok(isBinary, 'the scheduler only sends binary frames after the handshake');
      // Answers here are small: whole frames, plain or made of segments (a channel's items encoded once for every subscriber).
      assert.ok(data[0] === WHOLE || data[0] === WHOLE_SEGMENTS, `answers here are small: whole frames, got frame kind ${data[0]}`);
      const payload = data.subarray(1);
      const batch = (data[0] === WHOLE ? deserialize(payload) : decodeSegments(payload)) as { op: string; req?: number; ok?: boolean }[];
      for (const m of batch) {
        if (m.op === 'error' || (m.op === 'reply' && m.ok === false)) errors++;
        if (m.op === 'reply' && inflight.length > 0 && m.req === inflight[0].marker) {
          const done = inflight.shift() as { c: Case };
          answered.push({ c: done.c, errors: errors - errorsAtLastMarker });
          errorsAtLastMarker = errors;
          wake?.();
        }
      }
    });
    const settle = (c: Case, gotError: boolean) => {
      tally.frames += c.frames.length;
      tally.cases++;
      tally.byKind[c.kind] = (tally.byKind[c.kind] ?? 0) + c.frames.length;
      if (gotError) tally.errors++;
      if (c.expect === 'close') tally.unanswered.push(`${c.kind}: the connection stayed open`);
      else if ((c.expect === 'error' || c.expect === 'error-or-close') && !gotError) tally.unanswered.push(`${c.kind}: no error reply for ${describe(c)}`);
    };
    const waitForProgress = async (what: () => boolean) => {
      const deadline = Date.now() + 10_000;
      while (!what() && closeCode === undefined) {
        const left = deadline - Date.now();
        if (left <= 0) {
          ws.terminate();
          throw new Error(`connection ${conn}: no answer to the marker after a '${inflight[0]?.c.kind}' case (${describe(inflight[0].c)}) within 10 s (seed ${SEED}): the scheduler hangs`);
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = undefined;
        for (const a of answered.splice(0)) settle(a.c, a.errors > 0);
        onCase?.();
      }
      for (const a of answered.splice(0)) settle(a.c, a.errors > 0);
    };
    ws.send(JSON.stringify({ op: 'hello', version: PROTOCOL_VERSION, role: 'client', id: `fuzz-${conn}-${randomUUID()}`, token: TOKEN }));
    let sent = 0;
    while (closeCode === undefined) {
      const c = (next ??= maker.next());
      if (sent + tally.frames >= frames + WINDOW) break;
      const alone = c.expect !== 'error';
      await waitForProgress(() => inflight.length < (alone ? 1 : WINDOW));
      if (closeCode !== undefined) break;
      if (tally.frames >= frames) break;
      next = undefined;
      for (const f of c.frames) ws.send(f.data, { binary: f.binary });
      const marker = ++req;
      const markerMsg = c.flushChannel ? { op: 'flush', req: marker, channel: c.flushChannel } : { op: 'story', req: marker, key: 'marker' };
      ws.send(Buffer.concat([Buffer.from([WHOLE]), serialize([markerMsg])]), { binary: true });
      inflight.push({ c, marker });
      sent += c.frames.length;
      if (alone) await waitForProgress(() => inflight.length === 0);
    }
    if (closeCode === undefined) await waitForProgress(() => inflight.length === 0);
    if (closeCode !== undefined) {
      // The first unanswered case closed the connection; cases after it were never read: send them again.
      const culprit = inflight.shift();
      if (culprit) {
        tally.frames += culprit.c.frames.length;
        tally.cases++;
        tally.byKind[culprit.c.kind] = (tally.byKind[culprit.c.kind] ?? 0) + culprit.c.frames.length;
        tally.closes++;
        tally.closeCodes[String(closeCode)] = (tally.closeCodes[String(closeCode)] ?? 0) + 1;
        if (culprit.c.expect === 'error') tally.unanswered.push(`${culprit.c.kind}: closed (${closeCode}) where an error reply was expected: ${describe(culprit.c)}`);
      } else {
        tally.unanswered.push(`connection ${conn} closed (${closeCode}) with no case in flight`);
      }
      if (inflight.length > 0) throw new Error(`connection ${conn}: closed (${closeCode}) with ${inflight.length} more cases in flight, though closing cases are sent alone`);
    } else {
      ws.close();
      await new Promise<void>((resolve) => {
        if (ws.readyState === WebSocket.CLOSED) return resolve();
        ws.once('close', () => resolve());
      });
    }
  }
}

function describe(c: Case): string {
  const f = c.frames[0];
  if (!f.binary) return `text ${JSON.stringify(f.data).slice(0, 80)}`;
  const b = f.data as Buffer;
  try {
    return `[${b[0]}] ${JSON.stringify(deserialize(b.subarray(1)), (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)).slice(0, 160)}`;
  } catch {
    return `[${b[0]}] ${b.subarray(1, 40).toString('hex')}`;
  }
}

test(`${FRAMES} malformed frames over ${CONNECTIONS} connections; the scheduler stays up and a normal client's work is correct`, { timeout: 180_000 }, async () => {
  const scheduler = await startScheduler(['--port', '0', '--threads', '1', '--token', TOKEN]);
  const producer = await Client.connect(scheduler.address, { token: TOKEN, reconnect: false });
  const consumer = await Client.connect(scheduler.address, { token: TOKEN, reconnect: false });
  const tally: Tally = { frames: 0, cases: 0, errors: 0, closes: 0, byKind: {}, closeCodes: {}, unanswered: [] };
  let fuzzing = true;
  let rounds = 0;
  let appended = 0;
  try {
    const out = producer.channel('normal-results');
    const seen = consumer.channel('normal-results');
    await Promise.all([out.ready, seen.ready]);
    const reading = (async () => {
      const got: unknown[] = [];
      for await (const item of seen) {
        got.push(item);
      }
      return got;
    })();
    // The normal client: map + gather, futures and values into a channel, until the fuzzers finish.
    const normal = (async () => {
      while (fuzzing || rounds < 3) {
        const xs = Array.from({ length: 50 }, (_, i) => rounds * 100 + i);
        const futures = producer.map((x: number) => x * 2 + 1, xs, { pure: false });
        const got = (await producer.gather(futures)) as number[];
        assert.deepEqual(got, xs.map((x) => x * 2 + 1), `round ${rounds}: gathered results`);
        const sum = producer.submit((...v: number[]) => v.reduce((a, b) => a + b, 0), ...futures);
        out.append(sum);
        out.append({ round: rounds });
        appended += 2;
        await out.flush();
        for (const f of futures) f.release();
        rounds++;
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    // Failures surface where awaited below; until then they must not become unhandled rejections.
    normal.catch(() => undefined);
    reading.catch(() => undefined);
    const started = Date.now();
    let lastReport = started;
    const perConn = Math.ceil(FRAMES / CONNECTIONS);
    const parts: Tally[] = Array.from({ length: CONNECTIONS }, () => ({ frames: 0, cases: 0, errors: 0, closes: 0, byKind: {}, closeCodes: {}, unanswered: [] }));
    const progress = () => {
      if (Date.now() - lastReport > 5000) {
        lastReport = Date.now();
        console.log(`fuzz: ${parts.reduce((a, p) => a + p.frames, 0)} frames after ${((lastReport - started) / 1000).toFixed(0)} s`);
      }
    };
    await Promise.all(parts.map((p, i) => fuzzConnection(scheduler.address, i, perConn, p, progress)));
    fuzzing = false;
    for (const p of parts) {
      tally.frames += p.frames;
      tally.cases += p.cases;
      tally.errors += p.errors;
      tally.closes += p.closes;
      for (const [k, v] of Object.entries(p.byKind)) tally.byKind[k] = (tally.byKind[k] ?? 0) + v;
      for (const [k, v] of Object.entries(p.closeCodes)) tally.closeCodes[k] = (tally.closeCodes[k] ?? 0) + v;
      tally.unanswered.push(...p.unanswered);
    }
    await normal;
    await out.stop();
    const items = await reading;
    console.log(
      `fuzz (seed ${SEED}): ${tally.frames} bad frames in ${tally.cases} cases over ${CONNECTIONS} connections in ${((Date.now() - started) / 1000).toFixed(1)} s; ` +
        `${tally.errors} answered with errors, ${tally.closes} closed ${JSON.stringify(tally.closeCodes)}; normal client: ${rounds} rounds\n  by kind: ${JSON.stringify(tally.byKind)}`,
    );

    assert.equal(tally.unanswered.length, 0, `cases without the expected answer (seed ${SEED}):\n${tally.unanswered.slice(0, 20).join('\n')}`);
    assert.ok(tally.frames >= FRAMES, `sent ${tally.frames} frames`);
    assert.equal(scheduler.proc.exitCode, null, `the scheduler process died:\n${scheduler.output()}`);
    assert.equal(scheduler.proc.signalCode, null, `the scheduler process was killed:\n${scheduler.output()}`);

    // The consumer saw every append of the normal client, in order, with correct results.
    assert.equal(items.length, appended);
    for (let r = 0; r < rounds; r++) {
      const f = items[2 * r] as Future;
      const expected = Array.from({ length: 50 }, (_, i) => (r * 100 + i) * 2 + 1).reduce((a, b) => a + b, 0);
      assert.equal(await f.result(), expected, `round ${r}: the sum read through the channel`);
      assert.deepEqual(items[2 * r + 1], { round: r });
    }
    // And it still serves a new client.
    const late = await Client.connect(scheduler.address, { token: TOKEN, reconnect: false });
    assert.equal(await late.submit((a: number, b: number) => a + b, 20, 22).result(), 42);
    assert.ok((await late.channels()).some((c) => c.name === 'normal-results'));
    await late.close();
  } finally {
    fuzzing = false;
    await producer.close().catch(() => undefined);
    await consumer.close().catch(() => undefined);
    await stopAll();
  }
});
