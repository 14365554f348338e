/** A WebSocket close reaches the caller as a typed error with the close code and reason as fields. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AuthenticationError, Client, ConnectionError, LocalCluster } from '../../scheduler';
import { CloseCode } from '../../scheduler/wire/close-codes';

const TOKEN = 'close-codes-token-1';

test('a refused token is an AuthenticationError carrying close code 4001 and the reason', async () => {
  const cluster = await LocalCluster.start({ threads: 0, listen: { port: 0, token: TOKEN } });
  try {
    const err = await Client.connect(cluster.address, { token: 'not-the-token', reconnect: false }).then(
      () => assert.fail('the connection was accepted'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof AuthenticationError, `got ${String(err)}`);
    assert.equal(err.closeCode, CloseCode.authFailed);
    assert.equal(err.closeReason, 'authentication failed: wrong token');
  } finally {
    await cluster.close();
  }
});

test('a connection the scheduler cuts off fails pending calls with a ConnectionError carrying the close code', async () => {
  const cluster = await LocalCluster.start({ threads: 0, listen: { port: 0, token: TOKEN, limits: { maxMessagesPerSecond: 50 } } });
  try {
    const client = await Client.connect(cluster.address, { token: TOKEN, reconnect: false });
    // One batch of 200 requests is over the limit of 50 messages per second: the scheduler closes with 4003.
    const calls = Array.from({ length: 200 }, () => client.schedulerInfo());
    const outcomes = await Promise.allSettled(calls);
    const failed = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
    assert.equal(failed.length, calls.length, 'every pending call fails with the connection');
    const err: unknown = failed[0].reason;
    assert.ok(err instanceof ConnectionError, `got ${String(err)}`);
    assert.equal(err.closeCode, CloseCode.rateLimited);
    assert.match(err.closeReason ?? '', /messages per second/);
    await client.close();
  } finally {
    await cluster.close();
  }
});
