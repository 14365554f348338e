/**
 * The example notebooks run and show what they promise, and every one can be run again against the same
 * scheduler: Run All twice in one kernel, Run All after Restart, and `shared-futures run` twice against one
 * standalone scheduler. Their channels outlive the kernel (they live on the scheduler), so each example
 * deletes its channels before making them afresh.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Kernel } from '../../kernel/kernel';
import { startLocalCluster } from '../../kernel/runtime-types';
import { CellOutputCollector } from '../../kernel/outputs';
import { parseNotebook, type Notebook, type NotebookOutput } from '../../kernel/serializer';
import { spawnCli, startScheduler, stopAll } from '../support/processes';

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

/** What each example's cells must show after a run; `when` names the run in failure messages. */
const EXPECTED: Record<string, (cells: NotebookOutput[][], when: string) => void> = {
  'channels.sfnb': (cells, when) => {
    assert.equal(resultOf(cells[3]), '[ 1, 4, 9, 16 ]', when);
    assert.match(streamOf(cells[3]), /^<Channel squares: 4 items>\n/, when);
    assert.equal(resultOf(cells[6]), '[ 1, 4, 9, 16, 25, 36 ]', when);
    assert.match(streamOf(cells[7]), /ChannelStoppedError/, when);
    assert.equal(resultOf(cells[7]), '[ true, 6, 6 ]', when);
    // the live view of the channel ends stopped, every future finished
    const view = (cells[1][0] as unknown as { data: Record<string, { channel: { stopped: boolean }; counts: { finished: number } }> }).data['application/vnd.shared-futures+json'];
    assert.equal(view.channel.stopped, true, when);
    assert.equal(view.counts.finished, 6, when);
  },
  'pipeline.sfnb': (cells, when) => {
    assert.equal(resultOf(cells[3]), 'true', when);
    assert.ok(streamOf(cells[3]).split('\n').filter((line) => /^sum \d+: \d\.\d{4}$/.test(line)).length >= 10, when);
    assert.match(streamOf(cells[4]), /^emitted \d+ \+ \d+, combined \d+, read \d+\n$/, when);
    assert.equal(resultOf(cells[4]), 'true', when);
  },
  'workflow-designer.sfnb': (cells, when) => {
    assert.equal(resultOf(cells[3]), '[ 30, 100 ]', when);
    assert.match(streamOf(cells[3]), /g1\/b = 30\ng2\/z = 100\n/, when);
    assert.equal(resultOf(cells[4]), '2', when);
  },
};

function load(name: string): Notebook {
  return parseNotebook(readFileSync(path.join(examples, name), 'utf8'));
}

/**
 * Runs every code cell of `notebook` in `kernel` in order, as Run All does; a failing cell fails the test.
 * Resolves with each cell's outputs, live outputs in their latest state.
 */
async function runAll(kernel: Kernel, notebook: Notebook, when: string): Promise<NotebookOutput[][]> {
  const byExecution = new Map<number, CellOutputCollector>();
  const listener = kernel.onOutput((output) => {
    let collector = byExecution.get(output.execution);
    if (!collector) {
      collector = new CellOutputCollector();
      byExecution.set(output.execution, collector);
    }
    collector.add(output);
  });
  try {
    const executionOf = new Map<number, number>();
    for (const [index, cell] of notebook.cells.entries()) {
      if (cell.kind !== 'code' || cell.source.trim() === '') continue;
      const run = await kernel.execute(cell.source, { language: cell.language, cellId: `cell-${index}` });
      assert.equal(run.status, 'ok', `${when}: cell ${index + 1} ended ${run.status}: ${run.error?.ename}: ${run.error?.evalue}`);
      executionOf.set(index, run.execution);
    }
    await kernel.flushLiveOutputs();
    return notebook.cells.map((_, index) => byExecution.get(executionOf.get(index) ?? -1)?.outputs ?? []);
  } finally {
    listener.dispose();
  }
}

for (const name of Object.keys(EXPECTED)) {
  test(`examples/${name}: Run All, Run All again in the same kernel, then Restart and Run All, on one scheduler`, async () => {
    const cluster = await startLocalCluster({ threads: 2 });
    let kernel: Kernel | undefined;
    try {
      kernel = await Kernel.start({ notebookDir: examples, connect: cluster.connect });
      const notebook = load(name);
      EXPECTED[name](await runAll(kernel, notebook, 'first Run All'), 'first Run All');
      EXPECTED[name](await runAll(kernel, notebook, 'second Run All'), 'second Run All');
      await kernel.restart();
      EXPECTED[name](await runAll(kernel, notebook, 'Run All after Restart'), 'Run All after Restart');
    } finally {
      await kernel?.dispose();
      await cluster.close();
    }
  });
}

test('shared-futures run: each example twice against one standalone scheduler', async () => {
  const token = 'examples-test-token';
  const scheduler = await startScheduler(['--port', '0', '--threads', '2', '--token', token]);
  const out = mkdtempSync(path.join(tmpdir(), 'sf-examples-'));
  try {
    for (const name of Object.keys(EXPECTED)) {
      for (const when of ['first run', 'second run']) {
        const executed = path.join(out, `${when}-${name}`);
        const run = spawnCli(['run', path.join(examples, name), '--scheduler', scheduler.address, '--token', token, '--out', executed, '--timeout', '60']);
        const code = await run.exited;
        assert.equal(code, 0, `${name}, ${when}: exit ${code}\n${run.output()}`);
        const notebook = parseNotebook(readFileSync(executed, 'utf8'));
        EXPECTED[name](
          notebook.cells.map((cell) => cell.outputs),
          `${name}, ${when}`,
        );
      }
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
    await stopAll();
  }
});
