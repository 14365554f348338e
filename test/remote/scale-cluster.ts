/**
 * One run of the real-process scale scenario, shared by test/remote/scale.system.test.ts (which asserts
 * what it must) and bench/scale-processes.ts (which reports the figures):
 *
 *   - a standalone scheduler process (`shared-futures scheduler --threads 0`) and WORKERS worker processes
 *     (`shared-futures worker ADDR --threads 1`);
 *   - CLIENT_PROCESSES processes of CLIENTS_PER_PROCESS clients each (scale-peer.ts `subscribe`), every
 *     client subscribed to one channel, each reporting a hash of the sequence it saw;
 *   - a probe process (scale-peer.ts `probe`) timing schedulerInfo() round trips throughout;
 *   - two producer clients here appending APPENDS items between them: plain values and futures of tasks
 *     computed by the workers. The futures are made first: BASE quick tasks, then GATED tasks that each
 *     depend on one of them; every other gated task waits at a gate (a file), so it is certainly running
 *     when it must be, the others pass an open gate and leave results no task needs. Half-way through the
 *     appends one worker that holds such results and runs waiting tasks is killed with SIGKILL; the gate
 *     opens after the last append.
 *
 * The run returns what it saw; the caller judges. Every process it started is killed at the end, also
 * when the run fails.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Client, Future, type SchedulerEvent, type StoryEntry } from '../../scheduler';
import { fileGate } from '../support/gate';
import { processCpuMs, spawnNode, startScheduler, startWorker, stopAll, type Proc } from '../support/processes';
import { waitUntil } from '../support/wait';
import { describeItem, nowUs, type ProbeResult, type SubscribeResult } from './scale-peer';

const PEER = path.resolve(__dirname, 'scale-peer.js');
const CHANNEL = 'scale';
const CONTROL = 'scale-control';

export interface ScaleOptions {
  workers: number;
  clientProcesses: number;
  clientsPerProcess: number;
  appends: number;
  /** Quick tasks, the dependencies of the gated tasks. */
  base: number;
  /** Tasks depending on a base task each; the odd ones wait at the gate until the last append. */
  gated: number;
  /** How long one schedulerInfo() call may take before the probe calls it a hang. */
  probeDeadlineMs: number;
  /** When set, the scheduler process (stopped with SIGTERM for that) and the subscriber processes write CPU profiles into this folder. */
  profileDir?: string;
  /**
   * The subscriber processes' nice value (0-19; default 10). They stand for users' processes, which in a
   * deployment run on other machines and take none of the scheduler's CPU; here they share its two cores, so
   * they run below it and take what it leaves. 0 runs them at the scheduler's priority, to compare.
   */
  clientNice: number;
  /** More Node flags for the scheduler process (to look into it: a preloaded probe, tracing). */
  schedulerNodeArgs?: string[];
  /** Progress lines (the phases and how long each took). */
  log: (line: string) => void;
}

export const SCALE_DEFAULTS: ScaleOptions = {
  workers: 16,
  clientProcesses: 5,
  clientsPerProcess: 100,
  appends: 1000,
  base: 64,
  gated: 96,
  probeDeadlineMs: 30_000,
  clientNice: 10,
  log: () => undefined,
};

