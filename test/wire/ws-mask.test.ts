/** Client frames are masked only where an intermediary could read them: not on loopback, not under TLS. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import net from 'node:net';
import { WsClientTransport, unmaskedIsSafe } from '../../scheduler/wire/ws-client';
import { waitUntil } from '../support/wait';

test('where frames go unmasked: loopback and TLS; elsewhere a client masks them', () => {
  for (const a of ['ws://127.0.0.1:8786', 'ws://localhost:1', 'ws://[::1]:2', 'wss://example.org:443']) assert.equal(unmaskedIsSafe(new URL(a)), true, a);
  for (const a of ['ws://10.1.2.3:8786', 'ws://example.org:8786', 'ws://[fe80::1]:3']) assert.equal(unmaskedIsSafe(new URL(a)), false, a);
});

test('on loopback a client sends its frames with an all-zero mask: the bytes on the socket are the payload itself', async () => {
  let raw = Buffer.alloc(0);
  const sockets: net.Socket[] = [];
  const server = net.createServer((s) => {
    sockets.push(s);
    let upgraded = false;
    s.on('data', (d: Buffer) => {
      if (upgraded) {
        raw = Buffer.concat([raw, d]);
        return;
      }
      const text = d.toString('latin1');
      const key = /Sec-WebSocket-Key: (.*)\r\n/i.exec(text)?.[1] ?? '';
      const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
      s.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
      upgraded = true;
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const t = new WsClientTransport<unknown, { op: string; client?: string }>(`ws://127.0.0.1:${port}`, 'client', { token: 'mask-test' });
  try {
    t.send({ op: 'hello', client: 'client-mask-test' });
    await waitUntil('the handshake frame', () => raw.includes('"op":"hello"'));
    // Byte 1 has the mask bit set (a client frame is always marked masked), and its key is 0.
    assert.equal(raw[1] & 0x80, 0x80);
    const len = raw[1] & 0x7f;
    const keyAt = len === 126 ? 4 : len === 127 ? 10 : 2;
    assert.deepEqual([...raw.subarray(keyAt, keyAt + 4)], [0, 0, 0, 0]);
    assert.ok(raw.includes('"token":"mask-test"'), 'the handshake travels as written');
  } finally {
    t.close();
    // This fake server never answers the closing handshake: ending its side lets the client go at once
    // instead of after its close timeout.
    for (const s of sockets) s.destroy();
    server.close();
  }
});
