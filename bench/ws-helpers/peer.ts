/**
 * The other side of the WebSocket benchmarks, run as its own process:
 *
 *   node peer.js latency-echo ADDR          reads {i, t} from 'lat-ping' until it stops, records now - t, appends i to 'lat-pong'
 *   node peer.js roundtrip-echo ADDR        reads futures from 'rt-futures' until it stops, awaits result(), appends {i, t} to 'rt-acks'
 *   node peer.js fanout ADDR CLIENTS N      CLIENTS subscribers of 'fanout', each checks 0..N-1 in order; reports
 *                                           the CPU it spent from READY until they all saw N items
 *
 * The token comes from SF_TOKEN. A peer prints READY once subscribed and `RESULT <json>` at the end.
 */
import { Client, type Future } from '../../scheduler';
import { nowUs } from './processes';
import { runAsChild } from '../../test/support/child';

/** B's side of channel-latency-ws (also run inside the bench's own process), until A stops the ping channel: returns the one-way times. */
export async function latencyEcho(address: string, token = process.env.SF_TOKEN, onReady = () => console.log('READY'), pingName = 'lat-ping', pongName = 'lat-pong'): Promise<{ samples: number[] }> {
  const client = await Client.connect(address, { token, reconnect: false });
  const ping = client.channel(pingName, { maxlen: 16 });
  const pong = client.channel(pongName, { maxlen: 16 });
  await Promise.all([ping.ready, pong.ready]);
  onReady();
  const samples: number[] = [];
  let expected = 0;
  for await (const item of ping) {
    const at = nowUs();
    const { i, t } = item as { i: number; t: number };
    if (i !== expected) throw new Error(`latency-echo: got ${i}, expected ${expected}`);
    expected++;
    samples.push(Math.round((at - t) * 10) / 10);
    pong.append(i);
  }
  await pong.flush();
  await client.close();
  return { samples };
}

async function roundtripEcho(address: string): Promise<void> {
  const client = await Client.connect(address, { token: process.env.SF_TOKEN, reconnect: false });
  const futures = client.channel('rt-futures', { maxlen: 16 });
  const acks = client.channel('rt-acks', { maxlen: 16 });
  await Promise.all([futures.ready, acks.ready]);
  console.log('READY');
  let i = 0;
  for await (const item of futures) {
    const value = await (item as Future).result();
    if (value !== i + 1) throw new Error(`roundtrip-echo: future ${i} gave ${String(value)}`);
    acks.append({ i, t: nowUs() });
    (item as Future).release();
    i++;
  }
  await acks.flush();
  console.log(`RESULT ${JSON.stringify({ received: i })}`);
  await client.close();
}

async function fanout(address: string, clients: number, n: number): Promise<void> {
  const subs = await Promise.all(Array.from({ length: clients }, () => Client.connect(address, { token: process.env.SF_TOKEN, reconnect: false })));
  const chans = subs.map((c) => c.channel('fanout'));
  await Promise.all(chans.map((c) => c.ready));
  console.log('READY');
  // CPU this process spends receiving (from READY until every subscriber saw every item): the subscriber's
  // side of a delivery, next to the scheduler's side the bench measures.
  const cpu0 = process.cpuUsage();
  const finished = await Promise.all(
    chans.map(async (chan) => {
      let expected = 0;
      for await (const item of chan) {
        if (item !== expected) throw new Error(`fanout: a subscriber got ${String(item)} where ${expected} was due`);
        if (++expected === n) break;
      }
      return nowUs();
    }),
  );
  const cpu = process.cpuUsage(cpu0);
  console.log(`RESULT ${JSON.stringify({ finished, inOrder: true, cpuMs: (cpu.user + cpu.system) / 1000 })}`);
  await Promise.all(subs.map((c) => c.close()));
}

async function main(): Promise<void> {
  const [role, address, ...rest] = process.argv.slice(2);
  const nums = rest.map(Number);
  if (role === 'latency-echo') {
    const { samples } = await latencyEcho(address);
    console.log(`RESULT ${JSON.stringify({ samples })}`);
    return;
  }
  if (role === 'roundtrip-echo') return roundtripEcho(address);
  if (role === 'fanout') return fanout(address, nums[0], nums[1]);
  throw new Error(`unknown role ${role}`);
}

// Run as a process (not when the bench imports latencyEcho to run it in its own process).
if (require.main === module) runAsChild(main);