export interface ScaleRun {
  options: ScaleOptions;
  /** ms from spawning the workers to the scheduler listing all of them. */
  workersJoinMs: number;
  /** ms from spawning the subscriber processes to every client having its replay. */
  clientsReadyMs: number;
  subscribers: SubscribeResult[];
  probe: ProbeResult;
  /** The channel's items as a client that subscribed after the run replays them (describeItem of each). */
  replay: string[];
  /** Hash of `replay`, as the subscribers hash theirs. */
  replayHash: string;
  /** The items each producer appended, in its order (describeItem of each). */
  appended: string[][];
  /** Every future in the channel: its key, the result it must give, the result it gave (or its error). */
  futures: { key: string; expected: unknown; got?: unknown; error?: string }[];
  /** Hash of `key=JSON(expected)` of the channel's futures in channel order, as the subscribers hash results. */
  expectedResultsHash: string;
  /** The killed worker, the keys whose results only it held and the keys it was running when killed. */
  victim: { id: string; soloKeys: string[]; runningKeys: string[] };
  /** Story of each of the victim's keys after the run. */
  stories: Record<string, StoryEntry[]>;
  /** The run's phases: what had just been done, and when (nowUs, as the probe's `at`). */
  phases: { what: string; atUs: number }[];
  /** What the scheduler process printed until the subscribers reported. */
  schedulerOutput: string;
  /** Tasks by status after the run. */
  tasks: Record<string, number>;
  workersAfter: number;
  /** ms from the first append to the last client seeing the last item. */
  deliverMs: number;
  /** The scheduler process's resident set at the end and its peak (bytes), from /proc. */
  schedulerRss: number;
  schedulerPeakRss: number;
  /** The scheduler's resident set once the workers had joined, and once every client had subscribed (bytes). */
  schedulerRssWorkers: number;
  schedulerRssClients: number;
}

/** The base tasks' function. */
const baseTask = async (i: number) => {
  await sleep(5);
  return i * 3 + 1;
};

/** The gated tasks' function: waits for its gate file, then combines its dependency's result with its index. */
const gatedTask = async (a: number, j: number, gate: string) => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- task code runs on a worker, where require is the way in
  const fsm = require('node:fs');
  while (!fsm.existsSync(gate)) await sleep(20);
  return a * 1000 + j;
};

/** VmRSS and VmHWM of a process, in bytes (0 when /proc does not have them). */
function rss(pid: number): { now: number; peak: number } {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(status.match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'))?.[1] ?? 0) * 1024;
    return { now: kb('VmRSS'), peak: kb('VmHWM') };
  } catch {
    return { now: 0, peak: 0 };
  }
}

/** The p-th percentile (0..100) of a list of numbers. */
export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

/**
 * The `n` slowest probe calls, each with the phase it fell in (the first phase that ended after it began)
 * and, where the probe could read them, the ms during the call that the scheduler's main thread ran
 * (`schedCpu`) and waited for a CPU while runnable (`schedWait`), and that the probe waited for one (`probeWait`).
 */
export function slowestCalls(run: Pick<ScaleRun, 'probe' | 'phases'>, n: number): { ms: number; during: string; schedCpu?: number; schedWait?: number; probeWait?: number }[] {
  const p = run.probe;
  return p.samples
    .map((ms, i) => ({
      ms,
      during: run.phases.find((ph) => ph.atUs > p.at[i])?.what ?? 'the end of the run',
      ...(p.schedulerCpuMs ? { schedCpu: p.schedulerCpuMs[i], schedWait: p.schedulerWaitMs?.[i], probeWait: p.probeWaitMs?.[i] } : {}),
    }))
    .sort((a, b) => b.ms - a.ms)
    .slice(0, n);
}

/**
 * Of the probe's calls, the share of their summed time that the scheduler's main thread waited for a CPU
 * while runnable (0..1), or undefined where that was not measured: how much of the latency was the
 * machine's other processes rather than the scheduler's own work.
 */
export function schedulerWaitShare(probe: ProbeResult, minMs = 0): number | undefined {
  if (!probe.schedulerWaitMs) return undefined;
  let wait = 0;
  let total = 0;
  probe.samples.forEach((ms, i) => {
    if (ms < minMs) return;
    total += ms;
    wait += Math.min(ms, (probe.schedulerWaitMs as number[])[i]);
  });
  return total > 0 ? wait / total : undefined;
}

/**
 * `promise`, or a rejection naming `what` once `ms` have passed (with the scheduler's output): nothing in the
 * run may wait forever on a scheduler that stopped answering.
 */
