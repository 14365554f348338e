/**
 * transfer: a 64 MiB result computed on worker process A and needed by a task on worker process B (a
 * scheduler with no threads of its own and two 1-thread workers on loopback). Prints the worker-to-worker
 * throughput, a plain loopback TCP send of the same size between two processes measured in the same run, their
 * ratio, and the scheduler process's CPU time during the transfers as a share of their duration (data moving
 * worker to worker must not pass through the scheduler).
 *
 * Placement is the scheduler's: A is kept busier than the occupancy rule lets a worker be for its data's sake
 * (tasks holding its thread), so each consumer of the 64 MiB goes to B, idle, which fetches it from A. Each
 * says which process ran it, and a round run on A would be refused. The transfer's time is the consumer's wait
 * for its start less that of a task with no dependency dispatched to B in the same round; the loopback
 * reference (one process writes 64 MiB it holds, another reads it into one buffer: what B does) is measured
 * right before, and the ratio of each round is printed with the median.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, type Future } from '../scheduler';
import { fileGate, type Gate } from '../test/support/gate';
import { spawnProc, type Proc } from '../test/support/processes';
import { waitUntil } from '../test/support/wait';
import { median, report } from './report';
import { nowUs, startScheduler, startWorker, stopAll, TOKEN } from './ws-helpers/processes';

const MIB = 2 ** 20;
const SIZE = 64 * MIB;

/** utime + stime of a process, in seconds (Linux /proc). */
function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start at ") "; utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** The worker (by id) running `key` now, per the scheduler. */
async function runningOn(client: Client, key: string): Promise<string | undefined> {
  return (await client.schedulerInfo()).workers.find((w) => w.running.includes(key))?.id;
}

/** The process id in a worker id (`worker-HOST-PID-xxxxxx`). */
function pidOf(workerId: string): number {
  const m = /-(\d+)-[0-9a-f]+$/.exec(workerId);
  if (!m) throw new Error(`cannot read a process id in worker id ${workerId}`);
  return Number(m[1]);
}

/**
 * The reference: 64 MiB over a plain loopback TCP socket from one Node process to another, the sender writing
 * a buffer it holds (as A writes a stored result) and the receiver reading it into one buffer (as B does). Both
 * processes live for the whole run, like the workers, and a first send is not timed: a fresh process's first
 * large reads fault in new memory that a long-lived one reuses, which made the reference slower than the
 * workers it is compared with. Each `measure()` times one send, started by a file the sender waits for.
 */
class LoopbackReference {
  private round = 0;
  private constructor(
    private readonly receiver: Proc,
    private readonly sender: Proc,
    private readonly dir: string,
  ) {}

  static async start(): Promise<LoopbackReference> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sf-loopback-'));
    const receiver = spawnProc(process.execPath, [
      '-e',
      `const net = require('node:net');
       let i = 0;
       const srv = net.createServer((s) => {
         const parts = []; let n = 0; const round = i++;
         s.on('data', (d) => { parts.push(d); n += d.length; });
         s.on('end', () => { const all = Buffer.concat(parts, n); console.log('RESULT ' + round + ' ' + JSON.stringify({ t1: Number(process.hrtime.bigint()) / 1000, n: all.length })); s.end(); });
       });
       srv.listen(0, '127.0.0.1', () => console.log('PORT ' + srv.address().port));`,
    ]);
    const port = Number((await receiver.waitFor(/PORT (\d+)/))[1]);
    const sender = spawnProc(process.execPath, [
      '-e',
      `const net = require('node:net'); const fs = require('node:fs'); const path = require('node:path');
       const data = Buffer.alloc(${SIZE}, 7);
       let round = 0;
       const next = () => {
         const go = path.join(${JSON.stringify(dir)}, 'go-' + round);
         if (!fs.existsSync(go)) return setTimeout(next, 1);
         const s = net.connect(${port}, '127.0.0.1', () => { console.log('T0 ' + round + ' ' + Number(process.hrtime.bigint()) / 1000); s.end(data); });
         s.on('close', () => { round++; next(); });
         s.resume();
       };
       next();`,
    ]);
    const ref = new LoopbackReference(receiver, sender, dir);
    await ref.measure(); // warm-up, not timed
    return ref;
  }

  /** MiB/s of one send. */
  async measure(): Promise<number> {
    const i = this.round++;
    fs.writeFileSync(path.join(this.dir, `go-${i}`), '');
    const t0 = Number((await this.sender.waitFor(new RegExp(`T0 ${i} ([\\d.]+)`), 120_000))[1]);
    const got = JSON.parse((await this.receiver.waitFor(new RegExp(`RESULT ${i} (.*)\\n`), 120_000))[1]) as { t1: number; n: number };
    if (got.n !== SIZE) throw new Error(`the loopback receiver got ${got.n} bytes, expected ${SIZE}`);
    return SIZE / MIB / ((got.t1 - t0) / 1e6);
  }

  async stop(): Promise<void> {
    await Promise.all([this.receiver.stop(), this.sender.stop()]);
  }
}

