/**
 * The client processes of the real-process scale run (test/remote/scale-cluster.ts), one role each:
 *
 *   node scale-peer.js subscribe ADDR CLIENTS CHANNEL ITEMS
 *       connects CLIENTS clients, each subscribed to CHANNEL, and prints READY once all have their replay;
 *       each client then reads the channel until it is stopped and hashes what it saw, in order (a future
 *       as its key, a value as its JSON). The first client then asks every future it saw for its result and
 *       hashes those too (key and result, in channel order): results fetched by a process that only ever
 *       received the futures through the channel.
 *   node scale-peer.js probe ADDR CONTROL DEADLINE_MS [SCHEDULER_PID]
 *       calls schedulerInfo() again and again (a pause of PROBE_PAUSE_MS between calls) until CONTROL is
 *       stopped, timing each round trip; a call that does not answer within DEADLINE_MS ends the probe with
 *       `hung` set (the scheduler did not answer: the run fails). Where Linux tells (/proc/.../schedstat),
 *       each call also records how long the scheduler's main thread ran and how long it waited for a CPU
 *       while runnable during the call, and how long the probe's own thread waited for one: a slow call
 *       is the scheduler's work, or the machine's other processes holding the 2 cores.
 *
 * The token comes from SF_TOKEN. Each prints READY once set up and one `RESULT <json>` line at the end.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { Client, Future } from '../../scheduler';

const PROBE_PAUSE_MS = 20;

/** Monotonic microseconds, comparable across the processes of this machine (CLOCK_MONOTONIC). */
export function nowUs(): number {
  return Number(process.hrtime.bigint()) / 1000;
}

/** How an item enters a sequence hash: a future by its key, a value by its JSON. */
export function describeItem(item: unknown): string {
  return item instanceof Future ? `f:${item.key}` : `v:${JSON.stringify(item)}`;
}

/** The sequence hash of `items`: sha256 of each one's describeItem followed by a newline, in order. */
export function sequenceHash(items: readonly unknown[]): string {
  return createHash('sha256')
    .update(items.map((item) => describeItem(item) + '\n').join(''))
    .digest('hex');
}

/** What one subscriber process reports. */
export interface SubscribeResult {
  clients: number;
  /** Sequence hash -> how many of this process's clients saw exactly that sequence. */
  hashes: Record<string, number>;
  /** Items seen -> how many clients saw that many. */
  counts: Record<string, number>;
  /** When the first client saw its first item and the last client its ITEMS-th (nowUs). */
  firstItemUs: number;
  lastItemUs: number;
  /** Hash of `key=JSON(result)` of every future, in channel order, as the first client got them. */
  resultsHash: string;
  futures: number;
  /** CPU (ms) this process spent from READY until every client had read and hashed the channel. */
  cpuMs: number;
}

export interface ProbeResult {
  /** Round trips in ms, in the order they were made. */
  samples: number[];
  /** When each call was made (nowUs). */
  at: number[];
  /** Set when a call did not answer within the deadline. */
  hung?: string;
  /**
   * Per call (where /proc/<pid>/task/<pid>/schedstat can be read), ms during the round trip: the scheduler's
   * main thread on a CPU, the same thread runnable but waiting for a CPU, and the probe's thread waiting.
   */
  schedulerCpuMs?: number[];
  schedulerWaitMs?: number[];
  probeWaitMs?: number[];
}

/** A process's main thread: ns on a CPU and ns runnable but waiting for one (Linux), or undefined. */
function schedstat(pid: number): [number, number] | undefined {
  try {
    const f = fs.readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').split(' ');
    return [Number(f[0]), Number(f[1])];
  } catch {
    return undefined;
  }
}