function within<T>(what: string, ms: number, promise: Promise<T>, detail: () => string = () => ''): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not complete within ${ms} ms${detail()}`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

async function result<T>(p: Proc, ms: number): Promise<T> {
  const m = await p.waitFor(/^RESULT (.*)\n/m, ms);
  return JSON.parse(m[1]) as T;
}

export async function runScale(partial: Partial<ScaleOptions> = {}): Promise<ScaleRun> {
  const o: ScaleOptions = { ...SCALE_DEFAULTS, ...partial };
  const token = `scale-${process.pid}-${Date.now()}`;
  const env = { ...process.env, SF_TOKEN: token };
  const clients: Client[] = [];
  let scheduler: (Proc & { address: string }) | undefined;
  let phase = Date.now();
  const phases: { what: string; atUs: number }[] = [];
  // Each phase's wall time and the scheduler process's CPU time in it.
  let schedulerCpu = 0;
  const step = (what: string) => {
    const now = Date.now();
    phases.push({ what, atUs: Math.round(nowUs()) });
    const cpu = processCpuMs(scheduler?.proc.pid);
    o.log(`${what} (${now - phase} ms; scheduler CPU ${Math.round(cpu - schedulerCpu)} ms)`);
    schedulerCpu = cpu;
    phase = now;
  };
  try {
    const nodeArgs = [...(o.schedulerNodeArgs ?? [])];
    if (o.profileDir) nodeArgs.push('--cpu-prof', '--cpu-prof-dir', o.profileDir, '--cpu-prof-name', `scheduler-${process.pid}-${Date.now()}.cpuprofile`);
    scheduler = await startScheduler(['--port', '0', '--threads', '0', '--token', token], { nodeArgs });
    const address = scheduler.address;
    const sched = scheduler;
    const schedulerSays = () => `; the scheduler's output:\n${sched.output().slice(-4000)}`;
    const bounded = <T>(what: string, promise: Promise<T>, ms = 60_000) => within(what, ms, promise, schedulerSays);
    const connect = async () => {
      const c = await bounded('a client connecting', Client.connect(address, { token }));
      clients.push(c);
      return c;
    };
    // Which worker finished which key, from the scheduler's events (observed from before any task runs).
    const observer = await connect();
    const finishedOn = new Map<string, string>();
    void (async () => {
      for await (const batch of observer.events() as AsyncIterable<SchedulerEvent[]>) {
        for (const e of batch) if (e.type === 'task' && e.status === 'finished' && e.worker !== undefined) finishedOn.set(e.key, e.worker);
      }
    })();

    const t0 = Date.now();
    const workers = await Promise.all(Array.from({ length: o.workers }, () => startWorker(address, ['--threads', '1', '--token', token])));
    const workerIds = new Map<string, Proc>();
    for (const w of workers) workerIds.set((w.output().match(/Shared Futures worker (\S+)/) as RegExpMatchArray)[1], w);
    await waitUntil(`${o.workers} workers to join`, async () => (await bounded('schedulerInfo()', observer.schedulerInfo())).workers.length === o.workers, 60_000);
    const workersJoinMs = Date.now() - t0;
    const schedulerRssWorkers = rss(scheduler.proc.pid as number).now;
    step(`${o.workers} workers joined`);

    const probe = spawnNode(PEER, ['probe', address, CONTROL, String(o.probeDeadlineMs), String(scheduler.proc.pid)], { env });
    await probe.waitFor(/^READY$/m, 60_000);
    const t1 = Date.now();
    // The subscriber processes are this run's load (see clientNice). At the scheduler's priority, five busy
    // processes on two cores take five shares against its one, and its slow schedulerInfo() calls are time
    // spent waiting for a core, not working (the bench reports that wait).
    const subscriberNodeArgs = o.profileDir ? ['--cpu-prof', '--cpu-prof-dir', o.profileDir] : [];
    const subscribers = Array.from({ length: o.clientProcesses }, () =>
      spawnNode(PEER, ['subscribe', address, String(o.clientsPerProcess), CHANNEL, String(o.appends)], {
        env,
        nodeArgs: subscriberNodeArgs,
        nice: o.clientNice,
      }),
    );
    await Promise.all(subscribers.map((p) => p.waitFor(/^READY$/m, 120_000)));
    const clientsReadyMs = Date.now() - t1;
    const schedulerRssClients = rss(scheduler.proc.pid as number).now;
    step(`${o.clientProcesses * o.clientsPerProcess} clients subscribed`);

    // Two producers: one owns the base tasks, the other the gated ones; values alternate between them.
    const producers = [await connect(), await connect()];
    const chans = producers.map((p) => p.channel(CHANNEL));
    await bounded('the producers subscribing', Promise.all(chans.map((c) => c.ready)));
    const expected = new Map<string, unknown>();
    const base = Array.from({ length: o.base }, (_, i) => producers[0].submit(baseTask, i));
    base.forEach((f, i) => expected.set(f.key, i * 3 + 1));
    await waitUntil('the base tasks to finish', () => base.every((f) => f.status === 'finished'), 60_000);
    // Every other gated task passes a gate that is already open: submitted and dispatched along with the
    // waiting ones, they finish on the same workers and leave results there that no task needs (so no
    // other worker fetches a copy).
    const gate = fileGate();
    const open = fileGate();
    open.open();
    const gated = Array.from({ length: o.gated }, (_, j) => producers[1].submit(gatedTask, base[j % o.base], j, j % 2 === 0 ? open.path : gate.path));
    gated.forEach((f, j) => expected.set(f.key, ((j % o.base) * 3 + 1) * 1000 + j));
    // The victim: a worker that holds results of the open gate's tasks and runs tasks waiting at the gate.
    const solo = new Set(gated.filter((_, j) => j % 2 === 0).map((f) => f.key));
    const waiting = new Set(gated.filter((_, j) => j % 2 === 1).map((f) => f.key));
    let lastInfo: unknown;
    const victim = await waitUntil(
      'a worker holding results and running tasks that wait at the gate',
      async () => {
        const info = await bounded('schedulerInfo()', observer.schedulerInfo());
        lastInfo = info.workers.map((w) => ({ id: w.id, running: w.running.length, waiting: w.running.filter((k) => waiting.has(k)).length }));
        for (const w of info.workers) {
          const soloKeys = [...solo].filter((k) => finishedOn.get(k) === w.id);
          const runningKeys = w.running.filter((k) => waiting.has(k));
          if (soloKeys.length > 0 && runningKeys.length > 0 && workerIds.has(w.id)) return { id: w.id, soloKeys, runningKeys };
        }
        return undefined;
      },
      {
        timeoutMs: 60_000,
        intervalMs: 50,
        detail: () => {
          const by = new Map<string, number>();
          for (const k of solo) by.set(finishedOn.get(k) ?? 'not finished', (by.get(finishedOn.get(k) ?? 'not finished') ?? 0) + 1);
          return `results of the open gate's tasks, by worker: ${JSON.stringify(Object.fromEntries(by))}; last workers' running keys: ${JSON.stringify(lastInfo)}`;
        },
      },
    );
    // How the tasks spread over the workers (a placement that leaves most workers idle shows here).
    const spread = (keys: Iterable<string>) => [...new Set([...keys].map((k) => finishedOn.get(k)).filter((w) => w !== undefined))].length;
    step(
      `victim ${victim.id}: holds ${victim.soloKeys.length} results, runs ${victim.runningKeys.length} tasks waiting at the gate;` +
        ` the base tasks ran on ${spread(base.map((f) => f.key))} workers, the open gate's on ${spread(solo)}, the waiting ones run on ${(lastInfo as { waiting: number }[]).filter((w) => w.waiting > 0).length}`,
    );

    // The items: every fourth a future (base and gated ones, in turn), the rest values.
    const futures: Future[] = [];
    for (let i = 0; i < Math.max(base.length, gated.length); i++) {
      if (i < base.length) futures.push(base[i]);
      if (i < gated.length) futures.push(gated[i]);
    }
    const ownedBySecond = new Set(gated.map((f) => f.key));
    const appended: string[][] = [[], []];
    const append = (i: number) => {
      let item: unknown;
      let by: number;
      if (i % 4 === 1 && futures.length > 0) {
        const f = futures.shift() as Future;
        item = f;
        by = ownedBySecond.has(f.key) ? 1 : 0;
      } else {
        item = { i, text: `value ${i}` };
        by = i % 2;
      }
      chans[by].append(item);
      appended[by].push(describeItem(item));
    };
    step('the items prepared, appending');
    const startUs = nowUs();
    const mid = o.appends >> 1;
    for (let i = 0; i < mid; i++) append(i);
    await bounded(`flushing ${mid} appends`, Promise.all(chans.map((c) => c.flush())));
    step(`${mid} appends flushed`);
    await (workerIds.get(victim.id) as Proc).stop('SIGKILL');
    step(`worker ${victim.id} killed`);
    for (let i = mid; i < o.appends; i++) append(i);
    await bounded(`flushing the other ${o.appends - mid} appends`, Promise.all(chans.map((c) => c.flush())));
    step(`${o.appends - mid} more appends flushed`);
    gate.open();
    await bounded('stopping the channel', chans[0].stop());
    step('the gate opened, the channel stopped');

    const reports = await Promise.all(subscribers.map((p) => result<SubscribeResult>(p, 150_000)));
    const deliverMs = (Math.max(...reports.map((r) => r.lastItemUs)) - startUs) / 1000;
    step('every subscriber reported');
    const usage = rss(scheduler.proc.pid as number);
    const schedulerOutput = scheduler.output();

    // Stop the probe: it ends when the control channel stops.
    const control = observer.channel(CONTROL);
    await bounded('stopping the control channel', control.ready.then(() => control.stop()));
    const probeResult = await result<ProbeResult>(probe, 60_000);

    // A client that joins afterwards: the channel's log as the scheduler keeps it, and every future's result.
    const late = await connect();
    const replayChan = late.channel(CHANNEL);
    await bounded("a late subscriber's replay", replayChan.ready);
    const items = replayChan.data as unknown[];
    const replay = items.map(describeItem);
    const replayHash = createHash('sha256')
      .update(replay.map((d) => d + '\n').join(''))
      .digest('hex');
    const inChannel = items.filter((x): x is Future => x instanceof Future);
    const checked = await Promise.all(
      inChannel.map(async (f) => {
        try {
          return { key: f.key, expected: expected.get(f.key), got: await f.result(120_000) };
        } catch (e) {
          return { key: f.key, expected: expected.get(f.key), error: String(e) };
        }
      }),
    );
    const expectedResultsHash = createHash('sha256')
      .update(inChannel.map((f) => `${f.key}=${JSON.stringify(expected.get(f.key))}\n`).join(''))
      .digest('hex');
    const stories: Record<string, StoryEntry[]> = {};
    for (const key of [...victim.soloKeys, ...victim.runningKeys]) stories[key] = await bounded('story()', late.story(key));
    const info = await bounded('schedulerInfo()', late.schedulerInfo());
    step('replay and results checked');
    return {
      options: o,
      workersJoinMs,
      clientsReadyMs,
      subscribers: reports,
      probe: probeResult,
      replay,
      replayHash,
      appended,
      futures: checked,
      expectedResultsHash,
      victim,
      stories,
      phases,
      schedulerOutput,
      tasks: info.tasks as Record<string, number>,
      workersAfter: info.workers.length,
      deliverMs,
      schedulerRss: usage.now,
      schedulerPeakRss: usage.peak,
      schedulerRssWorkers,
      schedulerRssClients,
    };
  } finally {
    for (const c of clients) await within('closing a client', 10_000, c.close()).catch(() => undefined);
    if (o.profileDir && scheduler) {
      const s = scheduler;
      const timer = setTimeout(() => void s.stop('SIGKILL'), 10_000);
      await s.stop('SIGTERM');
      clearTimeout(timer);
    }
    await stopAll();
  }
}
