/** Tokens, TLS and per-connection limits of the WebSocket server. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { deserialize, serialize } from 'node:v8';
import { Client, InvalidArgumentError, LocalCluster } from '../../scheduler';
import { tokensMatch } from '../../scheduler/wire/auth';
import { PROTOCOL_VERSION } from '../../scheduler/protocol/messages';
import { AuthenticationError } from '../../scheduler/protocol/errors';
import { startCli, stopAll } from '../support/processes';
import { waitUntil } from '../support/wait';

after(stopAll);

test('tokens compare in constant time by hashing both sides', () => {
  assert.equal(tokensMatch('secret-token', 'secret-token'), true);
  assert.equal(tokensMatch('secret-token', 'secret-tokem'), false);
  assert.equal(tokensMatch('secret-token', 'short'), false);
  assert.equal(tokensMatch('secret-token', undefined), false);
  assert.equal(tokensMatch('secret-token', 42), false);
});

test('listening beyond loopback needs a token; on loopback one is generated and printed once', async () => {
  await assert.rejects(LocalCluster.start({ threads: 0, listen: { host: '0.0.0.0', port: 0 } }), (e: unknown) => e instanceof InvalidArgumentError && /token is required/.test(e.message));
  const refused = await startCli(['scheduler', '--host', '0.0.0.0', '--port', '0', '--threads', '0'], /token is required/).catch((e: Error) => e);
  assert.match(String(refused instanceof Error ? refused.message : refused.output()), /token is required/);
  const s = await startCli(['scheduler', '--port', '0', '--threads', '0'], /(ws:\/\/\S+)\/\?token=(\S+)/);
  const [, address, token] = s.match;
  await assert.rejects(Client.connect(address, { reconnect: false }), (e: unknown) => e instanceof AuthenticationError && /token is required/.test(e.message));
  const c = await Client.connect(`${address}/?token=${token}`);
  assert.ok((await c.schedulerInfo()).address.startsWith('local://'));
  await c.close();
  await s.stop();
});

test('a wrong token closes the connection with a clear reason; a given token is never printed', async () => {
  const token = 'my-own-secret-token-42';
  const s = await startCli(['scheduler', '--port', '0', '--threads', '0', '--token', token], /scheduler at (ws:\/\/\S+)/);
  const address = s.match[1];
  await assert.rejects(Client.connect(address, { token: 'not-the-token', reconnect: false }), (e: unknown) => e instanceof AuthenticationError && /wrong token/.test(e.message) && /4001/.test(e.message));
  const c = await Client.connect(address, { token });
  assert.deepEqual((await c.schedulerInfo()).workers, []);
  await c.close();
  assert.equal(s.output().includes(token), false, 'the token does not appear in the scheduler output');
  await s.stop();
});

test('wss:// works with --cert and --key', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sf-tls-'));
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], { stdio: 'ignore' });
  const cluster = await LocalCluster.start({ threads: 1, listen: { port: 0, token: 'tls-token-123456', cert, key } });
  try {
    assert.match(cluster.address, /^wss:\/\/127\.0\.0\.1:\d+$/);
    const c = await Client.connect(cluster.address, { token: 'tls-token-123456', ca: fs.readFileSync(cert) });
    assert.equal(await c.submit((x: number) => x * 2, 21).result(), 42);
    await c.close();
    await assert.rejects(Client.connect(cluster.address, { token: 'tls-token-123456', reconnect: false }), /certificate/i, 'an untrusted certificate is refused');
  } finally {
    await cluster.close();
  }
});

/** Opens a raw authenticated connection and collects what the scheduler sends (whole frames) and how it closes. */
async function rawConnection(address: string, token: string, id: string): Promise<{ ws: WebSocket; received: { op: string }[]; closed: Promise<{ code: number; reason: string }> }> {
  const ws = new WebSocket(address, { perMessageDeflate: false });
  const received: { op: string }[] = [];
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    if (isBinary && data[0] === 0) received.push(...(deserialize(data.subarray(1)) as { op: string }[]));
  });
  await new Promise((r, j) => ws.once('open', r).once('error', j));
  ws.send(JSON.stringify({ op: 'hello', version: PROTOCOL_VERSION, role: 'client', id, token }));
  const closed = new Promise<{ code: number; reason: string }>((r) => ws.once('close', (code, reason) => r({ code, reason: reason.toString() })));
  return { ws, received, closed };
}

const frame = (batch: unknown[]) => Buffer.concat([Buffer.from([0]), serialize(batch)]);

test('frames over the size limit and floods over the rate limit close the connection; others go on', async () => {
  const token = 'limit-token-123456';
  const cluster = await LocalCluster.start({ threads: 1, listen: { port: 0, token, limits: { maxFrameBytes: 64 * 1024, maxMessagesPerSecond: 500 } } });
  try {
    const big = await rawConnection(cluster.address, token, 'big-1');
    big.ws.send(Buffer.alloc(200 * 1024, 1));
    assert.equal((await big.closed).code, 1009);
    const flood = await rawConnection(cluster.address, token, 'flood-1');
    flood.ws.send(frame(Array.from({ length: 2000 }, () => ({ op: 'info', req: 1 }))));
    const closed = await flood.closed;
    assert.equal(closed.code, 4003);
    assert.match(closed.reason, /messages per second/);
    const c = await Client.connect(cluster.address, { token });
    assert.equal(await c.submit(() => 'fine').result(), 'fine');
    await c.close();
  } finally {
    await cluster.close();
  }
});

test('a subscriber that does not read is cut off as a slow consumer without stalling the others', async () => {
  const token = 'slow-token-123456';
  const cluster = await LocalCluster.start({ threads: 1, listen: { port: 0, token, limits: { maxOutstandingBytes: 512 * 1024 } } });
  try {
    const slow = await rawConnection(cluster.address, token, 'slow-1');
    slow.ws.send(frame([{ op: 'sub', channel: 'firehose', maxlen: 8 }]));
    // Subscribed once the scheduler has answered with the channel's replay; from then on it sends the items.
    await waitUntil('the replay answering the subscription', () => slow.received.some((m) => m.op === 'replay'));
    (slow.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const reader = await Client.connect(cluster.address, { token });
    const producer = await Client.connect(cluster.address, { token });
    const seen = reader.channel('firehose', { maxlen: 8 });
    await seen.ready;
    const chan = producer.channel('firehose');
    const blob = 'x'.repeat(128 * 1024);
    const n = 300;
    for (let i = 0; i < n; i++) {
      chan.append({ i, blob });
      if (i % 20 === 19) await chan.flush();
    }
    await chan.flush();
    await waitUntil('the reading subscriber got every item', () => seen.count === n, 20_000);
    (slow.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    const closed = await slow.closed;
    assert.equal(closed.code, 4004);
    assert.match(closed.reason, /slow consumer/);
    await reader.close();
    await producer.close();
  } finally {
    await cluster.close();
  }
});
