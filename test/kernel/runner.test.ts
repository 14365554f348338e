import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { main, parseRunArguments, UsageError } from '../../cli/run';
import { runNotebook } from '../../kernel/runner';
import { parseNotebook, SfnbFormatError } from '../../kernel/serializer';

function notebookText(sources: string[]): string {
  return `${JSON.stringify(
    {
      cells: [
        { cell_type: 'markdown', id: 'md', metadata: {}, source: ['# A notebook\n'] },
        ...sources.map((source, i) => ({ cell_type: 'code', execution_count: null, id: `c${i}`, metadata: {}, outputs: [], source })),
      ],
      metadata: { custom: { kept: true } },
      nbformat: 4,
      nbformat_minor: 5,
    },
    null,
    1,
  )}\n`;
}

function capture(): { io: { stdout: (t: string) => void; stderr: (t: string) => void }; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { stdout: (t) => out.push(t), stderr: (t) => err.push(t) }, out, err };
}

describe('headless runner', () => {
  let dir: string;

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sf-runner-'));
  });

  after(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('runs code cells in order, reports outputs as they come and writes them into --out', async () => {
    const file = path.join(dir, 'ok.sfnb');
    fs.writeFileSync(file, notebookText(['const a = 20;\nconsole.log("first");', 'console.error("second");\na + 22', '']));
    const out = path.join(dir, 'ok.out.sfnb');
    const seen: string[] = [];
    const result = await runNotebook(file, {
      connect: null,
      runtimeModule: null,
      out,
      onOutput: (output, cell) => seen.push(`${cell}:${output.type === 'stream' ? output.text.trim() : output.type}`),
    });
    assert.equal(result.ok, true);
    assert.equal(result.executed, 2);
    assert.deepEqual(seen, ['1:first', '2:second', '2:display']);
    const written = parseNotebook(fs.readFileSync(out, 'utf8'));
    assert.deepEqual(written.metadata.custom, { kept: true });
    assert.deepEqual(written.cells[1].outputs, [{ output_type: 'stream', name: 'stdout', text: ['first\n'] }]);
    assert.deepEqual(written.cells[2].outputs, [
      { output_type: 'stream', name: 'stderr', text: ['second\n'] },
      { output_type: 'execute_result', data: { 'text/plain': ['42'] }, metadata: {}, execution_count: 2 },
    ]);
    assert.equal(written.cells[1].executionCount, 1);
    assert.equal(written.cells[3].executionCount, null);
    // the input notebook is left as it was
    assert.equal(fs.readFileSync(file, 'utf8'), notebookText(['const a = 20;\nconsole.log("first");', 'console.error("second");\na + 22', '']));
  });

  test('stops at the first failing cell and reports its error', async () => {
    const file = path.join(dir, 'fail.sfnb');
    fs.writeFileSync(file, notebookText(['1', 'null.boom', 'console.log("never")']));
    const result = await runNotebook(file, { connect: null, runtimeModule: null });
    assert.equal(result.ok, false);
    assert.equal(result.failedCell, 2);
    assert.equal(result.error?.ename, 'TypeError');
    assert.equal(result.executed, 2);
    assert.equal(result.notebook.cells[3].outputs.length, 0);
  });

  test('--timeout interrupts a cell that runs too long and fails it', async () => {
    const file = path.join(dir, 'slow.sfnb');
    fs.writeFileSync(file, notebookText(['await new Promise(() => {})']));
    const result = await runNotebook(file, { connect: null, runtimeModule: null, timeoutSec: 0.2 });
    assert.equal(result.ok, false);
    assert.equal(result.error?.ename, 'TimeoutError');
    assert.ok(result.notebook.cells[1].outputs.some((o) => o.output_type === 'error' && o.ename === 'TimeoutError'));
  });

  test('an invalid notebook is refused and --out is not written', async () => {
    const file = path.join(dir, 'bad.sfnb');
    fs.writeFileSync(file, '{"nbformat": 4, "cells": "nope"}');
    const out = path.join(dir, 'bad.out.sfnb');
    await assert.rejects(runNotebook(file, { connect: null, runtimeModule: null, out }), SfnbFormatError);
    assert.equal(fs.existsSync(out), false);
    const { io, err } = capture();
    assert.equal(await main(['run', file, '--out', out], io), 2);
    assert.match(err.join(''), /is not a valid \.sfnb notebook: 'cells' must be an array/);
    assert.equal(fs.readFileSync(file, 'utf8'), '{"nbformat": 4, "cells": "nope"}');
  });

  test('the run command prints outputs, exits 0 on success and 1 on a failing cell', async () => {
    const good = path.join(dir, 'cli-ok.sfnb');
    fs.writeFileSync(good, notebookText(['console.log("hello from cell")', '6 * 7']));
    const okRun = capture();
    assert.equal(await main([good], okRun.io), 0);
    assert.match(okRun.out.join(''), /hello from cell\n[\s\S]*42\n[\s\S]*2 cells ran/);

    const bad = path.join(dir, 'cli-bad.sfnb');
    fs.writeFileSync(bad, notebookText(['function f() {\n  throw new Error("nope");\n}\nf()']));
    const badRun = capture();
    assert.equal(await main(['run', bad], badRun.io), 1);
    assert.match(badRun.err.join(''), /Error: nope\n {4}at f \(Cell 2:2:9\)/);
    assert.match(badRun.err.join(''), /cell 2 failed: Error: nope/);
  });
});

