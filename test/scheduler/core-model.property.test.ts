/**
 * Model-based property test of the sans-I/O core (no threads, no sockets). Random sequences of client and
 * worker stimuli run against `SchedulerState`; a small model of each client (its handles, its want-counts as
 * the real Client keeps them, what it received of each channel) and of each channel's log runs beside it.
 * After every step the invariants the issue names are checked:
 *   - every online client's want-counts in the core equal the model's;
 *   - no key is held without a reason, and the core's bookkeeping (holds, channel slots, state counts) is exact;
 *   - no key that some handle holds is ever forgotten;
 *   - every subscriber receives the channel's log in order, without duplicate, and without gap unless it was
 *     away while items were evicted; each item is the one appended at its position;
 *   - a run that is no longer current never lands its result.
 * A failure prints the shrunk command sequence.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { propertyRuns } from '../support/property-runs';
import { SchedulerState } from '../../scheduler/core/state';
import type { ExecTask } from '../../scheduler/core/tasks';
import type { SchedulerMessage, WireItem } from '../../scheduler/protocol/messages';

type Cmd =
  | { t: 'submit'; c: number; k: number; deps: number[] }
  | { t: 'want'; c: number; k: number }
  | { t: 'scatter'; c: number; v: number }
  | { t: 'release'; c: number; k: number }
  | { t: 'cancel'; c: number; k: number; force: boolean }
  | { t: 'close'; c: number }
  | { t: 'sub'; c: number; ch: number; maxlen: number | null }
  | { t: 'append'; c: number; ch: number; k: number }
  | { t: 'appendValue'; c: number; ch: number; v: number }
  | { t: 'stop'; c: number; ch: number }
  | { t: 'delete'; c: number; ch: number }
  | { t: 'dispatch'; w: number; n: number }
  | { t: 'finish'; i: number }
  | { t: 'fail'; i: number }
  | { t: 'loseWorker'; w: number }
  | { t: 'away'; c: number }
  | { t: 'back'; c: number }
  | { t: 'deliver'; c: number };

const CLIENTS = 3;
const KEYS = 3;
const CHANNELS = 2;
const WORKERS = ['local', 'remote'] as const;

const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ t: fc.constant('submit' as const), c: fc.nat(CLIENTS - 1), k: fc.nat(KEYS - 1), deps: fc.array(fc.nat(KEYS - 1), { maxLength: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('want' as const), c: fc.nat(CLIENTS - 1), k: fc.nat(KEYS - 1) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('scatter' as const), c: fc.nat(CLIENTS - 1), v: fc.nat(2) }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('release' as const), c: fc.nat(CLIENTS - 1), k: fc.nat(KEYS + 2) }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('cancel' as const), c: fc.nat(CLIENTS - 1), k: fc.nat(KEYS + 2), force: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('close' as const), c: fc.nat(CLIENTS - 1) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('sub' as const), c: fc.nat(CLIENTS - 1), ch: fc.nat(CHANNELS - 1), maxlen: fc.option(fc.integer({ min: 1, max: 3 })) }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('append' as const), c: fc.nat(CLIENTS - 1), ch: fc.nat(CHANNELS - 1), k: fc.nat(KEYS + 2) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('appendValue' as const), c: fc.nat(CLIENTS - 1), ch: fc.nat(CHANNELS - 1), v: fc.nat(9) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('stop' as const), c: fc.nat(CLIENTS - 1), ch: fc.nat(CHANNELS - 1) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('delete' as const), c: fc.nat(CLIENTS - 1), ch: fc.nat(CHANNELS - 1) }) },
  { weight: 6, arbitrary: fc.record({ t: fc.constant('dispatch' as const), w: fc.nat(WORKERS.length - 1), n: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 7, arbitrary: fc.record({ t: fc.constant('finish' as const), i: fc.nat(7) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('fail' as const), i: fc.nat(7) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('loseWorker' as const), w: fc.nat(WORKERS.length - 1) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('away' as const), c: fc.nat(CLIENTS - 1) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('back' as const), c: fc.nat(CLIENTS - 1) }) },
  { weight: 10, arbitrary: fc.record({ t: fc.constant('deliver' as const), c: fc.nat(CLIENTS - 1) }) },
);

/** What a client holds of one key, as the real Client keeps it. */
interface KeyModel {
  /** Handles (and window slots) on the key. */
  refs: number;
  /** Wants the scheduler counts for this client because of them. */
  acquired: number;
}

