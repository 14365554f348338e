/**
 * channel-fanout-ws: one producer (this process) appends 10,000 values; 50 subscriber clients in other
 * processes (5 processes of 10 clients) each check they see every value, in order. The figure is
 * deliveries (appends x subscribers) per second, from the first append to the last subscriber's last item.
 */
import { Client } from '../scheduler';
import { median, report } from './report';
import { nowUs, peerResult, startPeer, startScheduler, stopAll, TOKEN } from './ws-helpers/processes';

export async function run(): Promise<void> {
  const n = Number(process.env.SF_BENCH_APPENDS ?? 10_000);
  const processes = 5;
  const perProcess = 10;
  const rounds = Number(process.env.SF_BENCH_ROUNDS ?? 3);
  const rates: number[] = [];
  try {
    for (let round = 0; round < rounds; round++) {
      const { address } = await startScheduler(0);
      const peers = Array.from({ length: processes }, () => startPeer('fanout', address, perProcess, n));
      await Promise.all(peers.map((p) => p.waitFor(/^READY$/m)));
      const producer = await Client.connect(address, { token: TOKEN, reconnect: false });
      const chan = producer.channel('fanout');
      await chan.ready;
      const t0 = nowUs();
      for (let i = 0; i < n; i++) chan.append(i);
      await chan.flush();
      const results = await Promise.all(peers.map((p) => peerResult<{ finished: number[]; inOrder: boolean }>(p)));
      const finished = results.flatMap((r) => r.finished);
      if (finished.length !== processes * perProcess || !results.every((r) => r.inOrder)) throw new Error('a subscriber missed items');
      const seconds = (Math.max(...finished) - t0) / 1e6;
      rates.push((n * processes * perProcess) / seconds);
      await producer.close();
      await stopAll();
    }
    report('channel-fanout-ws', median(rates), 'deliveries/s', { appends: n, subscribers: processes * perProcess, processes, runs: rates.map(Math.round), target: 200_000 });
  } finally {
    await stopAll();
  }
}
