/**
 * scale: the sans-I/O core (SchedulerState) driven directly — no sockets, no threads — by simulated clients
 * and workers, at 10 / 100 / 1,000 workers and 100 / 1,000 / 10,000 clients, with 1,000,000 channel items
 * retained at every size. Figures:
 * Costs are CPU time of the process (the machine may be shared), median of rounds; every size is set up
 * first and the sizes' rounds interleave, so that a change of the machine's load does not fall on one size.
 *   - scale-stimulus: mean cost of one stimulus of a mixed stream (submits, dispatches, task outcomes, releases,
 *     wants, gathers, appends and flushes of clients, workers and clients leaving and joining), each followed by
 *     the drains the server does after every event (outbox, frees, remote gathers);
 *   - scale-deliver: one append of one value to the channel every client is subscribed to, until drainOutbox
 *     returned every subscriber's message; per append and per subscriber;
 *   - scale-heap-client / scale-heap-worker: scheduler heap per idle client (joined, subscribed to its two
 *     channels, nothing wanted) and per idle worker (joined, asked for work once), measured with global.gc
 *     after a warm-up that fills the story log (as in a scheduler that has run a while); at the smallest
 *     size the few hundred KiB measured are within the heap's noise, the largest size is the telling one.
 * The channels: 'all' (maxlen 1,000, every client subscribed) and one 'topic-i' per 10 clients (each client
 * subscribed to one: a topic has 10 subscribers at every size), the rest of the 1,000,000 items spread evenly
 * over the topics (maxlen = their share, so the stream's appends keep the total retained constant). One client
 * is an observer (the sidebar's or dashboard's `events`), as when a user watches the cluster.
 * Targets: stimulus cost and per-subscriber delivery cost grow at most 2x across the 100x range; at most
 * 10 KiB per idle client and 20 KiB per idle worker.
 */
import { type ClientState, SchedulerState } from '../scheduler/core/state';
import { PLACE_MIN_BYTES, STORY_CAPACITY } from '../scheduler/core/task-machine';
import type { ClientMessage, WireItem } from '../scheduler/protocol/messages';
import { PerformanceObserver, constants as perfConstants } from 'node:perf_hooks';
import { median, report } from './report';
import { seededRandom } from '../test/support/random';
import { mainThreadCpuMs } from './ws-helpers/processes';

const SIZES = [
  { workers: 10, clients: 100 },
  { workers: 100, clients: 1_000 },
  { workers: 1_000, clients: 10_000 },
];
const ALL_MAXLEN = 1_000;
const PER_TOPIC = 10;
/** The size of a result left on its worker: above PLACE_MIN_BYTES, so its dependents are placed there. */
const REMOTE_RESULT_BYTES = 2 * PLACE_MIN_BYTES;

/** CPU time of this process (ms): the machine may be shared, and waiting for a core is not the core's cost. */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