interface ChannelView {
  epoch: number | undefined;
  count: number;
  maxlen: number | null;
  /** Positions received, in order, with what they were. */
  got: { at: number; item: string }[];
  /** Window slots holding futures (keys), oldest first, with their positions. */
  window: { at: number; key: string | undefined }[];
  /** A reconnect happened since subscribing: items evicted meanwhile may be skipped. */
  resumed: boolean;
  ended: boolean;
  /** Which incarnation of the channel this view follows (the model's count of deletes of the name). */
  incarnation: number;
}

class ModelClient {
  readonly keys = new Map<string, KeyModel>();
  readonly chans = new Map<string, ChannelView>();
  inbox: SchedulerMessage[] = [];
  online = true;
  nextReq = 1;
  readonly pendingScatter = new Map<number, string>();
  constructor(readonly id: string) {}

  hold(key: string, acquired: number): void {
    let k = this.keys.get(key);
    if (!k) this.keys.set(key, (k = { refs: 0, acquired: 0 }));
    k.refs++;
    k.acquired += acquired;
  }

  /** Lets go of one ref; at zero the client releases every want it acquired. Returns the release to send. */
  drop(key: string): number {
    const k = this.keys.get(key) as KeyModel;
    if (--k.refs > 0) return 0;
    this.keys.delete(key);
    return k.acquired;
  }
}

interface Run {
  exec: ExecTask;
  worker: string;
}

class World {
  readonly s: SchedulerState;
  clients: ModelClient[] = [];
  /** Each channel incarnation's log as appended (by `name#incarnation`): the item at each position. */
  readonly logs = new Map<string, string[]>();
  /** Deletes of each channel name so far: a view of an older incarnation must end as deleted. */
  readonly incarnations = new Map<string, number>();
  runs: Run[] = [];
  workers: string[] = [...WORKERS];
  private generation = 0;
  readonly violations: string[] = [];

  constructor() {
    let clock = 0;
    this.s = new SchedulerState('model://core', () => ++clock, 1000);
    for (const w of this.workers) this.s.addWorker(w, 2);
    for (let i = 0; i < CLIENTS; i++) this.clients.push(this.newClient(i));
    this.post();
    this.deliverAll();
  }

  private newClient(i: number): ModelClient {
    const c = new ModelClient(`c${i}-${this.generation++}`);
    this.s.addClient(c.id);
    return c;
  }

  private send(c: ModelClient, msg: Parameters<SchedulerState['handleClient']>[1]): void {
    this.s.handleClient(c.id, msg);
  }

  private release(c: ModelClient, key: string): void {
    const n = c.drop(key);
    if (n > 0) this.send(c, { op: 'release', keys: [key], n: [n] });
  }

