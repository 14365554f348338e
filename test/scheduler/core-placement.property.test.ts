/**
 * Model-based property test of placement, work stealing, several holders per key and `replicate` in the
 * sans-I/O core. Random sequences of submits, releases, dispatches to the scheduler's pool and three worker
 * processes, outcomes with result sizes around the placement threshold, replicate requests with their copies
 * made or failed, and lost workers run against `SchedulerState`. After every step:
 *   - each queued task is in at most one worker's own queue (a worker that exists), and the queues' counts are exact;
 *   - each processing task is on exactly the worker its record names, and on no other;
 *   - holders and the workers' `has` sets agree both ways, with no holder twice and exact byte totals;
 *   - losing a worker keeps every result another worker holds a copy of, and keeps its other holders;
 *   - no dispatch hands out a task that is not queued, or the same run twice.
 * At the end every copy is reported and every worker drains the queues: nothing may stay queued (a queued task
 * that no queue would hand out is lost), every replicate request has exactly one reply, and every key the
 * client wants has settled.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { propertyRuns } from '../support/property-runs';
import { SchedulerState } from '../../scheduler/core/state';
import { PLACE_MIN_BYTES } from '../../scheduler/core/task-machine';
import { holdersOf, type ExecTask } from '../../scheduler/core/tasks';

type Cmd =
  | { t: 'submit'; k: number; deps: number[] }
  | { t: 'release'; k: number }
  /** Many tasks on one key at once (a map over a partition): what fills a worker's own queue. */
  | { t: 'fan'; k: number; n: number }
  | { t: 'dispatch'; w: number; n: number }
  | { t: 'finish'; i: number; size: number }
  | { t: 'fail'; i: number }
  | { t: 'replicate'; k: number; n: number }
  | { t: 'copy'; i: number; ok: boolean }
  | { t: 'loseWorker'; w: number };

const KEYS = 6;
/** The scheduler's own pool, then three worker processes (the last ids change as they are lost and replaced). */
const WORKERS = ['local', 'A', 'B', 'C'] as const;
const THREADS = [1, 1, 2, 1];
const SIZES = [0, 100, PLACE_MIN_BYTES, 4 * PLACE_MIN_BYTES];

const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ t: fc.constant('submit' as const), k: fc.nat(KEYS - 1), deps: fc.array(fc.nat(KEYS - 1), { maxLength: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('release' as const), k: fc.nat(KEYS - 1) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('fan' as const), k: fc.nat(KEYS - 1), n: fc.integer({ min: 2, max: 6 }) }) },
  { weight: 6, arbitrary: fc.record({ t: fc.constant('dispatch' as const), w: fc.nat(WORKERS.length - 1), n: fc.integer({ min: 1, max: 4 }) }) },
  { weight: 7, arbitrary: fc.record({ t: fc.constant('finish' as const), i: fc.nat(7), size: fc.nat(SIZES.length - 1) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('fail' as const), i: fc.nat(7) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('replicate' as const), k: fc.nat(KEYS - 1), n: fc.integer({ min: 1, max: 4 }) }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('copy' as const), i: fc.nat(7), ok: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('loseWorker' as const), w: fc.integer({ min: 1, max: WORKERS.length - 1 }) }) },
);

interface Run {
  exec: ExecTask;
  worker: string;
}

class World {
  readonly s: SchedulerState;
  readonly workers: string[] = [...WORKERS];
  runs: Run[] = [];
  copies: { key: string; worker: string }[] = [];
  /** The client's want-count of each key. */
  readonly wants = new Map<string, number>();
  /** Replicate requests sent, by req id, and the replies each got. */
  readonly replies = new Map<number, number>();
  private nextReq = 1;
  private fans = 0;
  private generation = 0;
  /** Every (key, run) dispatched so far. */
  private readonly dispatched = new Set<string>();

  constructor() {
    let clock = 0;
    this.s = new SchedulerState('model://placement', () => ++clock, 1000);
    this.workers.forEach((w, i) => this.s.addWorker(w, THREADS[i], w !== 'local'));
    this.s.addClient('a');
  }

