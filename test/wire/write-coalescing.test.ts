/**
 * A WebSocket connection writes at most twice per turn of the event loop: the first batch of a turn leaves at
 * the end of its microtask (no added latency), what is sent later in the same turn leaves together at the
 * turn's end. A scheduler handling frames from many sockets in one round of I/O (workers' outcomes,
 * producers' appends) thus writes each subscriber once or twice, not once per frame it handled.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitUntil } from '../support/wait';
import { wsPairs, type Msg } from '../support/ws-pairs';

test('messages sent to a connection in several microtasks of one turn leave in two writes, in order', async () => {
  const { ends, close } = await wsPairs(1);
  const [sender, receiver] = ends[0];
  const batches: Msg[][] = [];
  receiver.onMessages((b) => batches.push(b));
  try {
    // One turn: five sends, each in its own microtask, as a scheduler handling five sockets' frames does.
    for (let i = 0; i < 5; i++) {
      sender.send({ op: 'm', i });
      await Promise.resolve();
    }
    await waitUntil('the five messages to arrive', () => batches.flat().length === 5);
    assert.deepEqual(
      batches.flat().map((m) => m.i),
      [0, 1, 2, 3, 4],
    );
    assert.deepEqual(
      batches.map((b) => b.length),
      [1, 4],
      'the first leaves at once, the rest together at the end of the turn',
    );
    // A later turn writes at once again.
    sender.send({ op: 'm', i: 5 });
    await waitUntil('the sixth message to arrive', () => batches.flat().length === 6);
    assert.deepEqual(batches.at(-1)?.map((m) => m.i), [5]);
  } finally {
    await close();
  }
});