  apply(m: Cmd): void {
    switch (m.t) {
      case 'submit': {
        const c = this.clients[m.c];
        if (!c.online) return;
        const key = `k${m.k}`;
        // Dependencies are only ever earlier keys (no cycles), and only ones this client holds.
        const deps = m.deps.filter((d) => d < m.k).map((d) => `k${d}`);
        if (deps.some((d) => !c.keys.has(d))) return;
        const args = deps.map((d) => ({ $sf: d }));
        this.send(c, { op: 'submit', fns: [{ id: 'f', src: '(x) => x' }], tasks: [deps.length > 0 ? { key, fn: 'f', args, deps } : { key, fn: 'f', args }] });
        c.hold(key, 1);
        return;
      }
      case 'want': {
        const c = this.clients[m.c];
        if (!c.online) return;
        this.send(c, { op: 'want', keys: [`k${m.k}`] });
        c.hold(`k${m.k}`, 1);
        return;
      }
      case 'scatter': {
        const c = this.clients[m.c];
        if (!c.online) return;
        const req = c.nextReq++;
        const key = `scatter-${m.v}`;
        c.pendingScatter.set(req, key);
        this.send(c, { op: 'scatter', req, items: [{ key, value: `data-${m.v}` }] });
        return;
      }
      case 'release': {
        const c = this.clients[m.c];
        const key = this.pickHeld(c, m.k);
        if (!c.online || key === undefined || !this.isHandle(c, key)) return;
        this.release(c, key);
        return;
      }
      case 'cancel': {
        const c = this.clients[m.c];
        const key = this.pickHeld(c, m.k);
        if (!c.online || key === undefined) return;
        this.send(c, m.force ? { op: 'cancel', req: c.nextReq++, keys: [key], force: true } : { op: 'cancel', req: c.nextReq++, keys: [key] });
        return;
      }
      case 'close':
        this.s.removeClient(this.clients[m.c].id);
        this.clients[m.c] = this.newClient(m.c);
        return;
      case 'sub': {
        const c = this.clients[m.c];
        const name = `ch${m.ch}`;
        if (!c.online || c.chans.has(name)) return;
        c.chans.set(name, { epoch: undefined, count: 0, maxlen: m.maxlen, got: [], window: [], resumed: false, ended: false, incarnation: this.incarnations.get(name) ?? 0 });
        this.send(c, { op: 'sub', channel: name, maxlen: m.maxlen });
        return;
      }
      case 'append': {
        const c = this.clients[m.c];
        const key = this.pickHeld(c, m.k);
        if (!c.online || key === undefined) return;
        this.appendItem(c, `ch${m.ch}`, { k: key }, key);
        return;
      }
      case 'appendValue': {
        const c = this.clients[m.c];
        if (!c.online) return;
        this.appendItem(c, `ch${m.ch}`, { v: m.v }, `value:${m.v}`);
        return;
      }
      case 'stop': {
        const c = this.clients[m.c];
        // Like the real client, a handle names the incarnation it knows: it never touches a newer one.
        const epoch = c.chans.get(`ch${m.ch}`)?.epoch;
        const ch = this.s.channels.get(`ch${m.ch}`);
        const wasStopped = ch?.stopped;
        if (c.online) this.send(c, epoch === undefined ? { op: 'stop', req: c.nextReq++, channel: `ch${m.ch}` } : { op: 'stop', req: c.nextReq++, channel: `ch${m.ch}`, epoch });
        if (ch && epoch !== undefined && ch.epoch !== epoch && ch.stopped !== wasStopped) this.violations.push(`${c.id} ch${m.ch}: a deleted incarnation's handle stopped incarnation ${ch.epoch}`);
        return;
      }
      case 'delete': {
        const c = this.clients[m.c];
        if (!c.online) return;
        const name = `ch${m.ch}`;
        const epoch = c.chans.get(name)?.epoch;
        const ch = this.s.channels.get(name);
        if (ch && (epoch === undefined || ch.epoch === epoch)) this.incarnations.set(name, (this.incarnations.get(name) ?? 0) + 1);
        this.send(c, epoch === undefined ? { op: 'delete', req: c.nextReq++, channel: name } : { op: 'delete', req: c.nextReq++, channel: name, epoch });
        if (ch && epoch !== undefined && ch.epoch !== epoch && this.s.channels.get(name) !== ch) this.violations.push(`${c.id} ${name}: a deleted incarnation's handle deleted incarnation ${ch.epoch}`);
        return;
      }
      case 'dispatch': {
        const w = this.workers[m.w];
        for (const exec of this.s.takeReady(w, m.n)) this.runs.push({ exec, worker: w });
        return;
      }
      case 'finish':
      case 'fail': {
        if (this.runs.length === 0) return;
        const [r] = this.runs.splice(m.i % this.runs.length, 1);
        if (!this.workers.includes(r.worker)) return; // its worker is gone: nothing comes back
        if (m.t === 'fail') this.s.taskErred(r.exec.key, r.worker, { name: 'Error', message: `run ${r.exec.run} failed` }, r.exec.run);
        else this.s.taskFinished(r.exec.key, r.worker, `v${r.exec.run}`, r.worker.startsWith('remote'), r.exec.run);
        return;
      }
      case 'loseWorker': {
        const w = this.workers[m.w];
        this.s.removeWorker(w);
        this.runs = this.runs.filter((r) => r.worker !== w);
        const again = `${w.replace(/-\d+$/, '')}-${this.generation++}`;
        this.workers[m.w] = again;
        this.s.addWorker(again, 2);
        return;
      }
      case 'away':
        this.clients[m.c].online = false;
        return;
      case 'deliver':
        this.deliverTo(this.clients[m.c]);
        return;
      case 'back': {
        const c = this.clients[m.c];
        if (c.online) return;
        // The connection dropped: what was on its way to the client is lost; it comes back within its grace period.
        c.inbox = [];
        c.online = true;
        this.s.resumeClient(c.id);
        const keys = [...c.keys].filter(([, k]) => k.acquired > 0);
        this.send(c, { op: 'resync', keys: keys.map(([key]) => key), n: keys.map(([, k]) => k.acquired) });
        for (const [name, view] of c.chans) {
          if (view.ended) continue;
          view.resumed = true;
          this.send(c, view.epoch !== undefined ? { op: 'sub', channel: name, maxlen: view.maxlen, resume: true, from: view.count, epoch: view.epoch } : { op: 'sub', channel: name, maxlen: view.maxlen, resume: true });
        }
        return;
      }
    }
  }