  apply(m: Cmd, step: string): void {
    switch (m.t) {
      case 'submit': {
        const key = `k${m.k}`;
        const deps = [...new Set(m.deps.filter((d) => d < m.k).map((d) => `k${d}`))].filter((d) => (this.wants.get(d) ?? 0) > 0);
        const args = deps.map((d) => ({ $sf: d }));
        this.s.handleClient('a', { op: 'submit', fns: [{ id: 'f', src: '(x) => x' }], tasks: [deps.length > 0 ? { key, fn: 'f', args, deps } : { key, fn: 'f', args }] });
        this.wants.set(key, (this.wants.get(key) ?? 0) + 1);
        return;
      }
      case 'fan': {
        const dep = `k${m.k}`;
        if ((this.wants.get(dep) ?? 0) === 0) return;
        const tasks = Array.from({ length: m.n }, () => ({ key: `${dep}.${this.fans++}`, fn: 'f', args: [{ $sf: dep }], deps: [dep] }));
        this.s.handleClient('a', { op: 'submit', fns: [{ id: 'f', src: '(x) => x' }], tasks });
        for (const t of tasks) this.wants.set(t.key, 1);
        return;
      }
      case 'release': {
        const key = `k${m.k}`;
        const n = this.wants.get(key) ?? 0;
        if (n === 0) return;
        this.s.handleClient('a', { op: 'release', keys: [key], n: [n] });
        this.wants.delete(key);
        return;
      }
      case 'dispatch':
        return this.dispatch(this.workers[m.w], m.n, step);
      case 'finish':
      case 'fail': {
        if (this.runs.length === 0) return;
        const [r] = this.runs.splice(m.i % this.runs.length, 1);
        if (m.t === 'fail') this.s.taskErred(r.exec.key, r.worker, { name: 'Error', message: 'failed' }, r.exec.run);
        else this.s.taskFinished(r.exec.key, r.worker, r.worker === 'local' ? `v${r.exec.run}` : undefined, r.worker !== 'local', r.exec.run, SIZES[m.size]);
        return;
      }
      case 'replicate': {
        const key = `k${m.k}`;
        const req = this.nextReq++;
        this.replies.set(req, 0);
        this.s.handleClient('a', { op: 'replicate', req, keys: [key], n: m.n });
        return;
      }
      case 'copy': {
        if (this.copies.length === 0) return;
        const [c] = this.copies.splice(m.i % this.copies.length, 1);
        if (m.ok) this.s.replicaAdded(c.key, c.worker);
        else this.s.replicaFailed(c.key, c.worker, 'simulated');
        return;
      }
      case 'loseWorker': {
        const w = this.workers[m.w];
        // What another worker holds a copy of must survive, with its other holders.
        const survivors = [...this.s.tasks.values()].filter((t) => t.state === 'memory' && t.holder !== undefined && holdersOf(t).some((h) => h !== w)).map((t) => ({ t, others: holdersOf(t).filter((h) => h !== w) }));
        this.s.removeWorker(w);
        for (const { t, others } of survivors) {
          assert.equal(t.state, 'memory', `${step}: ${t.key} was lost with ${w} although ${others.join(', ')} held it`);
          assert.deepEqual(holdersOf(t).sort(), others.sort(), `${step}: holders of ${t.key} after ${w} left`);
        }
        this.runs = this.runs.filter((r) => r.worker !== w);
        this.copies = this.copies.filter((c) => c.worker !== w);
        const again = `${WORKERS[m.w]}-${this.generation++}`;
        this.workers[m.w] = again;
        this.s.addWorker(again, THREADS[m.w]);
        return;
      }
    }
  }

  dispatch(w: string, n: number, step: string): void {
    const batch = this.s.takeReady(w, n);
    assert.ok(batch.length <= n, `${step}: ${w} asked for ${n}, got ${batch.length}`);
    for (const exec of batch) {
      const id = `${exec.key}#${exec.run}`;
      assert.ok(!this.dispatched.has(id), `${step}: run ${id} dispatched twice`);
      this.dispatched.add(id);
      const t = this.s.tasks.get(exec.key);
      assert.ok(t && t.state === 'processing' && t.worker === w && t.run === exec.run, `${step}: ${id} handed to ${w} is not processing there`);
      for (const [key, holders] of Object.entries(exec.at ?? {})) {
        const d = this.s.tasks.get(key);
        assert.ok(d, `${step}: ${id} depends on ${key}, unknown`);
        assert.deepEqual([...holders].sort(), holdersOf(d).sort(), `${step}: at of ${key} lists every holder`);
        if (holders.includes(w)) assert.equal(holders[0], w, `${step}: the dispatching worker's own copy comes first`);
      }
      this.runs.push({ exec, worker: w });
    }
  }

  /** Drains what the I/O shell would act on: copy orders and replies. */
  post(): void {
    for (const [worker, orders] of this.s.drainCopies()) {
      for (const o of orders) {
        assert.ok(this.workers.includes(worker) && worker !== 'local', `copy of ${o.key} ordered to ${worker}, not a worker process`);
        assert.ok(o.from.length > 0 && !o.from.includes(worker), `copy of ${o.key} to ${worker} from ${o.from.join(', ')}`);
        this.copies.push({ key: o.key, worker });
      }
    }
    for (const m of this.s.drainOutbox().get('a') ?? []) {
      if (m.op === 'reply' && this.replies.has(m.req)) this.replies.set(m.req, (this.replies.get(m.req) as number) + 1);
    }
    this.s.drainFrees();
  }

