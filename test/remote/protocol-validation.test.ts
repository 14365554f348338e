/** Every transport's messages go through the one check: a malformed message gets the same answer however it came. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deserialize, serialize } from 'node:v8';
import WebSocket from 'ws';
import { Client, LocalCluster } from '../../scheduler';
import { checkFromWorkerProcess, type ToWorkerProcess } from '../../scheduler/protocol/worker-process-messages';
import { WsClientTransport } from '../../scheduler/wire/ws-client';
import { CloseCode } from '../../scheduler/wire/close-codes';
import { PROTOCOL_VERSION, type SchedulerMessage } from '../../scheduler/protocol/messages';
import { waitUntil } from '../support/wait';

/** Malformed messages, then a well-formed request (req 99) whose reply says every earlier one was handled. */
const MALFORMED: unknown[] = [
  { op: 'want', keys: 'abc' },
  { op: 'want', keys: [''] },
  { op: 'gather', req: 7, keys: 5 },
  { op: 'sub', channel: 'c', maxlen: 0 },
  { op: 'sub', channel: '', maxlen: null },
  { op: 'submit', fns: [], tasks: [{ key: 'k', fn: '', args: [] }] },
  { op: 'nope', req: 8 },
  42,
  { op: 'info', req: 99 },
];

/** The answers that are about errors: op 'error', or a failed reply (with its request id). */
function errorsOf(messages: SchedulerMessage[]): unknown[] {
  return messages
    .filter((m) => m.op === 'error' || (m.op === 'reply' && !m.ok))
    .map((m) => (m.op === 'reply' && !m.ok ? { req: m.req, error: m.error } : m.op === 'error' ? { error: m.error } : m));
}

const answered = (messages: SchedulerMessage[]) => messages.some((m) => m.op === 'reply' && m.req === 99);

test('a malformed message gets the same error answer over a MessagePort and over WebSocket', async () => {
  const cluster = await LocalCluster.start({ threads: 0, listen: { port: 0, token: 'validation-token-1' } });
  try {
    // A client on another thread of this process (as the notebook kernel's thread and localClient() in a task).
    const port = cluster.createPort();
    const overPort: SchedulerMessage[] = [];
    port.on('message', (batch: SchedulerMessage[]) => overPort.push(...batch));
    port.postMessage([{ op: 'hello', client: 'raw-port', version: PROTOCOL_VERSION }, ...MALFORMED]);
    await waitUntil('the MessagePort client answered', () => answered(overPort), 5000);
    port.close();

    // The same messages from a remote client.
    const ws = new WebSocket(cluster.address, { perMessageDeflate: false });
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const overWs: SchedulerMessage[] = [];
    ws.on('message', (data: Buffer) => overWs.push(...(deserializeBatch(data) as SchedulerMessage[])));
    ws.send(JSON.stringify({ op: 'hello', version: PROTOCOL_VERSION, role: 'client', id: 'raw-ws', token: 'validation-token-1' }));
    ws.send(Buffer.concat([Buffer.from([0]), serialize(MALFORMED)]));
    await waitUntil('the WebSocket client answered', () => answered(overWs), 5000);
    ws.close();

    const expected = errorsOf(overPort);
    assert.equal(expected.length, MALFORMED.length - 1, `one error answer per malformed message: ${JSON.stringify(expected)}`);
    assert.deepEqual(errorsOf(overWs), expected);
    // Each is a protocol error, answered as the reply to its request when it carried an id.
    for (const e of expected as { req?: number; error: { code: string; name: string } }[]) {
      assert.equal(e.error.code, 'ERR_PROTOCOL');
      assert.equal(e.error.name, 'ProtocolError');
    }
    assert.deepEqual(
      (expected as { req?: number }[]).map((e) => e.req).filter((r) => r !== undefined),
      [7, 8],
    );
  } finally {
    await cluster.close();
  }
});

