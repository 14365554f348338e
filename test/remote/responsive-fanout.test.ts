/**
 * A scheduler in the middle of a large fan-out stays responsive: a schedulerInfo() request is answered
 * before the append it arrived behind has reached every subscriber (wire/ws-transport.ts writes a fan-out in
 * slices with a poll for input between them, and a reply leaves ahead of the connections waiting to be
 * written). The slices are set to 0 ms (one connection per slice) so that this shows on a machine of any speed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setSlices } from '../../scheduler/wire/ws-transport';
import { fanout } from '../support/fanout';
import { waitUntil } from '../support/wait';

const TOKEN = 'test-token-responsive-0123456789';
const SUBSCRIBERS = 60;

test('schedulerInfo() is answered while an append is still being delivered to many subscribers, and every subscriber gets every item in order', async () => {
  const seen: number[][] = Array.from({ length: SUBSCRIBERS }, () => []);
  let onFirstItem = (): void => undefined;
  let gotFirst = 0;
  const f = await fanout(TOKEN, 'fan', SUBSCRIBERS, (i, _start, items) => {
    const mine = seen[i];
    for (const it of items) mine.push((it as { v: number }).v);
    if (mine[0] === 0 && ++gotFirst === 1) onFirstItem();
  });
  try {
    const probe = await f.connect();
    const producer = await f.connect();
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
    await f.close();
  }
});