  check(step: string): void {
    const s = this.s;
    const placedOn = new Map<string, number>();
    for (const t of s.tasks.values()) {
      const why = `${step}: ${t.key} (${t.state})`;
      if (t.queuedOn !== undefined) {
        assert.equal(t.state, 'queued', `${why} is in a worker's own queue`);
        assert.equal(s.workers.get(t.queuedOn.id), t.queuedOn, `${why} is queued on ${t.queuedOn.id}, which left`);
        placedOn.set(t.queuedOn.id, (placedOn.get(t.queuedOn.id) ?? 0) + 1);
      }
      if (t.state === 'processing') {
        for (const w of s.workers.values()) assert.equal(w.processing.includes(t), w.id === t.worker, `${why} on ${t.worker}: processing set of ${w.id}`);
      }
      const holders = holdersOf(t);
      assert.equal(new Set(holders).size, holders.length, `${why}: a holder twice (${holders.join(', ')})`);
      if (holders.length > 0) assert.equal(t.state, 'memory', `${why} has holders`);
      for (const h of holders) assert.ok(s.workers.get(h)?.has.has(t), `${why}: held on ${h}, which does not list it`);
    }
    for (const w of s.workers.values()) {
      assert.equal(w.queued, placedOn.get(w.id) ?? 0, `${step}: queued count of ${w.id}`);
      if (w.queued === 0) assert.equal(w.queue, undefined, `${step}: ${w.id}'s emptied queue is dropped (stale entries and all)`);
      let bytes = 0;
      for (const t of w.has) {
        assert.ok(holdersOf(t).includes(w.id), `${step}: ${w.id} lists ${t.key}, not held there`);
        assert.equal(s.tasks.get(t.key), t, `${step}: ${w.id} lists ${t.key}, forgotten`);
        bytes += t.nbytes;
      }
      assert.equal(w.nbytes, bytes, `${step}: bytes held on ${w.id}`);
      for (const t of w.processing) assert.equal(t.worker, w.id, `${step}: ${t.key} in ${w.id}'s processing set`);
    }
  }

  /** Every copy reported, every worker takes and finishes everything, until nothing moves. */
  finish(): void {
    for (let round = 0; round < 200; round++) {
      this.post();
      const copies = this.copies.splice(0);
      for (const c of copies) this.s.replicaAdded(c.key, c.worker);
      const dispatchedBefore = this.dispatched.size;
      for (const w of this.workers) this.dispatch(w, 1000, 'drain');
      const runs = this.runs.splice(0);
      for (const r of runs) this.s.taskFinished(r.exec.key, r.worker, r.worker === 'local' ? `v${r.exec.run}` : undefined, r.worker !== 'local', r.exec.run, PLACE_MIN_BYTES);
      this.check(`drain round ${round}`);
      this.post();
      // Settled when a round found nothing to do.
      if (copies.length === 0 && runs.length === 0 && this.dispatched.size === dispatchedBefore && this.copies.length === 0) return;
    }
    assert.fail('the drain did not settle');
  }
}

test('model: placement, stealing, several holders and replicate never lose or duplicate a task', () => {
  fc.assert(
    fc.property(fc.array(cmd, { minLength: 10, maxLength: 80, size: 'max' }), (cmds) => {
      const world = new World();
      cmds.forEach((m, i) => {
        const step = `step ${i} ${JSON.stringify(m)}`;
        world.apply(m, step);
        world.post();
        world.check(step);
      });
      world.finish();
      const counts = world.s.stateCounts();
      const left = [...world.s.tasks.values()].filter((t) => t.state === 'queued').map((t) => `${t.key} on ${t.queuedOn?.id ?? 'the shared queue'}`);
      assert.deepEqual(left, [], 'queued tasks that no worker could take');
      assert.equal(counts.queued, 0);
      assert.equal(counts.processing, 0);
      assert.equal(counts.waiting, 0);
      for (const [key, n] of world.wants) {
        if (n === 0) continue;
        const state = world.s.tasks.get(key)?.state;
        assert.ok(state === 'memory' || state === 'erred' || state === 'lost', `${key} is ${state} after the drain`);
      }
      for (const [req, n] of world.replies) assert.equal(n, 1, `replicate request ${req} got ${n} replies`);
    }),
    { numRuns: propertyRuns(3000, 300), includeErrorInReport: true },
  );
});