async function subscribe(address: string, n: number, channel: string, items: number): Promise<void> {
  const token = process.env.SF_TOKEN;
  const clients = await Promise.all(Array.from({ length: n }, () => Client.connect(address, { token })));
  const chans = clients.map((c) => c.channel(channel));
  await Promise.all(chans.map((c) => c.ready));
  console.log('READY');
  const cpu0 = process.cpuUsage();
  let firstItemUs = Infinity;
  let lastItemUs = 0;
  const seen = await Promise.all(
    chans.map(async (chan) => {
      // The items are kept and hashed once the channel stopped, in one update: the same hash as one update
      // per item (the harness's replayHash is made so), without a call into the hash per item per client,
      // which made the 100 clients of this process a noticeable share of the machine's CPU during the run.
      const seenItems: unknown[] = [];
      for await (const item of chan) {
        if (seenItems.length === 0) firstItemUs = Math.min(firstItemUs, nowUs());
        if (seenItems.push(item) === items) lastItemUs = Math.max(lastItemUs, nowUs());
      }
      const futures = seenItems.filter((item): item is Future => item instanceof Future);
      return { hash: sequenceHash(seenItems), count: seenItems.length, futures };
    }),
  );
  const cpu = process.cpuUsage(cpu0);
  const hashes: Record<string, number> = {};
  const counts: Record<string, number> = {};
  for (const s of seen) {
    hashes[s.hash] = (hashes[s.hash] ?? 0) + 1;
    counts[s.count] = (counts[s.count] ?? 0) + 1;
  }
  const results = createHash('sha256');
  const { futures } = seen[0];
  const values = await Promise.all(futures.map((f) => f.result(120_000)));
  futures.forEach((f, i) => results.update(`${f.key}=${JSON.stringify(values[i])}\n`));
  const result: SubscribeResult = { clients: n, hashes, counts, firstItemUs, lastItemUs, resultsHash: results.digest('hex'), futures: futures.length, cpuMs: Math.round((cpu.user + cpu.system) / 1000) };
  console.log(`RESULT ${JSON.stringify(result)}`);
  await Promise.all(clients.map((c) => c.close()));
}

async function probe(address: string, control: string, deadlineMs: number, schedulerPid?: number): Promise<void> {
  const client = await Client.connect(address, { token: process.env.SF_TOKEN });
  const chan = client.channel(control);
  await chan.ready;
  let stopped = false;
  const ended = (async () => {
    for await (const item of chan) void item;
    stopped = true;
  })();
  console.log('READY');
  const samples: number[] = [];
  const at: number[] = [];
  const ms = (ns: number) => Math.round(ns / 1e4) / 100;
  const timed = schedulerPid !== undefined && schedstat(schedulerPid) !== undefined && schedstat(process.pid) !== undefined;
  const schedulerCpuMs: number[] = [];
  const schedulerWaitMs: number[] = [];
  const probeWaitMs: number[] = [];
  let hung: string | undefined;
  while (!stopped) {
    const before = timed ? [schedstat(schedulerPid), schedstat(process.pid)] : undefined;
    const t0 = performance.now();
    const startUs = nowUs();
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), deadlineMs)));
    const answer = await Promise.race([client.schedulerInfo(), late]);
    clearTimeout(timer);
    if (answer === 'late') {
      hung = `schedulerInfo() did not answer within ${deadlineMs} ms (after ${samples.length} answered calls)`;
      break;
    }
    samples.push(Math.round((performance.now() - t0) * 100) / 100);
    at.push(Math.round(startUs));
    if (before) {
      const [s0, p0] = before;
      const s1 = schedstat(schedulerPid as number);
      const p1 = schedstat(process.pid);
      schedulerCpuMs.push(s0 && s1 ? ms(s1[0] - s0[0]) : NaN);
      schedulerWaitMs.push(s0 && s1 ? ms(s1[1] - s0[1]) : NaN);
      probeWaitMs.push(p0 && p1 ? ms(p1[1] - p0[1]) : NaN);
    }
    await new Promise((resolve) => setTimeout(resolve, PROBE_PAUSE_MS));
  }
  const result: ProbeResult = { samples, at, ...(hung ? { hung } : {}), ...(timed ? { schedulerCpuMs, schedulerWaitMs, probeWaitMs } : {}) };
  console.log(`RESULT ${JSON.stringify(result)}`);
  if (!hung) await ended;
  await client.close();
}

async function main(): Promise<void> {
  const [role, address, ...rest] = process.argv.slice(2);
  if (role === 'subscribe') return subscribe(address, Number(rest[0]), rest[1], Number(rest[2]));
  if (role === 'probe') return probe(address, rest[0], Number(rest[1]), rest[2] === undefined ? undefined : Number(rest[2]));
  throw new Error(`unknown role ${role}: subscribe or probe`);
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (e: unknown) => {
      console.error(e);
      process.exit(1);
    },
  );
}
