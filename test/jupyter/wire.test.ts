import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { parseConnectionInfo, endpoint, ConnectionFileError } from '../../kernel/jupyter/connection';
import { MessageFactory } from '../../kernel/jupyter/session';
import { decode, DELIMITER, encode, Signer, WireError } from '../../kernel/jupyter/wire';

const factory = new MessageFactory();

test('encode signs the four JSON parts with HMAC-SHA256; decode gives the message back', () => {
  const signer = new Signer('k');
  const message = factory.make('kernel_info_request', { a: 1 }, undefined, [Buffer.from('peer')]);
  const frames = encode(message, signer);
  assert.equal(frames[0].toString(), 'peer');
  assert.equal(frames[1].toString(), DELIMITER);
  const hmac = createHmac('sha256', 'k');
  for (const part of frames.slice(3, 7)) hmac.update(part);
  assert.equal(frames[2].toString(), hmac.digest('hex'));
  const back = decode(frames, new Signer('k'));
  assert.deepEqual(back.identities.map(String), ['peer']);
  assert.equal(back.header.msg_type, 'kernel_info_request');
  assert.deepEqual(back.content, { a: 1 });
});

test('decode refuses a wrong, missing or replayed signature before parsing anything', () => {
  const frames = encode(factory.make('execute_request', { code: '1' }), new Signer('right'));
  assert.throws(() => decode(frames, new Signer('wrong')), (e: unknown) => e instanceof WireError && e.code === 'bad-signature');
  assert.throws(() => decode(encode(factory.make('x', {}), new Signer('')), new Signer('k')), (e: unknown) => e instanceof WireError && e.code === 'missing-signature');
  const receiver = new Signer('right');
  decode(frames, receiver);
  assert.throws(() => decode(frames, receiver), (e: unknown) => e instanceof WireError && e.code === 'replayed-signature');
  // a tampered content with the original signature
  const tampered = [...frames];
  tampered[tampered.length - 1] = Buffer.from('{"code":"2"}');
  assert.throws(() => decode(tampered, new Signer('right')), (e: unknown) => e instanceof WireError && e.code === 'bad-signature');
});

test('decode names what is malformed', () => {
  const signer = new Signer('');
  assert.throws(() => decode([Buffer.from('x')], signer), (e: unknown) => e instanceof WireError && e.code === 'no-delimiter');
  assert.throws(() => decode([Buffer.from(DELIMITER), Buffer.from('')], signer), (e: unknown) => e instanceof WireError && e.code === 'too-few-parts');
  const parts = (header: string) => [Buffer.from(DELIMITER), Buffer.from(''), Buffer.from(header), Buffer.from('{}'), Buffer.from('{}'), Buffer.from('{}')];
  assert.throws(() => decode(parts('{oops'), signer), (e: unknown) => e instanceof WireError && e.code === 'bad-json');
  assert.throws(() => decode(parts('[1]'), signer), (e: unknown) => e instanceof WireError && e.code === 'bad-json');
  assert.throws(() => decode(parts('{"msg_id":"1"}'), signer), (e: unknown) => e instanceof WireError && e.code === 'bad-header' && /msg_type/.test(e.message));
});

test('connection files: defaults, validation with a message, tcp and ipc endpoints', () => {
  const info = parseConnectionInfo(JSON.stringify({ shell_port: 1, iopub_port: 2, stdin_port: 3, control_port: 4, hb_port: 5, key: 'k' }));
  assert.equal(info.transport, 'tcp');
  assert.equal(endpoint(info, 1), 'tcp://127.0.0.1:1');
  assert.equal(endpoint({ ...info, transport: 'ipc', ip: '/tmp/k' }, 2), 'ipc:///tmp/k-2');
  assert.equal(endpoint({ ...info, ip: '::1' }, 3), 'tcp://[::1]:3');
  assert.throws(() => parseConnectionInfo('{'), ConnectionFileError);
  assert.throws(() => parseConnectionInfo(JSON.stringify({ ...info, hb_port: 'x' })), /hb_port must be a port number/);
  assert.throws(() => parseConnectionInfo(JSON.stringify({ ...info, signature_scheme: 'hmac-md5' })), /only "hmac-sha256"/);
});
