import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { runNotebook } from '../../kernel/runner';
import type { NotebookOutput } from '../../kernel/serializer';

const examples = path.join(__dirname, '..', '..', '..', 'examples');

/** text/plain of a cell's result, joined. */
function resultOf(outputs: NotebookOutput[]): string | undefined {
  const result = outputs.find((o) => o.output_type === 'execute_result') as { data: Record<string, unknown> } | undefined;
  const text = result?.data['text/plain'];
  return Array.isArray(text) ? text.join('') : (text as string | undefined);
}

function streamOf(outputs: NotebookOutput[]): string {
  return outputs
    .filter((o) => o.output_type === 'stream')
    .map((o) => (o as unknown as { text: string | string[] }).text)
    .map((text) => (Array.isArray(text) ? text.join('') : text))
    .join('');
}

async function run(name: string) {
  const result = await runNotebook(path.join(examples, name), { threads: 2, timeoutSec: 60 });
  assert.equal(result.ok, true, `${name} failed: ${JSON.stringify(result.error)}`);
  return result.notebook.cells;
}

test('examples/channels.sfnb: snapshot, a second client iterates, flush and stop', async () => {
  const cells = await run('channels.sfnb');
  assert.equal(resultOf(cells[3].outputs), '[ 1, 4, 9, 16 ]');
  assert.match(streamOf(cells[3].outputs), /^<Channel squares: 4 items>\n/);
  assert.equal(resultOf(cells[6].outputs), '[ 1, 4, 9, 16, 25, 36 ]');
  assert.match(streamOf(cells[7].outputs), /ChannelStoppedError/);
  assert.equal(resultOf(cells[7].outputs), '[ true, 6, 6 ]');
  // the live view of the channel ends stopped, every future finished
  const view = (cells[1].outputs[0] as unknown as { data: Record<string, { channel: { stopped: boolean }; counts: { finished: number } }> }).data['application/vnd.shared-futures+json'];
  assert.equal(view.channel.stopped, true);
  assert.equal(view.counts.finished, 6);
});

test('examples/pipeline.sfnb: emit/emit/combine on a 2-thread pool', async () => {
  const cells = await run('pipeline.sfnb');
  assert.equal(resultOf(cells[3].outputs), 'true');
  assert.ok(streamOf(cells[3].outputs).split('\n').filter((line) => /^sum \d+: \d\.\d{4}$/.test(line)).length >= 10);
  assert.match(streamOf(cells[4].outputs), /^emitted \d+ \+ \d+, combined \d+, read \d+\n$/);
  assert.equal(resultOf(cells[4].outputs), 'true');
});

test('examples/workflow-designer.sfnb: JSON graphs through channel input, results on output', async () => {
  const cells = await run('workflow-designer.sfnb');
  assert.equal(resultOf(cells[3].outputs), '[ 30, 100 ]');
  assert.match(streamOf(cells[3].outputs), /g1\/b = 30\ng2\/z = 100\n/);
  assert.equal(resultOf(cells[4].outputs), '2');
});
