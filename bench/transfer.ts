/**
 * transfer: a 64 MiB result computed on worker process A and needed by a task on worker process B (a
 * scheduler with no threads of its own and two 1-thread workers on loopback). Prints the worker-to-worker
 * throughput, a plain loopback TCP send of the same size between two processes measured in the same run, their
 * ratio, and the scheduler process's CPU time during the transfers as a share of their duration (data moving
 * worker to worker must not pass through the scheduler).
 *
 * Placement is the scheduler's, by data: while A is kept busy (two tasks holding its thread, so it pulls no
 * more), B computes a larger result every consumer also takes, so the consumers run on B; each says which
 * process ran it, and a round run on A would be refused.
 */
import fs from 'node:fs';
import { Client, type Future } from '../scheduler';
import { fileGate, type Gate } from '../test/support/gate';
import { spawnProc } from '../test/support/processes';
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

/** Megabytes per second of a 64 MiB send over a plain loopback TCP socket from one Node process to another. */
async function loopbackMiBps(): Promise<number> {
  const receiver = spawnProc(process.execPath, [
    '-e',
    `const net = require('node:net');
     const srv = net.createServer((s) => {
       const parts = []; let n = 0;
       s.on('data', (d) => { parts.push(d); n += d.length; });
       s.on('end', () => { const all = Buffer.concat(parts, n); console.log('RESULT ' + JSON.stringify({ t1: Number(process.hrtime.bigint()) / 1000, n: all.length })); srv.close(); });
     });
     srv.listen(0, '127.0.0.1', () => console.log('PORT ' + srv.address().port));`,
  ]);
  const port = Number((await receiver.waitFor(/PORT (\d+)/))[1]);
  const sender = spawnProc(process.execPath, [
    '-e',
    `const net = require('node:net');
     const data = Buffer.alloc(${SIZE}, 7);
     const s = net.connect(${port}, '127.0.0.1', () => { console.log('T0 ' + Number(process.hrtime.bigint()) / 1000); s.end(data); });`,
  ]);
  const t0 = Number((await sender.waitFor(/T0 ([\d.]+)/))[1]);
  const got = JSON.parse((await receiver.waitFor(/RESULT (.*)\n/))[1]) as { t1: number; n: number };
  if (got.n !== SIZE) throw new Error(`the loopback receiver got ${got.n} bytes, expected ${SIZE}`);
  await Promise.all([receiver.exited, sender.exited]);
  return SIZE / MIB / ((got.t1 - t0) / 1e6);
}

export async function run(): Promise<void> {
  const rounds = Number(process.env.SF_BENCH_ROUNDS ?? 5);
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

    // Two tasks holding A's thread (one running, one queued behind it): A pulls no more work for now.
    const hold = (gate: string) => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- task code runs on a worker, where require is the way in
      const fsm = require('node:fs');
      const cell = new Int32Array(new SharedArrayBuffer(4));
      while (!fsm.existsSync(gate)) Atomics.wait(cell, 0, 0, 5);
      return 0;
    };
    let onA = 0;
    for (let attempt = 0; onA < 2; attempt++) {
      if (attempt > 20) throw new Error('could not keep worker A busy: the blockers kept landing elsewhere');
      const gate = fileGate();
      gates.push(gate);
      const blocker: Future = client.submit({ fn: hold, args: [gate.path], pure: false });
      let where: string | undefined;
      await waitUntil('a blocker to be placed', async () => (where = await runningOn(client, blocker.key)) !== undefined, 30_000);
      if (where === workerA) onA++;
      else gate.open();
    }

    // Placement goes by data: each consumer also needs a larger result held on B, so it runs on B and
    // fetches the producer's 64 MiB from A. Computed on B because A is full; then A is let go.
    const anchor = client.submit((size: number) => new Uint8Array(size).fill(1), SIZE + 16 * MIB);
    await waitUntil('the anchor to finish on B', () => anchor.status === 'finished', 60_000);
    for (const g of gates) g.open();
    const pidA = pidOf(workerA);
    const seconds: number[] = [];
    const loopbacks: number[] = [];
    const ratios: number[] = [];
    const baselines: number[] = [];
    let wall = 0;
    let cpu = 0;
    for (let round = 0; round < rounds; round++) {
      // The reference right before each transfer, so that both see the same load on a shared machine.
      loopbacks.push(await loopbackMiBps());
      // The same consumer with the anchor only (no transfer): what a dispatch to B costs without moving the 64 MiB.
      const local = client.submit({ fn: (_anchor: Uint8Array) => ({ pid: process.pid, startUs: Number(process.hrtime.bigint()) / 1000 }), args: [anchor], pure: false });
      const l0 = nowUs();
      const lgot = (await local.result(120_000)) as { pid: number; startUs: number };
      baselines.push((lgot.startUs - l0) / 1e6);
      local.release();
      const cpu0 = cpuSeconds(scheduler.proc.proc.pid as number);
      const t0 = nowUs();
      const consumer = client.submit({
        fn: (data: Uint8Array, _anchor: Uint8Array) => ({ pid: process.pid, startUs: Number(process.hrtime.bigint()) / 1000, n: data.length, last: data[data.length - 1] }),
        args: [producer, anchor],
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
    const w2w = SIZE / MIB / median(seconds);
    const loopback = median(loopbacks);
    const round1 = (xs: number[]) => xs.map((x) => Number(x.toFixed(1)));
    report('transfer-worker-to-worker', w2w, 'MiB/s', { bytes: SIZE, runs: round1(seconds.map((x) => SIZE / MIB / x)), baselineMs: Number((median(baselines) * 1000).toFixed(1)), note: 'the consumer on B waits for its start this much longer than the same dispatch without the 64 MiB from A' });
    report('transfer-loopback-socket', loopback, 'MiB/s', { bytes: SIZE, runs: round1(loopbacks), note: 'plain TCP between two Node processes, receiver concatenates' });
    report('transfer-ratio', median(ratios), 'ratio', { runs: ratios.map((x) => Number(x.toFixed(2))), target: 0.7, note: 'median of each round (reference, then transfer)' });
    report('transfer-scheduler-cpu', (100 * cpu) / wall, '% of transfer time', { cpuSeconds: cpu, wallSeconds: Number(wall.toFixed(3)), rounds, target: '< 5' });
    await client.close();
  } finally {
    for (const g of gates) g.open();
    await stopAll();
  }
}
