/**
 * The scheduler's WebSocket connections write and read in slices (wire/ws-transport.ts): a fan-out to many
 * connections is written a slice per turn with a poll for input between slices, a reply leaves ahead of the
 * connections waiting to be written, and input past a slice waits in its connection's queue. The slices are
 * set to 0 ms here (one connection per slice) so that the slicing shows on a machine of any speed.
 */
import { afterEach, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { setSlices, writesWaiting } from '../../scheduler/wire/ws-transport';
import { waitUntil } from '../support/wait';
import { wsPairs, type Msg } from '../support/ws-pairs';

let before: { writeMs: number; inputMs: number };
beforeEach(() => (before = setSlices({ writeMs: 0, inputMs: 0 })));
afterEach(() => setSlices(before));

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

test('a fan-out to many connections is written over several turns, and each gets all its messages once, in order', async () => {
  const { ends, close } = await wsPairs(40);
  const got: number[][] = ends.map(() => []);
  ends.forEach(([, receiver], i) => receiver.onMessages((b) => got[i].push(...b.map((m) => m.i as number))));
  try {
    // Five rounds over every connection in one turn, as a scheduler delivering five appends to 40 subscribers.
    for (let i = 0; i < 5; i++) for (const [sender] of ends) sender.send({ op: 'items', i });
    await nextTurn();
    assert.ok(writesWaiting() > 0, 'after one turn some connections still wait to be written');
    await waitUntil('every connection to get its five messages', () => got.every((g) => g.length >= 5));
    for (const g of got) assert.deepEqual(g, [0, 1, 2, 3, 4]);
    assert.equal(writesWaiting(), 0);
  } finally {
    await close();
  }
});

test('a reply to a connection at the end of the write queue leaves at once, after what that connection had queued', async () => {
  const { ends, close } = await wsPairs(40, { urgent: (m) => (m as Msg).op === 'reply' });
  const arrivals: string[] = [];
  const got: Msg[][] = ends.map(() => []);
  ends.forEach(([, receiver], i) =>
    receiver.onMessages((b) => {
      got[i].push(...b);
      for (const m of b) arrivals.push(`${i} ${m.op}`);
    }),
  );
  const last = ends.length - 1;
  try {
    for (let i = 0; i < 3; i++) for (const [sender] of ends) sender.send({ op: 'items', i });
    await nextTurn();
    assert.ok(writesWaiting() > 1, 'connections wait to be written');
    ends[last][0].send({ op: 'reply', req: 1 });
    await waitUntil('every message to arrive', () => got.every((g, i) => g.length === (i === last ? 4 : 3)));
    assert.deepEqual(
      got[last].map((m) => m.op),
      ['items', 'items', 'items', 'reply'],
      'the reply leaves with the items queued before it, after them',
    );
    const replyAt = arrivals.indexOf(`${last} reply`);
    const othersDone = Math.max(...ends.slice(0, last).map((_, i) => arrivals.lastIndexOf(`${i} items`)));
    assert.ok(replyAt < othersDone, `the reply arrived before the fan-out to the other connections was done (${arrivals.slice(0, replyAt + 1).join(', ')})`);
  } finally {
    await close();
  }
});

test('input past the slice waits for a later turn, in order, while a cheap request of another connection is handled at once', async () => {
  const { ends, close } = await wsPairs(3, { sliceInput: true, cheap: (b) => b.every((m) => (m as Msg).op === 'info') });
  // Here the clients send and the scheduler's ends (with sliced input) receive.
  const handled: string[] = [];
  let onHandled = (_: string): void => undefined;
  ends.forEach(([server], i) =>
    server.onMessages((b) => {
      for (const m of b) {
        handled.push(`${i} ${m.op} ${String(m.i ?? '')}`);
        onHandled(handled[handled.length - 1]);
      }
    }),
  );
  try {
    for (let i = 0; i < 3; i++) {
      ends[0][1].sendBatch([{ op: 'append', i }]);
      ends[1][1].sendBatch([{ op: 'append', i }]);
    }
    await waitUntil('the appends of the first two connections to be handled', () => handled.filter((h) => h.includes('append')).length === 6);
    for (const c of [0, 1]) {
      assert.deepEqual(
        handled.filter((h) => h.startsWith(`${c} `)),
        [0, 1, 2].map((i) => `${c} append ${i}`),
        'each connection in order',
      );
    }
    // While connection 0 has input waiting, connection 2's info request is handled ahead of it.
    // (sent as soon as the first of those appends is handled: 36 wait, one per turn)
    onHandled = (h) => {
      if (h === '0 append 3') ends[2][1].sendBatch([{ op: 'info' }]);
    };
    for (let i = 3; i < 40; i++) ends[0][1].sendBatch([{ op: 'append', i }]);
    await waitUntil('every message to be handled', () => handled.length === 6 + 37 + 1);
    assert.ok(handled.indexOf('2 info ') < handled.indexOf('0 append 39'), `the info request was handled before the waiting appends: ${handled.join(', ')}`);
    assert.deepEqual(
      handled.filter((h) => h.startsWith('0 ')).map((h) => Number(h.split(' ')[2])),
      Array.from({ length: 40 }, (_, i) => i),
    );
  } finally {
    await close();
  }
});

test('a connection that closes while its input waits for a slice has that input handled first, then its close', async () => {
  const { ends, close } = await wsPairs(1, { sliceInput: true });
  const [server, client] = ends[0];
  const handled: string[] = [];
  server.onMessages((b) => handled.push(...b.map((m) => `append ${String(m.i)}`)));
  server.onClose(() => handled.push('closed'));
  try {
    for (let i = 0; i < 10; i++) client.sendBatch([{ op: 'append', i }]);
    client.close();
    await waitUntil('the server end to close', () => handled.includes('closed'));
    assert.deepEqual(handled, [...Array.from({ length: 10 }, (_, i) => `append ${i}`), 'closed']);
  } finally {
    await close();
  }
});

test('a bad frame behind input that waits for a slice is answered after that input, in the order the peer sent them', async () => {
  const handled: string[] = [];
  const { ends, close } = await wsPairs(1, { sliceInput: true, onBadFrame: (err) => handled.push(`bad ${err.code}`) });
  const [server, client] = ends[0];
  server.onMessages((b) => handled.push(...b.map((m) => `append ${String(m.i)}`)));
  try {
    for (let i = 0; i < 10; i++) client.sendBatch([{ op: 'append', i }]);
    // A text frame where binary ones are expected, sent by the same socket after the ten batches.
    (client as unknown as { ws: { send(d: string): void } }).ws.send('not a frame');
    client.sendBatch([{ op: 'append', i: 10 }]);
    await waitUntil('everything to be handled', () => handled.length === 12);
    assert.deepEqual(handled, [...Array.from({ length: 10 }, (_, i) => `append ${i}`), 'bad ERR_FRAME', 'append 10']);
  } finally {
    await close();
  }
});
