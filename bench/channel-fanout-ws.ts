/**
 * channel-fanout-ws: one producer (this process) appends values; subscriber clients in other processes each
 * check they see every value, in order. The figure is deliveries (appends x subscribers) per second, from
 * the first append to the last subscriber's last item. Two sizes: 50 subscribers (5 processes of 10) with
 * 10,000 appends (`channel-fanout-ws`), and 500 (5 processes of 100) with 2,000 appends
 * (`channel-fanout-ws-500`), where encoding an append once for all subscribers matters most. Each also
 * reports the CPU time per delivery (µs) of the scheduler and of the subscriber processes (theirs from READY
 * until their clients saw every item: receiving, decoding and iterating).
 */
import { Client } from '../scheduler';
import { median, report } from './report';
import { cpuMs, nowUs, peerResult, startPeer, startScheduler, stopAll, TOKEN } from './ws-helpers/processes';

export async function run(): Promise<void> {
  const rounds = Number(process.env.SF_BENCH_ROUNDS ?? 3);
  await fanout('channel-fanout-ws', Number(process.env.SF_BENCH_APPENDS ?? 10_000), 5, 10, rounds, 200_000);
  await fanout('channel-fanout-ws-500', Number(process.env.SF_BENCH_APPENDS ?? 10_000) / 5, 5, 100, rounds, undefined);
}

async function fanout(name: string, n: number, processes: number, perProcess: number, rounds: number, target: number | undefined): Promise<void> {
  const rates: number[] = [];
  const schedulerCpu: number[] = [];
  const subscriberCpu: number[] = [];
  const deliveries = n * processes * perProcess;
  try {
    for (let round = 0; round < rounds; round++) {
      const { address, proc } = await startScheduler(0);
      const peers = Array.from({ length: processes }, () => startPeer('fanout', address, perProcess, n));
      await Promise.all(peers.map((p) => p.waitFor(/^READY$/m, 120_000)));
      const producer = await Client.connect(address, { token: TOKEN, reconnect: false });
      const chan = producer.channel('fanout');
      await chan.ready;
      const c0 = cpuMs(proc.proc.pid);
      const t0 = nowUs();
      for (let i = 0; i < n; i++) chan.append(i);
      await chan.flush();
      const results = await Promise.all(peers.map((p) => peerResult<{ finished: number[]; inOrder: boolean; cpuMs: number }>(p)));
      schedulerCpu.push(((cpuMs(proc.proc.pid) - c0) * 1000) / deliveries);
      subscriberCpu.push((results.reduce((sum, r) => sum + r.cpuMs, 0) * 1000) / deliveries);
      const finished = results.flatMap((r) => r.finished);
      if (finished.length !== processes * perProcess || !results.every((r) => r.inOrder)) throw new Error('a subscriber missed items');
      const seconds = (Math.max(...finished) - t0) / 1e6;
      rates.push(deliveries / seconds);
      await producer.close();
      await stopAll();
    }
    report(name, median(rates), 'deliveries/s', {
      appends: n,
      subscribers: processes * perProcess,
      processes,
      runs: rates.map(Math.round),
      schedulerCpuUsPerDelivery: Math.round(median(schedulerCpu) * 100) / 100,
      subscriberCpuUsPerDelivery: Math.round(median(subscriberCpu) * 100) / 100,
      subscriberCpuRuns: subscriberCpu.map((x) => Math.round(x * 100) / 100),
      ...(target ? { target } : {}),
    });
  } finally {
    await stopAll();
  }
}