  private appendItem(c: ModelClient, name: string, item: WireItem, what: string): void {
    const ch = this.s.channels.get(name);
    const epoch = c.chans.get(name)?.epoch;
    const count = ch?.count;
    this.send(c, epoch === undefined ? { op: 'append', channel: name, items: [item] } : { op: 'append', channel: name, items: [item], epoch });
    if (ch && epoch !== undefined && ch.epoch !== epoch && ch.count !== count) this.violations.push(`${c.id} ${name}: an append of a deleted incarnation's handle reached incarnation ${ch.epoch}`);
    if (ch && !ch.stopped && (epoch === undefined || ch.epoch === epoch)) {
      const id = `${name}#${this.incarnations.get(name) ?? 0}`;
      let log = this.logs.get(id);
      if (!log) this.logs.set(id, (log = []));
      log[ch.count - 1] = what;
    }
  }

  /** A key client `c` holds a handle on (not only a window slot), chosen by `i`. */
  private pickHeld(c: ModelClient, i: number): string | undefined {
    const keys = [...c.keys.keys()];
    return keys.length === 0 ? undefined : keys[i % keys.length];
  }

  private isHandle(c: ModelClient, key: string): boolean {
    let inWindows = 0;
    for (const v of c.chans.values()) for (const w of v.window) if (w.key === key) inWindows++;
    return (c.keys.get(key)?.refs ?? 0) > inWindows;
  }

  /** Puts what the core produced on its way to each client (delivered later: messages are in flight meanwhile). */
  post(): void {
    for (const [id, msgs] of this.s.drainOutbox()) {
      const c = this.clients.find((x) => x.id === id);
      if (c) c.inbox.push(...msgs);
    }
  }

  /** Client `c` (when online) receives what is on its way and acts on it as the real Client does. */
  deliverTo(c: ModelClient): void {
    while (c.online && c.inbox.length > 0) {
      const inbox = c.inbox;
      c.inbox = [];
      for (const msg of inbox) this.receive(c, msg);
      this.post();
    }
  }