describe('run command arguments', () => {
  test('every option parses', () => {
    assert.deepEqual(parseRunArguments(['run', 'nb.sfnb', '--scheduler', 'ws://h:8786', '--token=T', '--out', 'x.sfnb', '--timeout', '2.5']), {
      notebook: 'nb.sfnb',
      scheduler: 'ws://h:8786',
      token: 'T',
      out: 'x.sfnb',
      timeoutSec: 2.5,
    });
    assert.deepEqual(parseRunArguments(['nb.sfnb', '--threads', '3']), { notebook: 'nb.sfnb', threads: 3 });
  });

  const bad: [string[], RegExp][] = [
    [[], /run needs NOTEBOOK\.sfnb/],
    [['a.sfnb', 'b.sfnb'], /got one more: 'b\.sfnb'/],
    [['a.sfnb', '--scheduler', 'http://x'], /ws:\/\/ or wss:\/\//],
    [['a.sfnb', '--timeout', '-1'], /--timeout takes a positive number/],
    [['a.sfnb', '--threads', '1.5'], /--threads takes a whole number from 1 to 1024, got '1\.5'/],
    [['a.sfnb', '--out'], /--out needs a value/],
    [['a.sfnb', '--what'], /unknown option --what/],
    [['a.sfnb', '--token', 't'], /give --scheduler too/],
    [['a.sfnb', '--scheduler', 'ws://h:1', '--threads', '2'], /--threads sizes the local scheduler.*drop one of the two/],
  ];
  for (const [argv, message] of bad) {
    test(`refuses ${JSON.stringify(argv)}`, () => {
      assert.throws(() => parseRunArguments(argv), (err: unknown) => err instanceof UsageError && message.test(err.message));
    });
  }

  test('a usage error exits 2 with one line that points at --help', async () => {
    const { io, err } = capture();
    assert.equal(await main(['--bogus'], io), 2);
    assert.equal(err.join(''), 'shared-futures run: unknown option --bogus (see shared-futures run --help)\n');
  });
});

describe('headless runner against a remote scheduler', () => {
  test('--scheduler ws://… with --token runs the notebook there; a wrong token fails with exit 1', async () => {
    const { LocalCluster } = await import('../../scheduler');
    const token = 'runner-test-token';
    const cluster = await LocalCluster.start({ threads: 2, listen: { port: 0, token } });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sf-remote-'));
    try {
      const file = path.join(dir, 'remote.sfnb');
      fs.writeFileSync(file, notebookText(['const f = client.submit((x: number) => x * 2, 21);', 'await f.result()']));
      const result = await runNotebook(file, { scheduler: cluster.address, token, timeoutSec: 30 });
      assert.equal(result.ok, true, JSON.stringify(result.error));
      assert.deepEqual(result.notebook.cells[2].outputs, [{ output_type: 'execute_result', data: { 'text/plain': ['42'] }, metadata: {}, execution_count: 2 }]);

      const { io, err } = capture();
      assert.equal(await main(['run', file, '--scheduler', cluster.address, '--token', 'wrong-token-here'], io), 1);
      assert.match(err.join(''), /refused the token/);
    } finally {
      await cluster.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