function heap(): number {
  const gc = (globalThis as { gc?: () => void }).gc as () => void;
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

interface SimClient {
  id: string;
  topic: string;
  /** Keys it holds (submitted or wanted, not yet released), oldest first. */
  held: string[];
  /** The core's state of this client, as its connection keeps it (the server hands it with each message: handleClientOf). */
  state: ClientState;
  fnSent: boolean;
}

interface SimWorker {
  id: string;
  /** False once it left: its runs are dropped when picked (the core requeued them). */
  alive: boolean;
}

interface Running {
  key: string;
  worker: SimWorker;
  run: number;
}

/**
 * One simulated cluster around one SchedulerState. Its own bookkeeping is arrays and objects (no maps keyed
 * by id), so that what it costs per stimulus does not grow with the cluster and blur the core's figures.
 */
class Sim {
  readonly s = new SchedulerState('bench://scale', Date.now, undefined);
  readonly clients: SimClient[] = [];
  readonly workers: SimWorker[] = [];
  /**
   * Runs handed out and not yet reported, each as three consecutive entries (key, worker, run id) rather than
   * an object: a run waits for its outcome thousands of stimuli in the largest cluster, and an object per run
   * would be copied by the scavenges it lives through, a cost of the bench and not of the core.
   */
  private runs: unknown[] = [];

  /** How many runs are handed out and not yet reported. */
  get running(): number {
    return this.runs.length / 3;
  }
  /** The client that asked for scheduler events (a sidebar, a dashboard). */
  observer: SimClient | undefined;
  private nextClient = 0;
  private nextWorker = 0;
  private nextKey = 0;
  private req = 0;
  readonly topics: number;
  readonly perTopic: number;

  constructor(
    readonly size: { workers: number; clients: number },
    items: number,
  ) {
    this.topics = Math.max(1, Math.floor(size.clients / PER_TOPIC));
    this.perTopic = Math.floor((items - ALL_MAXLEN) / this.topics);
  }

  /** The channels, filled to 1,000,000 items by a producer that then leaves them (unsubscribed). */
  fill(): void {
    const p = 'producer';
    this.s.addClient(p);
    this.fillOne(p, 'all', ALL_MAXLEN);
    for (let i = 0; i < this.topics; i++) this.fillOne(p, `topic-${i}`, this.perTopic);
    this.drain();
  }

  private fillOne(p: string, channel: string, n: number): void {
    this.s.handleClient(p, { op: 'sub', channel, maxlen: n, from: undefined, create: true, resume: false } as ClientMessage);
    for (let done = 0; done < n; ) {
      const items: WireItem[] = [];
      for (let j = 0; j < 1000 && done < n; j++, done++) items.push({ v: { seq: done, tag: channel } });
      this.s.handleClient(p, { op: 'append', channel, items } as ClientMessage);
    }
    this.s.handleClient(p, { op: 'unsub', channel } as ClientMessage);
    this.drain();
  }

  drain(): void {
    this.s.drainOutbox();
    this.s.drainFrees();
    this.s.drainRemoteGathers();
  }

  /** A client joins and subscribes to 'all' and its topic from their ends (as a client that saw them). */
  joinClient(): SimClient {
    const n = this.nextClient++;
    const id = `c${n}`;
    this.s.addClient(id);
    const c: SimClient = { id, topic: `topic-${n % this.topics}`, held: [], fnSent: false, state: this.s.clients.get(id) as ClientState };
    this.drain();
    for (const channel of ['all', c.topic]) {
      const from = this.s.channels.get(channel)?.count;
      this.s.handleClientOf(c.state, { op: 'sub', channel, maxlen: null, from, create: true, resume: false } as ClientMessage);
      this.drain();
    }
    this.clients.push(c);
    return c;
  }

  joinWorker(): SimWorker {
    const w: SimWorker = { id: `w${this.nextWorker++}`, alive: true };
    this.s.addWorker(w.id, 4);
    this.drain();
    this.workers.push(w);
    return w;
  }

  // ------------------------------------------------------------ the mixed stream: one stimulus each

  submit(c: SimClient, n: number): void {
    const tasks = [];
    for (let i = 0; i < n; i++) {
      const key = `k${this.nextKey++}`;
      // One task in four depends on the client's newest key.
      const dep = i === 0 && this.nextKey % 4 === 0 && c.held.length > 0 ? c.held[c.held.length - 1] : undefined;
      tasks.push(dep ? { key, fn: 'inc', args: [1], deps: [dep] } : { key, fn: 'inc', args: [1] });
      c.held.push(key);
    }
    const fns = c.fnSent ? [] : [{ id: 'inc', src: '(x) => x + 1' }];
    c.fnSent = true;
    this.s.handleClientOf(c.state, { op: 'submit', req: ++this.req, fns, tasks } as unknown as ClientMessage);
  }

  dispatch(w: SimWorker): void {
    const taken = this.s.takeReady(w.id, 4);
    for (const e of taken) this.runs.push(e.key, w, e.run);
  }

  /** Takes run `i` off the list; undefined when its worker left meanwhile (the core requeued it). */
  take(i: number): Running | undefined {
    const a = this.runs;
    const j = 3 * i;
    const r: Running = { key: a[j] as string, worker: a[j + 1] as SimWorker, run: a[j + 2] as number };
    const last = a.length - 3;
    a[j] = a[last];
    a[j + 1] = a[last + 1];
    a[j + 2] = a[last + 2];
    a.length = last;
    return r.worker.alive ? r : undefined;
  }

  outcome(r: Running, erred: boolean): void {
    if (erred) this.s.taskErred(r.key, r.worker.id, { name: 'Error', message: 'boom' }, r.run);
    // Every other result stays on its worker (as a worker process keeps a result too large to send inline), large
    // enough that a task depending on it is placed on that worker: placement, the workers' own queues and
    // stealing are part of the stream, as they are of a cluster of worker processes.
    else if (r.run % 2 === 0) this.s.taskFinished(r.key, r.worker.id, 2, true, r.run, REMOTE_RESULT_BYTES);
    else this.s.taskFinished(r.key, r.worker.id, 2, false, r.run);
  }

  release(c: SimClient): void {
    const keys = c.held.splice(0, 2);
    this.s.handleClientOf(c.state, { op: 'release', keys } as ClientMessage);
  }

  want(c: SimClient, other: SimClient): void {
    const k = other.held[other.held.length - 1];
    if (!k) return this.flush(c);
    c.held.push(k);
    this.s.handleClientOf(c.state, { op: 'want', keys: [k] } as ClientMessage);
  }

  gather(c: SimClient): void {
    // The client's oldest key: finished by now, or the gather is answered that it is not.
    const k = c.held[0];
    this.s.handleClientOf(c.state, { op: 'gather', req: ++this.req, keys: k ? [k] : [] } as ClientMessage);
  }

  append(c: SimClient): void {
    this.s.handleClientOf(c.state, { op: 'append', channel: c.topic, items: [{ v: { from: c.id } }] } as ClientMessage);
  }

  flush(c: SimClient): void {
    this.s.handleClientOf(c.state, { op: 'flush', req: ++this.req, channel: c.topic } as ClientMessage);
  }

  leaveWorker(i: number): void {
    const w = this.workers[i];
    this.workers[i] = this.workers[this.workers.length - 1];
    this.workers.pop();
    w.alive = false;
    this.s.removeWorker(w.id);
  }

  leaveClient(i: number): void {
    const c = this.clients[i];
    this.clients[i] = this.clients[this.clients.length - 1];
    this.clients.pop();
    this.s.removeClient(c.id);
  }
}

type Kind = 'submit' | 'dispatch' | 'finish' | 'err' | 'release' | 'want' | 'gather' | 'append' | 'flush' | 'worker-leave' | 'worker-join' | 'client-leave' | 'client-join';

/** Runs `n` stimuli of the mixed stream, each timed (wall clock) by kind. */
function stream(sim: Sim, n: number, random: () => number, byKind: Map<Kind, { n: number; ms: number }>): void {
  const pick = <T>(xs: T[]): T => xs[Math.floor(random() * xs.length)];
  for (let i = 0; i < n; i++) {
    const x = random() * 100;
    const c = pick(sim.clients);
    let kind: Kind;
    let act: () => void;
    if (x < 16 && c.held.length < 12) {
      kind = 'submit';
      const size = random() < 0.1 ? 5 : 1;
      act = () => sim.submit(c, size);
    } else if (x < 36) {
      kind = 'dispatch';
      const w = pick(sim.workers);
      act = () => sim.dispatch(w);
    } else if (x < 60 && sim.running > 0) {
      let r: Running | undefined;
      while (!r && sim.running > 0) r = sim.take(Math.floor(random() * sim.running));
      if (!r) continue;
      const run = r;
      const erred = random() < 0.03;
      kind = erred ? 'err' : 'finish';
      act = () => sim.outcome(run, erred);
    } else if (x < 76) {
      kind = 'release';
      act = () => sim.release(c);
    } else if (x < 80) {
      kind = 'want';
      const other = pick(sim.clients);
      act = () => sim.want(c, other);
    } else if (x < 85) {
      kind = 'gather';
      act = () => sim.gather(c);
    } else if (x < 93) {
      kind = 'append';
      act = () => sim.append(c);
    } else if (x < 97) {
      kind = 'flush';
      act = () => sim.flush(c);
    } else if (x < 98) {
      // A worker leaves and another joins: two stimuli.
      const j = Math.floor(random() * sim.workers.length);
      timed(sim, 'worker-leave', () => sim.leaveWorker(j), byKind);
      kind = 'worker-join';
      act = () => sim.joinWorker();
    } else if (x < 99) {
      const j = Math.floor(random() * sim.clients.length);
      if (sim.clients[j] === sim.observer) continue; // the observer stays
      timed(sim, 'client-leave', () => sim.leaveClient(j), byKind);
      kind = 'client-join';
      act = () => sim.joinClient();
    } else {
      kind = 'flush';
      act = () => sim.flush(c);
    }
    timed(sim, kind, act, byKind);
  }
}

function timed(sim: Sim, kind: Kind, act: () => void, byKind: Map<Kind, { n: number; ms: number }>): void {
  const t0 = performance.now();
  act();
  sim.drain();
  const dt = performance.now() - t0;
  let k = byKind.get(kind);
  if (!k) byKind.set(kind, (k = { n: 0, ms: 0 }));
  k.n++;
  k.ms += dt;
}

interface Row {
  workers: number;
  clients: number;
  stimulusNs: number;
  byKind: Map<Kind, { n: number; ms: number }>;
  deliverPerAppendUs: number;
  deliverPerSubscriberNs: number;
  heapPerClient: number;
  heapPerWorker: number;
}

function warmUp(sim: Sim): void {
  for (let i = 0; i < sim.size.clients; i++) sim.joinClient();
  for (let i = 0; i < sim.size.workers; i++) sim.joinWorker();
  const c = sim.clients[0];
  for (let done = 0; done < STORY_CAPACITY; done += 5 * 4) {
    sim.submit(c, 5);
    for (const w of sim.workers) sim.dispatch(w);
    while (sim.running > 0) {
      const r = sim.take(0);
      if (r) sim.outcome(r, false);
    }
    sim.s.handleClientOf(c.state, { op: 'release', keys: c.held.splice(0) } as ClientMessage);
    sim.drain();
  }
  while (sim.workers.length > 0) sim.leaveWorker(0);
  while (sim.clients.length > 0) sim.leaveClient(0);
  sim.drain();
}

/** One size, set up and measured round by round (the sizes' rounds interleave: a change of load hits all). */
interface Setup {
  size: { workers: number; clients: number };
  sim: Sim;
  random: () => number;
  heapPerClient: number;
  heapPerWorker: number;
  byKind: Map<Kind, { n: number; ms: number }>;
  stimulusRounds: number[];
  /** The wall-clock windows of its stimulus rounds (performance.now), to attribute GC pauses to sizes. */
  stimulusWindows: [number, number][];
  /** Main-thread CPU per stimulus of each stimulus round (ns; see mainThreadCpuMs). */
  mainThreadRounds: number[];
  deliverRounds: number[];
  appender: string;
  subscribers: number;
  appends: number;
}

function setUp(size: { workers: number; clients: number }, items: number, stimuli: number): Setup {
  const sim = new Sim(size, items);
  sim.fill();
  const retained = [...sim.s.channels.values()].reduce((n, ch) => n + ch.items.length, 0);
  if (retained !== ALL_MAXLEN + sim.topics * sim.perTopic) throw new Error(`expected ${ALL_MAXLEN + sim.topics * sim.perTopic} retained items, found ${retained}`);

  // Memory: idle clients (joined, subscribed), then idle workers (joined, asked for work once, none running).
  // First as many clients and workers join, run tasks until the story log is full (as it is in a scheduler that
  // has run for a while), and leave: what is paid once (compiled code, the log's arrays) is not counted.
  warmUp(sim);
  const h0 = heap();
  for (let i = 0; i < size.clients; i++) sim.joinClient();
  const h1 = heap();
  for (let i = 0; i < size.workers; i++) sim.joinWorker();
  // Each asks for work once (none is ready): what the core keeps for a worker that dispatched is counted.
  for (const w of sim.workers) sim.dispatch(w);
  sim.drain();
  const h2 = heap();
  sim.observer = sim.clients[0];
  sim.s.handleClientOf(sim.observer.state, { op: 'events', on: true } as ClientMessage);
  sim.drain();

  // One warm-up round of the mixed stream.
  const random = seededRandom(42);
  stream(sim, stimuli, random, new Map());

  // Append -> deliver: one value appended to 'all', until drainOutbox has every subscriber's message.
  // The producer appends: it subscribes to nothing and never leaves.
  const appender = 'producer';
  const subscribers = sim.s.channels.get('all')?.subscribers.size ?? 0;
  sim.s.handleClient(appender, { op: 'append', channel: 'all', items: [{ v: { seq: -1 } }] } as ClientMessage);
  let got = 0;
  for (const msgs of sim.s.drainOutbox().values()) for (const m of msgs) if (m.op === 'items' && m.channel === 'all') got++;
  if (got !== subscribers) throw new Error(`an append to 'all' reached ${got} of ${subscribers} subscribers`);
  const st: Setup = {
    size,
    sim,
    random,
    heapPerClient: (h1 - h0) / size.clients,
    heapPerWorker: (h2 - h1) / size.workers,
    byKind: new Map(),
    stimulusRounds: [],
    stimulusWindows: [],
    mainThreadRounds: [],
    deliverRounds: [],
    appender,
    subscribers,
    appends: Math.max(50, Math.min(2_000, Math.floor(2_000_000 / subscribers))),
  };
  deliverRound(st); // warm-up
  st.deliverRounds = [];
  return st;
}

function stimulusRound(st: Setup, stimuli: number): void {
  const w0 = performance.now();
  const m0 = mainThreadCpuMs();
  const t0 = cpuMs();
  stream(st.sim, stimuli, st.random, st.byKind);
  st.stimulusRounds.push(((cpuMs() - t0) / stimuli) * 1e6);
  st.mainThreadRounds.push(((mainThreadCpuMs() - m0) / stimuli) * 1e6);
  st.stimulusWindows.push([w0, performance.now()]);
}

/** GC pauses of the main thread (a diagnostic): collected while the rounds run, read once they are done. */
const gcPauses: { start: number; ms: number; kind: number }[] = [];
const gcObserver = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcPauses.push({ start: e.startTime, ms: e.duration, kind: (e as unknown as { detail?: { kind?: number } }).detail?.kind ?? 0 });
});

