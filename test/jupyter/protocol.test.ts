/**
 * The protocol over the real sockets. Execute options: silent, store_history, user_expressions,
 * stop_on_error. Bad input: wrong, missing and replayed signatures, an unknown msg_type, malformed
 * headers and a cell with a syntax error. Each gets a clear reply or log line, nothing unsigned runs, and
 * the kernel keeps serving. The client side is zeromq's DEALER/SUB, as Jupyter's clients use.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { freePort } from '../support/ports';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zmq from 'zeromq';
import { MessageFactory } from '../../kernel/jupyter/session';
import { decode, encode, Signer, type JsonObject, type JupyterMessage } from '../../kernel/jupyter/wire';
import { stopUserScheduler } from '../../kernel/jupyter/user-scheduler';
import { waitUntilGone } from './helpers';
import { spawnCli, type Proc } from '../support/processes';
import { waitUntil } from '../support/wait';

const KEY = 'a-test-key-0123456789';
let dir: string;
let kernel: Proc | undefined;
const stderr = () => kernel?.stderr() ?? '';
let shell: zmq.Dealer;
let iopub: zmq.Subscriber;
const iopubMessages: JupyterMessage[] = [];
const factory = new MessageFactory();
const signer = new Signer(KEY);
const replySigner = new Signer(KEY);

/** Waits for `check` to hold; a failure shows the kernel's stderr. */
function waitFor<T>(what: string, check: () => T | undefined | false): Promise<T> {
  return waitUntil(what, check, { timeoutMs: 30_000, detail: () => `kernel stderr:\n${stderr()}` });
}

/** Sends a signed request and returns its reply (skipping replies to other requests). */
async function request(msgType: string, content: JsonObject): Promise<JupyterMessage> {
  const message = factory.make(msgType, content);
  await shell.send(encode(message, signer));
  return receiveReplyTo(message.header.msg_id);
}

/** Replies that arrived while another was awaited, by the msg_id they answer. */
const earlyReplies = new Map<string, JupyterMessage>();

async function receiveReplyTo(msgId: string): Promise<JupyterMessage> {
  shell.receiveTimeout = 60_000;
  for (;;) {
    const early = earlyReplies.get(msgId);
    if (early) {
      earlyReplies.delete(msgId);
      return early;
    }
    const reply = decode(await shell.receive(), replySigner);
    const answers = (reply.parent_header as { msg_id?: string }).msg_id;
    if (answers === msgId) return reply;
    if (answers) earlyReplies.set(answers, reply);
  }
}

function framesOf(message: JupyterMessage): Buffer[] {
  return encode(message, signer);
}

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sf-protocol-'));
  const ports = { shell_port: await freePort(), iopub_port: await freePort(), stdin_port: await freePort(), control_port: await freePort(), hb_port: await freePort() };
  const connection = path.join(dir, 'kernel.json');
  fs.writeFileSync(connection, JSON.stringify({ transport: 'tcp', ip: '127.0.0.1', ...ports, key: KEY, signature_scheme: 'hmac-sha256' }));
  const env: NodeJS.ProcessEnv = { ...process.env, SHARED_FUTURES_RUNTIME_DIR: path.join(dir, 'rt') };
  delete env.SHARED_FUTURES_SCHEDULER;
  kernel = spawnCli(['kernel', 'start', connection], { env });
  shell = new zmq.Dealer({ linger: 0 });
  shell.connect(`tcp://127.0.0.1:${ports.shell_port}`);
  iopub = new zmq.Subscriber({ linger: 0 });
  iopub.connect(`tcp://127.0.0.1:${ports.iopub_port}`);
  iopub.subscribe();
  void (async () => {
    try {
      for await (const frames of iopub) iopubMessages.push(decode(frames, new Signer(KEY)));
    } catch {
      // closed at the end
    }
  })();
  const info = await request('kernel_info_request', {});
  assert.equal(info.content.status, 'ok');
});

after(async () => {
  shell?.close();
  iopub?.close();
  await kernel?.stop('SIGTERM');
  const pid = stopUserScheduler(path.join(dir, 'rt'));
  if (pid !== undefined) await waitUntilGone(pid);
  fs.rmSync(dir, { recursive: true, force: true });
});

function executeRequest(code: string): JupyterMessage {
  return factory.make('execute_request', { code, silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: true });
}