export async function run(): Promise<void> {
  const rounds = Number(process.env.SF_BENCH_ROUNDS ?? 9);
  const gates: Gate[] = [];
  try {
    const scheduler = await startScheduler(0);
    await Promise.all([startWorker(scheduler.address, 1), startWorker(scheduler.address, 1)]);
    const client = await Client.connect(scheduler.address, { token: TOKEN, reconnect: false });
    await waitUntil('the two workers to join', async () => (await client.schedulerInfo()).workers.length >= 2);

    // Every task here holds its pool thread (waiting without spinning) until its gate file exists, so that
    // where it runs can be read from the scheduler while it runs. The producer's worker is A.
    const gateP = fileGate();
    gates.push(gateP);
    const producer = client.submit(
      (gate: string, size: number) => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports -- task code runs on a worker, where require is the way in
        const fsm = require('node:fs');
        const cell = new Int32Array(new SharedArrayBuffer(4));
        while (!fsm.existsSync(gate)) Atomics.wait(cell, 0, 0, 5);
        return new Uint8Array(size).fill(7);
      },
      gateP.path,
      SIZE,
    );
    let a: string | undefined;
    await waitUntil('the producer to start', async () => (a = await runningOn(client, producer.key)) !== undefined, 30_000);
    const workerA = a as string;
    gateP.open();
    await waitUntil('the producer to finish', () => producer.status === 'finished', 60_000);

    // Placement is by data unless the holder is much busier than the least busy worker (the occupancy rule:
    // more than OCCUPANCY_FACTOR x least + OCCUPANCY_SLACK tasks per thread). Three tasks that take the
    // producer's result (so they are placed on A) and hold A's thread: one running, one dispatched behind it,
    // one in A's own queue, an occupancy of 3 against B's 0. A task that needs the 64 MiB then goes to the
    // shared queue and B, idle, takes it and fetches the bytes from A. (Nothing is stolen from A: its queue is
    // no longer than what it will start soon.) A's main thread, which serves its peers, stays free.
    const hold = (gate: string, _data: Uint8Array) => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- task code runs on a worker, where require is the way in
      const fsm = require('node:fs');
      const cell = new Int32Array(new SharedArrayBuffer(4));
      while (!fsm.existsSync(gate)) Atomics.wait(cell, 0, 0, 5);
      return 0;
    };
    const holdGate = fileGate();
    gates.push(holdGate);
    const blockers: Future[] = [];
    for (let i = 0; i < 3; i++) blockers.push(client.submit({ fn: hold, args: [holdGate.path, producer], pure: false }));
    await waitUntil('two blockers running on A', async () => (await client.schedulerInfo()).workers.find((w) => w.id === workerA)?.running.length === 2, 60_000);
    const pidA = pidOf(workerA);
    const reference = await LoopbackReference.start();
    const seconds: number[] = [];
    const loopbacks: number[] = [];
    const ratios: number[] = [];
    const baselines: number[] = [];
    let wall = 0;
    let cpu = 0;
    for (let round = 0; round < rounds; round++) {
      // The reference right before each transfer, so that both see the same load on a shared machine.
      loopbacks.push(await reference.measure());
      // A task without the dependency: what a dispatch to B costs without moving the 64 MiB.
      const local = client.submit({ fn: () => ({ pid: process.pid, startUs: Number(process.hrtime.bigint()) / 1000 }), pure: false });
      const l0 = nowUs();
      const lgot = (await local.result(120_000)) as { pid: number; startUs: number };
      if (lgot.pid === pidA) throw new Error('a task ran on worker A, which should have been kept busy');
      baselines.push((lgot.startUs - l0) / 1e6);
      local.release();
      const cpu0 = cpuSeconds(scheduler.proc.proc.pid as number);
      const t0 = nowUs();
      const consumer = client.submit({
        fn: (data: Uint8Array) => ({ pid: process.pid, startUs: Number(process.hrtime.bigint()) / 1000, n: data.length, last: data[data.length - 1] }),
        args: [producer],
        pure: false,
      });
      const got = (await consumer.result(120_000)) as { pid: number; startUs: number; n: number; last: number };
      wall += (nowUs() - t0) / 1e6;
      if (got.pid === pidA) throw new Error('the consumer ran on the worker holding its dependency: nothing was transferred');
      if (got.n !== SIZE || got.last !== 7) throw new Error(`the consumer saw ${got.n} bytes ending in ${got.last}, expected ${SIZE} bytes of 7`);
      cpu += cpuSeconds(scheduler.proc.proc.pid as number) - cpu0;
      // The transfer's own time: the consumer's wait for its start, less that of the same dispatch without it.
      seconds.push(Math.max(1e-6, (got.startUs - t0) / 1e6 - baselines[round]));
      ratios.push(SIZE / MIB / seconds[round] / loopbacks[round]);
      consumer.release();
    }
    holdGate.open();
    for (const b of blockers) b.release();
    await reference.stop();
    const w2w = SIZE / MIB / median(seconds);
    const loopback = median(loopbacks);
    const round1 = (xs: number[]) => xs.map((x) => Number(x.toFixed(1)));
    report('transfer-worker-to-worker', w2w, 'MiB/s', { bytes: SIZE, runs: round1(seconds.map((x) => SIZE / MIB / x)), baselineMs: Number((median(baselines) * 1000).toFixed(1)), note: 'the consumer on B waits for its start this much longer than the same dispatch without the 64 MiB from A' });
    report('transfer-loopback-socket', loopback, 'MiB/s', { bytes: SIZE, runs: round1(loopbacks), note: 'plain TCP between two long-lived Node processes, receiver reads into one buffer' });
    report('transfer-ratio', median(ratios), 'ratio', { runs: ratios.map((x) => Number(x.toFixed(2))), target: 0.7, note: 'median of each round (reference, then transfer)' });
    report('transfer-scheduler-cpu', (100 * cpu) / wall, '% of transfer time', { cpuSeconds: cpu, wallSeconds: Number(wall.toFixed(3)), rounds, target: '< 5' });
    await client.close();
  } finally {
    for (const g of gates) g.open();
    await stopAll();
  }
}