/** GC pause per stimulus of one size's stimulus rounds (ns), minor (scavenges) and the rest (mark-compact, incremental marking). */
function gcPerStimulus(st: Setup, stimuli: number): { minor: number; major: number } {
  let minor = 0;
  let major = 0;
  for (const g of gcPauses) {
    if (!st.stimulusWindows.some(([a, b]) => g.start >= a && g.start < b)) continue;
    if (g.kind === perfConstants.NODE_PERFORMANCE_GC_MINOR) minor += g.ms;
    else major += g.ms;
  }
  const n = stimuli * st.stimulusWindows.length;
  return { minor: (minor / n) * 1e6, major: (major / n) * 1e6 };
}

function deliverRound(st: Setup): void {
  const t0 = cpuMs();
  for (let i = 0; i < st.appends; i++) {
    st.sim.s.handleClient(st.appender, { op: 'append', channel: 'all', items: [{ v: { seq: i } }] } as ClientMessage);
    st.sim.s.drainOutbox();
  }
  st.deliverRounds.push((cpuMs() - t0) / st.appends);
  const subscribers = st.sim.s.channels.get('all')?.subscribers.size;
  if (subscribers !== st.subscribers) throw new Error(`'all' has ${subscribers} subscribers, not ${st.subscribers}`);
}

