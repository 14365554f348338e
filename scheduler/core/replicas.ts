/**
 * `replicate`: copies of results on more worker processes, so that a task can run near its data on several
 * workers and a result survives the loss of one. The core decides the copies (which key, to which worker, from
 * which holders); the I/O shell carries them out (`drainCopies`) and reports each back (`added` / `failed`).
 * A request is answered once each of its keys has min(n, worker processes) holders, or as soon as one copy
 * fails or a key leaves memory (an error reply): it never waits for something that cannot happen.
 *
 * A key whose value the scheduler keeps itself (a scattered value, a result of the scheduler's own pool) is
 * on no worker process: it is not copied (a task anywhere gets its value with the dispatch), and the reply
 * counts it as held by 0 worker processes.
 */
import { InfoError } from '../protocol/errors';
import type { SchedulerMessage } from '../protocol/messages';
import type { TaskMachine } from './task-machine';
import { holderCount, holdersOf, holdsOn, type TaskRecord, type WorkerState } from './tasks';
import { publicStatus } from './transitions';

/** One copy to make: `key`, from one of `from` (ask them in that order). */
export interface CopyOrder {
  key: string;
  from: string[];
}

interface Request {
  client: string;
  req: number;
  n: number;
  keys: TaskRecord[];
  /** Each key's run when asked: a key recomputed meanwhile is another result. */
  runs: number[];
}

export class Replicas {
  private requests: Request[] = [];
  /** Copies ordered and not yet reported: key -> target worker -> the run of the result being copied. */
  private readonly inFlight = new Map<string, Map<string, number>>();
  private copies = new Map<string, CopyOrder[]>();

  constructor(
    private readonly machine: TaskMachine,
    private readonly send: (client: string, msg: SchedulerMessage) => void,
  ) {}

  /** A client's `replicate`: throws (answered as an error reply) on a key not known or not finished. */
  request(client: string, req: number, keys: string[], n: number): void {
    const records = keys.map((key) => {
      const t = this.machine.tasks.get(key);
      if (!t) throw new InfoError({ name: 'FutureReleasedError', message: `replicate: the scheduler does not hold ${key} (submit or scatter it first)`, code: 'ERR_FUTURE_RELEASED', key });
      if (t.state !== 'memory') throw new InfoError({ name: 'Error', message: `replicate: ${key} is not finished (${publicStatus(t.state)}); wait for it first`, code: 'ERR_NOT_FINISHED', key });
      return t;
    });
    this.requests.push({ client, req, n, keys: records, runs: records.map((t) => t.run) });
    this.settle();
  }

  /** Worker `worker` now holds a copy of `key`. */
  added(key: string, worker: string): void {
    const run = this.takeInFlight(key, worker);
    const t = this.machine.tasks.get(key);
    if (run !== undefined && t !== undefined && t.state === 'memory' && t.run === run && t.holder !== undefined && this.machine.workers.has(worker)) {
      this.machine.addReplica(t, worker);
      this.machine.storyNote(t, 'replica-added', worker);
    } else if (this.machine.workers.has(worker)) {
      // Not ordered, or the result changed or went meanwhile: the copy is of no use.
      this.machine.freeOn(worker, key);
    }
    this.settle();
  }

  /** Copying `key` to `worker` failed: requests waiting for it are answered with the error. */
  failed(key: string, worker: string, why = 'the copy failed'): void {
    if (this.takeInFlight(key, worker) === undefined) return;
    const t = this.machine.tasks.get(key);
    if (t) this.machine.storyNote(t, 'replica-failed', worker, why);
    this.requests = this.requests.filter((r) => {
      if (!r.keys.some((k) => k.key === key)) return true;
      this.send(r.client, { op: 'reply', req: r.req, ok: false, error: { name: 'ReplicateError', message: `replicate: copying ${key} to worker ${worker} failed: ${why}`, code: 'ERR_REPLICATE', key } });
      return false;
    });
    this.settle();
  }

  /** A worker left: copies to it will not come; what it held may need copies elsewhere. */
  workerLeft(worker: string): void {
    for (const [key, targets] of this.inFlight) {
      targets.delete(worker);
      if (targets.size === 0) this.inFlight.delete(key);
    }
    this.copies.delete(worker);
    this.settle();
  }

  clientLeft(client: string): void {
    this.requests = this.requests.filter((r) => r.client !== client);
  }

  /** Copies to make, by target worker, since the last call. */
  drain(): Map<string, CopyOrder[]> {
    const out = this.copies;
    this.copies = new Map();
    return out;
  }

  /** Answers the requests that are done or cannot be; orders copies for the others. */
  settle(): void {
    if (this.requests.length === 0) return;
    let dataWorkers = 0;
    for (const w of this.machine.workers.values()) if (w.holdsData) dataWorkers++;
    this.requests = this.requests.filter((r) => {
      const want = Math.min(r.n, dataWorkers);
      const counts: Record<string, number> = {};
      let done = true;
      for (let i = 0; i < r.keys.length; i++) {
        const t = r.keys[i];
        if (t.state !== 'memory' || t.run !== r.runs[i] || this.machine.tasks.get(t.key) !== t) {
          const how = t.state === 'memory' ? 'recomputed' : t.state === 'forgotten' || this.machine.tasks.get(t.key) !== t ? 'released' : publicStatus(t.state);
          this.send(r.client, { op: 'reply', req: r.req, ok: false, error: { name: 'ReplicateError', message: `replicate: ${t.key} was ${how} while being copied`, code: 'ERR_REPLICATE', key: t.key } });
          return false;
        }
        counts[t.key] = holderCount(t);
        if (t.holder === undefined || counts[t.key] >= want) continue; // kept here, or held widely enough
        done = false;
        this.order(t, want);
      }
      if (done) this.send(r.client, { op: 'reply', req: r.req, ok: true, value: counts });
      return !done;
    });
  }

  /** Orders copies of `t` until holders and copies on their way make `want`: to the workers holding least data. */
  private order(t: TaskRecord, want: number): void {
    let targets = this.inFlight.get(t.key);
    const missing = want - holderCount(t) - (targets?.size ?? 0);
    if (missing <= 0) return;
    const candidates: WorkerState[] = [];
    for (const w of this.machine.workers.values()) if (w.holdsData && !holdsOn(t, w.id) && !targets?.has(w.id)) candidates.push(w);
    candidates.sort((a, b) => a.nbytes - b.nbytes);
    const from = holdersOf(t);
    for (const w of candidates.slice(0, missing)) {
      if (!targets) this.inFlight.set(t.key, (targets = new Map()));
      targets.set(w.id, t.run);
      let orders = this.copies.get(w.id);
      if (!orders) this.copies.set(w.id, (orders = []));
      orders.push({ key: t.key, from });
      this.machine.storyNote(t, 'replica-ordered', w.id);
    }
  }

  private takeInFlight(key: string, worker: string): number | undefined {
    const targets = this.inFlight.get(key);
    const run = targets?.get(worker);
    if (targets !== undefined && run !== undefined) {
      targets.delete(worker);
      if (targets.size === 0) this.inFlight.delete(key);
    }
    return run;
  }
}