test('a message with a wrong signature is dropped and logged, never executed', async () => {
  const message = executeRequest("globalThis.sneaky = 'ran'");
  const frames = framesOf(message);
  const sig = frames.indexOf(frames.find((f) => f.toString() === '<IDS|MSG>') as Buffer) + 1;
  frames[sig] = Buffer.from('0'.repeat(64));
  await shell.send(frames);
  await waitFor('the log line', () => /dropped a message on shell( from [0-9a-f/]+)?: the message has a wrong signature \(bad-signature\)/.test(stderr()));
  const check = await request('execute_request', { code: 'typeof (globalThis as { sneaky?: string }).sneaky', silent: false, store_history: true, user_expressions: {}, allow_stdin: false });
  assert.equal(check.content.status, 'ok');
  const result = await waitFor('the result', () => iopubMessages.find((m) => m.header.msg_type === 'execute_result' && (m.parent_header as { msg_id?: string }).msg_id === check.parent_header.msg_id));
  assert.equal((result.content.data as Record<string, string>)['text/plain'], "'undefined'");
  assert.ok(!iopubMessages.some((m) => (m.parent_header as { msg_id?: string }).msg_id === message.header.msg_id), 'the forged request caused iopub messages');
});

test('a message without a signature is dropped and logged', async () => {
  const message = executeRequest("globalThis.unsigned = 'ran'");
  const frames = encode(message, new Signer(''));
  await shell.send(frames);
  await waitFor('the log line', () => /the message has no signature \(missing-signature\)/.test(stderr()));
  assert.ok(!iopubMessages.some((m) => (m.parent_header as { msg_id?: string }).msg_id === message.header.msg_id));
});

test('a replayed message is refused: it runs once', async () => {
  const message = executeRequest('(globalThis as { runs?: number }).runs = ((globalThis as { runs?: number }).runs ?? 0) + 1');
  const frames = framesOf(message);
  await shell.send(frames);
  await receiveReplyTo(message.header.msg_id);
  await shell.send(frames);
  await waitFor('the log line', () => /repeats the signature of an earlier message \(replayed-signature\)/.test(stderr()));
  const check = await request('execute_request', { code: '(globalThis as { runs?: number }).runs', silent: false, store_history: true, user_expressions: {}, allow_stdin: false });
  const result = await waitFor('the result', () => iopubMessages.find((m) => m.header.msg_type === 'execute_result' && (m.parent_header as { msg_id?: string }).msg_id === check.parent_header.msg_id));
  assert.equal((result.content.data as Record<string, string>)['text/plain'], '1');
});

test('an unknown msg_type gets an error reply and a log line', async () => {
  const reply = await request('frobnicate_request', {});
  assert.equal(reply.header.msg_type, 'frobnicate_reply');
  assert.equal(reply.content.status, 'error');
  assert.equal(reply.content.ename, 'UnknownMessageType');
  await waitFor('the log line', () => /unknown message type 'frobnicate_request' on shell: answered with an error/.test(stderr()));
});

test('malformed headers (not JSON, no msg_type) are logged and dropped; the kernel keeps serving', async () => {
  const parts = ['not json at all', '{}', '{}', '{}'].map((p) => Buffer.from(p));
  await shell.send([Buffer.from('<IDS|MSG>'), Buffer.from(signer.sign(parts)), ...parts]);
  await waitFor('the bad-json log line', () => /the header is not JSON \(bad-json\)/.test(stderr()));
  const noType = [JSON.stringify({ msg_id: 'x1', session: 's', username: 'u', date: '', version: '5.3' }), '{}', '{}', '{}'].map((p) => Buffer.from(p));
  await shell.send([Buffer.from('<IDS|MSG>'), Buffer.from(signer.sign(noType)), ...noType]);
  await waitFor('the bad-header log line', () => /the header has no msg_type \(bad-header\)/.test(stderr()));
  await shell.send([Buffer.from('just one frame')]);
  await waitFor('the no-delimiter log line', () => /no <IDS\|MSG> delimiter/.test(stderr()));
  const info = await request('kernel_info_request', {});
  assert.equal(info.content.status, 'ok');
});

