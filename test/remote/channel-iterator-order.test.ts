/**
 * A channel iterator hands out the items of its window in log order however its `next()` calls are made: one
 * at a time, or several without waiting for each other, some answered from items already in the window and
 * some waiting for items still to come (client/channel.ts ChannelIterator: an item already there is taken at
 * once, a call made while another waits queues behind it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Client, LocalCluster } from '../../scheduler';
import { waitUntil } from '../support/wait';

const TOKEN = 'test-token-channel-iterator-0123456789';

test('next() calls that do not wait for each other get consecutive items, across items there and items still to come', async () => {
  const cluster = await LocalCluster.start({ threads: 0, listen: { port: 0, token: TOKEN } });
  const clients: Client[] = [];
  try {
    const connect = async () => {
      const c = await Client.connect(cluster.address, { token: TOKEN, reconnect: false });
      clients.push(c);
      return c;
    };
    const producer = (await connect()).channel<number>('order');
    await producer.ready;
    const reader = (await connect()).channel<number>('order');
    await reader.ready;
    producer.append(0);
    await producer.flush();
    await waitUntil('the first item in the reader window', () => (reader.data as number[]).length === 1);
    const it = reader[Symbol.asyncIterator]();
    // One item is there; the second call waits for an item, the third and fourth queue behind it.
    const first = it.next();
    const rest = [it.next(), it.next(), it.next()];
    assert.deepEqual(await first, { value: 0, done: false });
    producer.append(1);
    producer.append(2);
    await producer.flush();
    // The fourth call waits for item 3; a fifth made the moment items 3 and 4 arrive (before the waiting
    // call has taken its item) comes after it.
    let fifth: Promise<IteratorResult<number, void>> | undefined;
    const receive = reader.receiveItems.bind(reader);
    reader.receiveItems = (start, items) => {
      receive(start, items);
      fifth ??= it.next();
    };
    producer.append(3);
    producer.append(4);
    await producer.flush();
    await waitUntil('items 3 and 4 to arrive', () => fifth !== undefined);
    reader.receiveItems = receive;
    assert.deepEqual(
      (await Promise.all([...rest, fifth as Promise<IteratorResult<number, void>>])).map((r) => r.value),
      [1, 2, 3, 4],
    );
    // Then one at a time from the window, and the end once the channel is stopped.
    for (let i = 5; i < 10; i++) producer.append(i);
    await producer.flush();
    await waitUntil('the items in the reader window', () => (reader.data as number[]).length === 10);
    const more: number[] = [];
    for (let i = 5; i < 10; i++) more.push((await it.next()).value as number);
    assert.deepEqual(more, [5, 6, 7, 8, 9]);
    const ending = it.next();
    await producer.stop();
    assert.deepEqual(await ending, { value: undefined, done: true });
    assert.deepEqual(await it.next(), { value: undefined, done: true });
  } finally {
    for (const c of clients) await c.close();
    await cluster.close();
  }
});

test('an iterator returned early ends, with items still in the window', async () => {
  const cluster = await LocalCluster.start({ threads: 0, listen: { port: 0, token: TOKEN } });
  const client = await Client.connect(cluster.address, { token: TOKEN, reconnect: false });
  try {
    const chan = client.channel<number>('early');
    await chan.ready;
    for (let i = 0; i < 5; i++) chan.append(i);
    await chan.flush();
    await waitUntil('the items in the window', () => (chan.data as number[]).length === 5);
    const it = chan[Symbol.asyncIterator]();
    assert.deepEqual(await it.next(), { value: 0, done: false });
    assert.deepEqual(await it.next(), { value: 1, done: false });
    await it.return?.();
    assert.deepEqual(await it.next(), { value: undefined, done: true });
  } finally {
    await client.close();
    await cluster.close();
  }
});