  /** Everything in flight arrives. */
  deliverAll(): void {
    for (let again = true; again; ) {
      again = false;
      for (const c of this.clients) {
        if (c.online && c.inbox.length > 0) {
          this.deliverTo(c);
          again = true;
        }
      }
    }
  }

  /** Wants the core counted for `c` that are still on their way to it (deliveries, scatter replies). */
  private inFlight(c: ModelClient): Map<string, number> {
    const n = new Map<string, number>();
    const add = (key: string) => n.set(key, (n.get(key) ?? 0) + 1);
    for (const msg of c.inbox) {
      if (msg.op === 'items' || msg.op === 'replay') for (const item of msg.items) if ('k' in item) add(item.k);
      if (msg.op === 'reply' && msg.ok && c.pendingScatter.has(msg.req)) add(c.pendingScatter.get(msg.req) as string);
    }
    return n;
  }

  private receive(c: ModelClient, msg: SchedulerMessage): void {
    switch (msg.op) {
      case 'replay': {
        const view = c.chans.get(msg.channel);
        if (!view) {
          for (const item of msg.items) if ('k' in item) this.adoptThenDrop(c, item.k);
          return;
        }
        if (view.epoch !== undefined && view.epoch !== msg.epoch) this.violations.push(`${c.id} ${msg.channel}: resumed into another incarnation (epoch ${view.epoch} -> ${msg.epoch})`);
        view.epoch = msg.epoch;
        if (view.maxlen === null) view.maxlen = msg.maxlen;
        if (msg.start > view.count) {
          if (!view.resumed && view.got.length > 0) this.violations.push(`${c.id} ${msg.channel}: replay skipped ${view.count}..${msg.start} without a reconnect`);
          view.count = msg.start;
        }
        this.items(c, msg.channel, view, msg.start, msg.items);
        return;
      }
      case 'items': {
        const view = c.chans.get(msg.channel);
        if (view) this.items(c, msg.channel, view, msg.start, msg.items);
        else for (const item of msg.items) if ('k' in item) this.adoptThenDrop(c, item.k);
        return;
      }
      case 'chan-deleted': {
        const view = c.chans.get(msg.channel);
        if (!view) return;
        view.ended = true;
        for (const w of view.window) if (w.key !== undefined) this.release(c, w.key);
        view.window = [];
        c.chans.delete(msg.channel);
        return;
      }
      case 'reply': {
        const key = c.pendingScatter.get(msg.req);
        if (key === undefined) return;
        c.pendingScatter.delete(msg.req);
        if (msg.ok) c.hold(key, 1);
        return;
      }
      default:
        return;
    }
  }

  private adoptThenDrop(c: ModelClient, key: string): void {
    c.hold(key, 1);
    this.release(c, key);
  }

  private items(c: ModelClient, name: string, view: ChannelView, start: number, items: WireItem[]): void {
    items.forEach((item, i) => {
      const at = start + i;
      const key = 'k' in item ? item.k : undefined;
      if (at < view.count) {
        // Seen already: the real Client adopts and drops it at once (the scheduler counted a want for it).
        if (key !== undefined) this.adoptThenDrop(c, key);
        return;
      }
      const last = view.got[view.got.length - 1];
      if (last && at !== last.at + 1 && !view.resumed) this.violations.push(`${c.id} ${name}: gap ${last.at} -> ${at}`);
      const what = key !== undefined ? key : `value:${String((item as { v: unknown }).v)}`;
      const expected = this.logs.get(`${name}#${view.incarnation}`)?.[at];
      if (expected !== undefined && expected !== what) this.violations.push(`${c.id} ${name}@${at}: got ${what}, the log has ${expected}`);
      view.got.push({ at, item: what });
      view.count = at + 1;
      if (key !== undefined) c.hold(key, 1);
      view.window.push({ at, key });
      while (view.maxlen !== null && view.window.length > view.maxlen) {
        const old = view.window.shift() as { key: string | undefined };
        if (old.key !== undefined) this.release(c, old.key);
      }
    });
  }

