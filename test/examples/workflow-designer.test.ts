/**
 * The workflow designer example as separate processes against a `shared-futures`
 * scheduler and worker: a short-lived submit script, the long-running service, and a status script.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Client } from '../../scheduler';
import { spawnCli, spawnProc, startScheduler, stopAll } from '../support/processes';

const TOKEN = `workflow-${randomUUID()}`;
const EXAMPLE = path.resolve(__dirname, '../../examples/workflow-designer');
const SOURCE = path.resolve(__dirname, '../../../examples/workflow-designer');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sf-workflow-'));

after(async () => {
  await stopAll();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const env = { ...process.env, SHARED_FUTURES_TOKEN: TOKEN };

/** Runs one of the example's scripts to its end; resolves with its output, failing on a non-zero exit. */
async function script(name: string, ...args: string[]): Promise<string> {
  const p = spawnProc(process.execPath, [path.join(EXAMPLE, `${name}.js`), ...args], { env });
  const code = await p.exited;
  assert.equal(code, 0, `${name} exited with ${String(code)}:\n${p.output()}`);
  return p.output();
}

function writeGraph(name: string, graph: unknown): string {
  const file = path.join(tmp, `${name}.json`);
  fs.writeFileSync(file, JSON.stringify(graph));
  return file;
}

test('a graph goes in through input, runs, and its statuses come out; a reference outside the allowlist is refused and nothing runs', { timeout: 90_000 }, async () => {
  const scheduler = await startScheduler(['--port', '0', '--threads', '0', '--token', TOKEN]);
  const worker = spawnCli(['worker', scheduler.address, '--threads', '2', '--token', TOKEN]);
  await worker.waitFor(/Shared Futures worker/);
  const service = spawnProc(process.execPath, [path.join(EXAMPLE, 'service.js'), scheduler.address], { env });
  await service.waitFor(/workflow service ready/);

  // The example's own graph, then one that also names a function outside the allowlist.
  const good = path.join(SOURCE, 'graph.json');
  assert.match(await script('submit', scheduler.address, good), /submitted price, quantity, subtotal, shipping, order-total/);
  const bad = writeGraph('bad', {
    'bad-step': ['functions#add', 1, 1],
    'bad-shell': ['child_process#execSync', `touch ${path.join(tmp, 'pwned')}`],
    'bad-after': ['functions#total', 'bad-step', 'bad-shell'],
  });
  await script('submit', scheduler.address, bad);
  const failing = writeGraph('failing', { 'will-fail': ['functions#fail', 'on purpose'], 'after-fail': ['functions#add', 'will-fail', 1] });
  await script('submit', scheduler.address, failing);
  // The submit scripts are gone; the service works from what the scheduler kept.
  await service.waitFor(/running will-fail, after-fail/);

  const out = await script('status', scheduler.address, '--wait', 'order-total', 'subtotal', 'quantity', 'bad-step', 'bad-shell', 'will-fail', 'after-fail', 'never-submitted');
  const lines = out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { key: string; status: string; result?: unknown; error?: string });
  const byKey = Object.fromEntries(lines.map((l) => [l.key, l]));
  assert.deepEqual(byKey['order-total'], { key: 'order-total', status: 'finished', result: 65 });
  assert.deepEqual(byKey.subtotal, { key: 'subtotal', status: 'finished', result: 60 });
  assert.deepEqual(byKey.quantity, { key: 'quantity', status: 'finished', result: 3 });
  for (const key of ['bad-step', 'bad-shell']) {
    assert.equal(byKey[key].status, 'refused', key);
    assert.match(byKey[key].error ?? '', /'child_process#execSync' not in the allowlist/);
    assert.match(byKey[key].error ?? '', /nothing was run/);
  }
  assert.equal(byKey['will-fail'].status, 'error');
  assert.match(byKey['will-fail'].error ?? '', /on purpose/);
  assert.equal(byKey['after-fail'].status, 'error', 'a step after a failed one errs too');
  assert.deepEqual(byKey['never-submitted'], { key: 'never-submitted', status: 'unknown' });
  assert.match(service.output(), /refused graph bad-step, bad-shell, bad-after/);

  // Nothing of the refused graph ever reached the scheduler as a task.
  const client = await Client.connect(scheduler.address, { token: TOKEN, reconnect: false });
  try {
    for (const key of ['bad-step', 'bad-shell', 'bad-after']) assert.deepEqual(await client.story(key), [], `${key} has no story`);
    assert.ok((await client.story('order-total')).length > 0, 'the good graph did run on the scheduler');
    const output = client.channel('output');
    await output.ready;
    assert.equal(output.data.length, 5 + 1 + 2, 'five futures, one refusal, two futures');
  } finally {
    await client.close();
  }
  assert.equal(fs.existsSync(path.join(tmp, 'pwned')), false, 'the refused command never ran');
});