test('a cell with a syntax error gets an error reply pointing at its line; the next cell runs', async () => {
  const reply = await request('execute_request', { code: 'const ok = 1;\nlet broken = ;', silent: false, store_history: true, user_expressions: {}, allow_stdin: false });
  assert.equal(reply.content.status, 'error');
  assert.equal(reply.content.ename, 'SyntaxError');
  assert.match((reply.content.traceback as string[]).join('\n'), /In \[\d+\]:2:\d+/);
  const next = await request('execute_request', { code: '2 + 2', silent: false, store_history: true, user_expressions: {}, allow_stdin: false });
  assert.equal(next.content.status, 'ok');
});

function forRequest(msgId: string, type: string): JupyterMessage[] {
  return iopubMessages.filter((m) => m.header.msg_type === type && (m.parent_header as { msg_id?: string }).msg_id === msgId);
}

test('silent runs show no input or result and keep execution_count; store_history: false keeps it too', async () => {
  const before = await request('execute_request', { code: '10', silent: false, store_history: true, user_expressions: {}, allow_stdin: false });
  const count = before.content.execution_count as number;
  const silent = factory.make('execute_request', { code: 'console.log("quiet but printed"); 11', silent: true, store_history: true, user_expressions: {}, allow_stdin: false });
  await shell.send(encode(silent, signer));
  const silentReply = await receiveReplyTo(silent.header.msg_id);
  assert.equal(silentReply.content.status, 'ok');
  assert.equal(silentReply.content.execution_count, count);
  await waitFor('idle', () => forRequest(silent.header.msg_id, 'status').some((m) => m.content.execution_state === 'idle'));
  assert.equal(forRequest(silent.header.msg_id, 'execute_input').length, 0);
  assert.equal(forRequest(silent.header.msg_id, 'execute_result').length, 0);
  assert.equal(forRequest(silent.header.msg_id, 'stream').length, 1);
  const unstored = await request('execute_request', { code: '12', silent: false, store_history: false, user_expressions: {}, allow_stdin: false });
  assert.equal(unstored.content.execution_count, count);
  const next = await request('execute_request', { code: '13', silent: false, store_history: true, user_expressions: {}, allow_stdin: false });
  assert.equal(next.content.execution_count, count + 1);
});

test('user_expressions are evaluated after the cell, quietly, each with its own status', async () => {
  const message = factory.make('execute_request', {
    code: 'const base = 20;',
    silent: false,
    store_history: true,
    user_expressions: { doubled: 'base * 2', broken: 'missingName + 1' },
    allow_stdin: false,
  });
  await shell.send(encode(message, signer));
  const reply = await receiveReplyTo(message.header.msg_id);
  const expressions = reply.content.user_expressions as Record<string, { status: string; data?: Record<string, string>; ename?: string }>;
  assert.equal(expressions.doubled.status, 'ok');
  assert.equal(expressions.doubled.data?.['text/plain'], '40');
  assert.equal(expressions.broken.status, 'error');
  assert.equal(expressions.broken.ename, 'ReferenceError');
  await waitFor('idle', () => forRequest(message.header.msg_id, 'status').some((m) => m.content.execution_state === 'idle'));
  assert.equal(forRequest(message.header.msg_id, 'execute_result').length, 0, 'user expressions must not show results');
  assert.equal(forRequest(message.header.msg_id, 'error').length, 0, 'a failing user expression is not a cell error');
});

test('stop_on_error: requests queued behind a failing cell are aborted', async () => {
  const failing = executeRequest('await new Promise((resolve) => setTimeout(resolve, 300)); throw new Error("first fails")');
  const queued = executeRequest("(globalThis as { afterFailure?: boolean }).afterFailure = true");
  await shell.send(framesOf(failing));
  await shell.send(framesOf(queued));
  const failed = await receiveReplyTo(failing.header.msg_id);
  assert.equal(failed.content.status, 'error');
  const aborted = await receiveReplyTo(queued.header.msg_id);
  assert.equal(aborted.content.status, 'aborted');
  const check = await request('execute_request', { code: 'typeof (globalThis as { afterFailure?: boolean }).afterFailure', silent: false, store_history: true, user_expressions: {}, allow_stdin: false });
  const result = await waitFor('the result', () => forRequest(check.parent_header.msg_id as string, 'execute_result')[0]);
  assert.equal((result.content.data as Record<string, string>)['text/plain'], "'undefined'");
});

test('shutdown_request ends the process with code 0', async () => {
  const reply = await request('shutdown_request', { restart: false });
  assert.equal(reply.content.status, 'ok');
  const code = await kernel?.finished(30_000);
  assert.equal(code, 0);
});