  check(step: string): void {
    const s = this.s;
    assert.deepEqual(this.violations, [], step);
    const holds = new Map<string, number>();
    const slots = new Map<string, number>();
    const states = new Map<string, number>();
    for (const t of s.tasks.values()) {
      states.set(t.state, (states.get(t.state) ?? 0) + 1);
      if (t.linked) for (const d of t.deps ?? []) holds.set(d.key, (holds.get(d.key) ?? 0) + 1);
    }
    for (const ch of s.channels.values()) {
      for (let i = 0; i < ch.items.length; i++) {
        const item = ch.items.at(i) as { key?: unknown };
        if (item && typeof item === 'object' && typeof item.key === 'string' && s.tasks.get(item.key) === item) slots.set(item.key, (slots.get(item.key) ?? 0) + 1);
      }
    }
    for (const t of s.tasks.values()) {
      const why = `${step}: ${t.key} (${t.state})`;
      assert.ok(t.wanters !== undefined || t.channelRefs > 0 || t.holds > 0, `${why} is held by nobody`);
      assert.equal(t.holds, holds.get(t.key) ?? 0, `${why}: holds`);
      assert.equal(t.channelRefs, slots.get(t.key) ?? 0, `${why}: channel slots`);
      if (t.state === 'memory' && t.fn !== '' && t.holder === undefined) assert.equal(t.value, `v${t.run}`, `${why}: its value is not its current run's`);
      if (t.state === 'waiting') assert.equal(t.waitingOn, (t.deps ?? []).filter((d) => d.state !== 'memory').length, `${why}: waitingOn`);
    }
    for (const [state, n] of Object.entries(s.stateCounts())) {
      if (state !== 'forgotten') assert.equal(n, states.get(state) ?? 0, `${step}: count of ${state}`);
    }
    for (const c of this.clients) {
      if (!c.online) continue;
      const coming = this.inFlight(c);
      for (const key of c.keys.keys()) assert.ok(s.tasks.has(key), `${step}: ${c.id} holds ${key}, which was forgotten`);
      for (const key of new Set([...s.tasks.keys(), ...c.keys.keys()])) {
        const expected = (c.keys.get(key)?.acquired ?? 0) + (coming.get(key) ?? 0);
        assert.equal(s.wantCount(c.id, key), expected, `${step}: want-count of ${key} by ${c.id} (held ${c.keys.get(key)?.acquired ?? 0}, on the way ${coming.get(key) ?? 0})`);
      }
      if (c.inbox.length > 0) continue;
      for (const [name, view] of c.chans) {
        // Once everything reached it, a view of a deleted incarnation has ended.
        if (!view.ended && view.incarnation !== (this.incarnations.get(name) ?? 0) && view.epoch !== undefined) {
          assert.fail(`${step}: ${c.id} still follows ${name} of incarnation ${view.incarnation}, deleted since`);
        }
      }
    }
  }
}

test('model: the core keeps counts, holds, channel logs and runs right under random stimuli', () => {
  fc.assert(
    fc.property(fc.array(cmd, { minLength: 10, maxLength: 60, size: 'max' }), (cmds) => {
      const world = new World();
      cmds.forEach((m, i) => {
        world.apply(m);
        world.post();
        world.check(`step ${i} ${JSON.stringify(m)}`);
      });
      world.deliverAll();
      world.check('after everything arrived');
      // Everyone leaves, channels are deleted: nothing may be left behind.
      for (const c of world.clients) world.s.removeClient(c.id);
      const closer = 'closer';
      world.s.addClient(closer);
      for (const name of [...world.s.channels.keys()]) world.s.handleClient(closer, { op: 'delete', req: 1, channel: name });
      world.s.removeClient(closer);
      world.s.drainOutbox();
      assert.deepEqual([...world.s.tasks.keys()], [], 'keys left after every client left and every channel was deleted');
    }),
    { numRuns: propertyRuns(10_000, 1000), includeErrorInReport: true },
  );
});