function rowOf(st: Setup): Row {
  const perAppendMs = median(st.deliverRounds);
  return {
    ...st.size,
    stimulusNs: median(st.stimulusRounds),
    byKind: st.byKind,
    deliverPerAppendUs: perAppendMs * 1000,
    deliverPerSubscriberNs: (perAppendMs * 1e6) / st.subscribers,
    heapPerClient: st.heapPerClient,
    heapPerWorker: st.heapPerWorker,
  };
}

function pad(s: string | number, n: number): string {
  return String(s).padStart(n);
}

export async function run(): Promise<void> {
  if (typeof (globalThis as { gc?: unknown }).gc !== 'function') throw new Error('run with --expose-gc');
  const items = Number(process.env.SF_BENCH_SCALE_ITEMS ?? 1_000_000);
  const stimuli = Number(process.env.SF_BENCH_SCALE_STIMULI ?? 50_000);
  const rounds = Number(process.env.SF_BENCH_SCALE_ROUNDS ?? 5);
  const only = process.env.SF_BENCH_SCALE_SIZES?.split(',').map(Number);
  const setups = SIZES.filter((_, i) => !only || only.includes(i)).map((size) => setUp(size, items, stimuli));
  gcObserver.observe({ entryTypes: ['gc'] });
  for (let r = 0; r < rounds; r++) {
    for (const st of setups) {
      stimulusRound(st, stimuli);
      deliverRound(st);
    }
  }
  // The observer hears of the pauses once the event loop has turned (a timer: an immediate comes too early).
  await new Promise((resolve) => setTimeout(resolve, 50));
  gcObserver.disconnect();
  const rows: Row[] = [];
  for (const st of setups) {
    const size = st.size;
    const row = rowOf(st);
    rows.push(row);
    const extra = { workers: size.workers, clients: size.clients, items };
    report('scale-stimulus', row.stimulusNs, 'ns/stimulus', { ...extra, rounds: st.stimulusRounds.map((x) => Math.round(x)) });
    report('scale-deliver-per-subscriber', row.deliverPerSubscriberNs, 'ns/subscriber', extra);
    report('scale-deliver-per-append', row.deliverPerAppendUs, 'us/append', { ...extra, subscribers: size.clients });
    report('scale-heap-client', row.heapPerClient, 'bytes/client', extra);
    report('scale-heap-worker', row.heapPerWorker, 'bytes/worker', extra);
  }
  if (rows.length === 0) return;
  const first = rows[0];
  const last = rows[rows.length - 1];
  const stimulusGrowth = last.stimulusNs / first.stimulusNs;
  // The growth of each round (a diagnostic): the sizes' rounds run one after the other, so each ratio is of two
  // figures taken seconds apart, under about the same load of the machine, where the medians may come from different passes.
  const firstRounds = setups[0].stimulusRounds;
  const lastRounds = setups[setups.length - 1].stimulusRounds;
  const roundGrowth = firstRounds.map((x, i) => lastRounds[i] / x);
  const deliverGrowth = last.deliverPerSubscriberNs / first.deliverPerSubscriberNs;
  report('scale-stimulus-growth', stimulusGrowth, 'x', { from: `${first.workers}w/${first.clients}c`, to: `${last.workers}w/${last.clients}c`, target: 2, rounds: roundGrowth.map((g) => Number(g.toFixed(3))), medianOfRounds: Number(median(roundGrowth).toFixed(3)) });
  report('scale-deliver-growth', deliverGrowth, 'x', { from: `${first.workers}w/${first.clients}c`, to: `${last.workers}w/${last.clients}c`, target: 2 });

  const lines = [
    `scale: the core driven directly; ${items.toLocaleString('en')} channel items retained; ${stimuli.toLocaleString('en')} stimuli x ${rounds} rounds (median), sizes interleaved`,
    `${pad('workers', 8)} ${pad('clients', 8)} ${pad('ns/stimulus', 12)} ${pad('us/append', 10)} ${pad('ns/subscriber', 14)} ${pad('B/idle client', 14)} ${pad('B/idle worker', 14)}`,
    ...rows.map((r) => `${pad(r.workers, 8)} ${pad(r.clients, 8)} ${pad(r.stimulusNs.toFixed(0), 12)} ${pad(r.deliverPerAppendUs.toFixed(1), 10)} ${pad(r.deliverPerSubscriberNs.toFixed(1), 14)} ${pad(r.heapPerClient.toFixed(0), 14)} ${pad(r.heapPerWorker.toFixed(0), 14)}`),
    `growth ${pad(`${stimulusGrowth.toFixed(2)}x`, 29)} ${pad(`${deliverGrowth.toFixed(2)}x`, 25)}   (targets: <= 2x; <= 10240 B/client, <= 20480 B/worker at the largest size; smaller sizes' heap figures are within the heap's noise)`,
    `growth of each round ${roundGrowth.map((g) => `${g.toFixed(2)}x`).join(' ')}, median ${median(roundGrowth).toFixed(2)}x   (a diagnostic: the two figures of a round are taken in the same pass over the sizes, seconds apart)`,
    'ns per stimulus by kind (mean wall time, a diagnostic):',
    `${pad('kind', 13)} ${rows.map((r) => pad(`${r.workers}w/${r.clients}c`, 12)).join(' ')}`,
    ...[...first.byKind.keys()].sort().map((k) => `${pad(k, 13)} ${rows.map((r) => { const b = r.byKind.get(k); return pad(b ? ((b.ms / b.n) * 1e6).toFixed(0) : '-', 12); }).join(' ')}`),
    `${pad('main thread', 13)} ${setups.map((st) => pad(median(st.mainThreadRounds).toFixed(0), 12)).join(' ')}   (CPU per stimulus of the main thread alone; the rest of ns/stimulus is V8's helper threads)`,
    ...(['minor', 'major'] as const).map((m) => `${pad(`gc ${m}`, 13)} ${setups.map((st) => pad(gcPerStimulus(st, stimuli)[m].toFixed(0), 12)).join(' ')}   (main-thread GC pause per stimulus of the stimulus rounds)`),
  ];
  process.stderr.write(`${lines.join('\n')}\n`);
  // Memory is judged at the largest size: at the smallest, the few hundred KiB measured are within the heap's noise.
  const ok = stimulusGrowth <= 2 && deliverGrowth <= 2 && last.heapPerClient <= 10240 && last.heapPerWorker <= 20480;
  process.stderr.write(`scale: targets ${ok ? 'met' : 'NOT met'}\n`);
}
