/** Bad input: a clear, typed error at the call, and the scheduler keeps serving. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MessageChannel } from 'node:worker_threads';
import { Client, ClientClosedError, InvalidArgumentError, SerializationError } from '../../scheduler';
import { PROTOCOL_VERSION } from '../../scheduler/protocol/messages';
import { withCluster } from './helpers';
import { waitUntil } from '../support/wait';

test('channel names and maxlen are validated at the call', async () => {
  await withCluster(1, async (client) => {
    assert.throws(() => client.channel(''), (e: unknown) => e instanceof InvalidArgumentError && /must not be empty/.test(e.message));
    assert.throws(() => client.channel(42 as unknown as string), (e: unknown) => e instanceof InvalidArgumentError && /must be a string/.test(e.message));
    assert.throws(() => client.channel('x'.repeat(257)), (e: unknown) => e instanceof InvalidArgumentError && /at most 256/.test(e.message));
    for (const maxlen of [0, -1, 1.5, Number.NaN, '3' as unknown as number]) {
      assert.throws(() => client.channel('ok', { maxlen }), InvalidArgumentError, `maxlen ${String(maxlen)}`);
    }
    assert.equal(client.channel('x'.repeat(256)).name.length, 256);
    assert.equal(await client.submit(() => 'serving').result(), 'serving');
  });
});

test('values that cannot be sent are refused with SerializationError', async () => {
  await withCluster(1, async (client) => {
    const chan = client.channel('values');
    assert.throws(() => chan.append(() => 1), (e: unknown) => e instanceof SerializationError && /function/.test(e.message));
    assert.throws(() => chan.append(Symbol('s')), (e: unknown) => e instanceof SerializationError && /symbol/.test(e.message));
    assert.throws(() => chan.append({ nested: { fn: () => 1 } }), SerializationError);
    assert.throws(() => client.submit((x: unknown) => x, { cb: () => 1 }), SerializationError);
    await assert.rejects(client.scatter([Symbol('no')]), SerializationError);
    chan.append('fine');
    await chan.flush();
    assert.deepEqual(chan.data, ['fine']);
  });
});

test('submit and map refuse what is not a function or a reference', async () => {
  await withCluster(1, async (client) => {
    for (const bad of [42, null, { notFn: true }, ['a']]) {
      assert.throws(() => client.submit(bad as never), InvalidArgumentError, String(bad));
    }
    assert.throws(() => client.submit('no hash sign but spaces here#1x'), InvalidArgumentError);
    assert.throws(() => client.submit(Math.random as never), /native or bound/);
    assert.throws(() => client.map(42 as never, [1]), InvalidArgumentError);
    assert.throws(() => client.map((x: number) => x, 5 as never), InvalidArgumentError);
    assert.throws(() => client.submit({ fn: () => 1, retries: -1 }), InvalidArgumentError);
    assert.throws(() => client.submit({ fn: () => 1, key: '' }), InvalidArgumentError);
    assert.throws(() => client.submitGraph({ a: 1 }, ['missing']), InvalidArgumentError);
    await assert.rejects(Client.connect('http://nope' as string), InvalidArgumentError);
  });
});

test('a closed client raises ClientClosedError', async () => {
  await withCluster(1, async (_client, cluster) => {
    const c = await Client.connect(cluster);
    await c.close();
    assert.throws(() => c.submit(() => 1), ClientClosedError);
    assert.throws(() => c.channel('x'), ClientClosedError);
    await assert.rejects(c.schedulerInfo(), ClientClosedError);
  });
});

test('malformed messages on a raw port get error replies; the scheduler keeps serving others', async () => {
  await withCluster(1, async (client, cluster) => {
    const port = cluster.createPort();
    const replies: unknown[] = [];
    port.on('message', (batch: unknown[]) => replies.push(...batch));
    port.postMessage([{ op: 'hello', client: 'raw-1', version: PROTOCOL_VERSION }]);
    const garbage: unknown[] = [
      [{ op: 'nope' }],
      [42],
      [{ op: 'submit', fns: 'x', tasks: 3 }],
      [{ op: 'submit', fns: [], tasks: [{ key: 'k', fn: 'missing', args: [] }] }],
      [{ op: 'append', channel: 'never-subscribed', items: [{ v: 1 }] }],
      [{ op: 'gather', req: 5, keys: ['unknown-key'] }],
      [{ op: 'sub', channel: '', maxlen: null }],
      [{ op: 'sub', channel: 'c', maxlen: -4 }],
      [{ op: 'story', req: 6, key: 'k' }],
    ];
    for (const g of garbage) port.postMessage(g);
    port.postMessage('not even an array');
    // Messages are handled in order: once the last one (which closes the connection) is answered, every earlier one was.
    await waitUntil('the last message answered', () => replies.some((m) => /batch must be an array/.test((m as { error?: { message?: string } }).error?.message ?? '')));
    // One error answer per bad message, in order (an append to a channel nobody subscribed is not an error).
    const errors = replies
      .filter((m) => (m as { op?: string }).op === 'error' || (m as { ok?: boolean }).ok === false)
      .map((m) => (m as { error?: { message?: string } }).error?.message ?? '');
    const expected = [/nope/, /an object with a string op/, /fns and tasks/, /missing/, /unknown-key/, /name must not be empty/, /maxlen -4/, /batch must be an array/];
    assert.equal(errors.length, expected.length, errors.join('\n'));
    expected.forEach((re, i) => assert.match(errors[i], re));
    assert.ok(replies.some((m) => (m as { op: string; req?: number }).op === 'reply' && (m as { req?: number }).req === 6 && (m as { ok?: boolean }).ok === true));
    assert.equal(await client.submit((x: number) => x + 1, 1).result(), 2);
    port.close();

    // A second connection must start with hello.
    const { port1, port2 } = new MessageChannel();
    cluster.server.acceptPort(port1);
    const first: unknown[] = [];
    port2.on('message', (b: unknown[]) => first.push(...b));
    port2.postMessage([{ op: 'info', req: 1 }]);
    await waitUntil('an answer to the message that was not hello', () => first.length > 0);
    assert.match(JSON.stringify(first), /first message must be hello/);
    port2.close();
  });
});