/** A whole-batch frame (kind byte 0) decoded as the scheduler encodes it. */
function deserializeBatch(data: Buffer): unknown[] {
  assert.equal(data[0], 0, 'a small batch arrives whole');
  return deserialize(data.subarray(1)) as unknown[];
}

test('messages of a worker process are shape-checked: each well-formed kind passes, a malformed one says what is wrong', () => {
  const fine: unknown[] = [
    { op: 'ran', ms: 0.5, n: 3 },
    { op: 'done', outcomes: [{ key: 'a', run: 1, ok: true, inline: true, value: { x: 1 } }, { key: 'b', run: 2, ok: true, nbytes: 10_000 }, { key: 'c', run: 3, ok: false, error: { name: 'Error', message: 'no' } }] },
    { op: 'crashed', runs: [{ key: 'a', run: 1 }], reason: { name: 'Error', message: 'died' } },
    { op: 'data', req: 1, ok: true, values: [1, 'two'] },
    { op: 'data', req: 2, ok: false, error: { name: 'FutureLostError', message: 'gone' } },
    { op: 'hb' },
    { op: 'copied', ok: ['a'], failed: [{ key: 'b', why: 'no holder' }] },
    { op: 'relay', req: 3, at: { a: ['w1', 'w2'] } },
    { op: 'missing', runs: [{ key: 'a', run: 1 }], keys: ['d'], dropped: false },
  ];
  for (const m of fine) assert.equal(checkFromWorkerProcess(m), undefined, JSON.stringify(m));
  const malformed: [unknown, RegExp][] = [
    [42, /an object with a string op/],
    [{ op: 'nope' }, /unknown worker message op "nope"/],
    [{ op: 'ran', ms: 1 }, /ran needs/],
    [{ op: 'done', outcomes: 'abc' }, /done needs outcomes/],
    [{ op: 'done', outcomes: [{ key: 5, run: 1, ok: true }] }, /an outcome needs key/],
    [{ op: 'done', outcomes: [{ key: 'a', run: 1, ok: false }] }, /failed outcome of a needs error/],
    [{ op: 'done', outcomes: [{ key: 'a', run: 1, ok: true, nbytes: -1 }] }, /nbytes is a count/],
    [{ op: 'crashed', runs: [{ key: 'a' }], reason: { name: 'E', message: 'm' } }, /crashed needs/],
    [{ op: 'data', req: 1, ok: true, values: 'x' }, /data needs/],
    [{ op: 'relay', req: 1, at: { a: 'w1' } }, /relay needs/],
    [{ op: 'missing', runs: [], keys: ['a'] }, /missing needs/],
  ];
  for (const [m, why] of malformed) assert.match(checkFromWorkerProcess(m) ?? 'passed', why, JSON.stringify(m));
});

test('a worker process that sends a malformed message is cut off with one clear reason and counted lost', async () => {
  const cluster = await LocalCluster.start({ threads: 0, listen: { port: 0 } });
  const client = await Client.connect(cluster.address, { token: cluster.token, reconnect: false });
  const worker = new WsClientTransport<ToWorkerProcess, { op: string; [k: string]: unknown }>(cluster.address, 'worker', { token: cluster.token, threads: 1 });
  try {
    const closed = new Promise<Error | undefined>((resolve) => worker.onClose(resolve));
    worker.send({ op: 'hello', id: 'worker-malformed-1', peer: 'ws://127.0.0.1:9' });
    await waitUntil('the worker joined', async () => (await client.schedulerInfo()).workers.some((w) => w.id === 'worker-malformed-1'));
    worker.send({ op: 'done', outcomes: [{ key: 7, run: 1, ok: true }] });
    const reason = await closed;
    assert.equal((reason as { closeCode?: number } | undefined)?.closeCode, CloseCode.badMessage, String(reason));
    assert.match(String(reason?.message), /malformed message: done: an outcome needs key/);
    await waitUntil('the worker is gone', async () => !(await client.schedulerInfo()).workers.some((w) => w.id === 'worker-malformed-1'));
  } finally {
    worker.close();
    await client.close();
    await cluster.close();
  }
});
