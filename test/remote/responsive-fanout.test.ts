/**
 * A scheduler in the middle of a large fan-out stays responsive: a schedulerInfo() request is answered
 * before the append it arrived behind has reached every subscriber (wire/ws-transport.ts writes a fan-out in
 * slices with a poll for input between them, and a reply leaves ahead of the connections waiting to be
 * written). The slices are set to 0 ms (one connection per slice) so that this shows on a machine of any speed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Client, LocalCluster } from '../../scheduler';
import type { WireItem } from '../../scheduler/protocol/messages';
import { setSlices } from '../../scheduler/wire/ws-transport';
import { waitUntil } from '../support/wait';

const TOKEN = 'test-token-responsive-0123456789';
const SUBSCRIBERS = 60;

test('schedulerInfo() is answered while an append is still being delivered to many subscribers, and every subscriber gets every item in order', async () => {
  const cluster = await LocalCluster.start({ threads: 0, listen: { port: 0, token: TOKEN } });
  const clients: Client[] = [];
  const before = setSlices({});
  try {
    const connect = async () => {
      const c = await Client.connect(cluster.address, { token: TOKEN, reconnect: false });
      clients.push(c);
      return c;
    };
    const seen: number[][] = [];
    let onFirstItem = (): void => undefined;
    let gotFirst = 0;
    for (let i = 0; i < SUBSCRIBERS; i++) {
      const chan = (await connect()).channel<number>('fan');
      await chan.ready;
      const mine: number[] = [];
      seen.push(mine);
      // Seen as it arrives: the channel's own receiveItems, wrapped.
      const receive = chan.receiveItems.bind(chan);
      chan.receiveItems = (start: number, items: WireItem[]) => {
        receive(start, items);
        for (const it of items) mine.push((it as { v: number }).v);
        if (mine[0] === 0 && ++gotFirst === 1) onFirstItem();
      };
    }
    const probe = await connect();
    const producer = await connect();
    const chan = producer.channel<number>('fan');
    await chan.ready;
    await probe.schedulerInfo();

    setSlices({ writeMs: 0, inputMs: 0 });
    let answeredWhenReached: number | undefined;
    onFirstItem = () => {
      // The fan-out has begun: ask now, and note how many subscribers had the item when the answer came.
      void probe.schedulerInfo().then(() => (answeredWhenReached = seen.filter((s) => s.length > 0).length));
    };
    for (let i = 0; i < 5; i++) chan.append(i);
    await chan.flush();
    await waitUntil('every subscriber to get the five items', () => seen.every((s) => s.length === 5));
    await waitUntil('the schedulerInfo() answer', () => answeredWhenReached !== undefined);
    for (const s of seen) assert.deepEqual(s, [0, 1, 2, 3, 4]);
    assert.ok(
      (answeredWhenReached as number) < SUBSCRIBERS,
      `schedulerInfo() was answered once ${String(answeredWhenReached)} of ${SUBSCRIBERS} subscribers had the append: after the whole fan-out`,
    );
  } finally {
    setSlices(before);
    for (const c of clients) await c.close();
    await cluster.close();
  }
});
