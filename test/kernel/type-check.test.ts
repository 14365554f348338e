import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Kernel, type CellRun, type KernelOutput } from '../../kernel/kernel';
import { main, parseRunArguments } from '../../cli/run';

function streamText(run: CellRun, name: 'stdout' | 'stderr'): string {
  return run.outputs
    .filter((o): o is Extract<KernelOutput, { type: 'stream' }> => o.type === 'stream' && o.name === name)
    .map((o) => o.text)
    .join('');
}

function resultText(run: CellRun): string | undefined {
  const result = run.outputs.find((o) => o.type === 'display' && o.result);
  return result && result.type === 'display' ? String(result.data['text/plain']) : undefined;
}

describe('kernel: type check before a cell runs', () => {
  let kernel: Kernel;

  before(async () => {
    kernel = await Kernel.start({ runtimeModule: null });
  });

  after(async () => {
    await kernel.dispose();
  });

  test('warn (the default): the cell runs and its type errors come first in its output, at cell lines', async () => {
    const run = await kernel.execute("const ok = 1;\nconst n: number = 'x';\nn", { label: 'Cell 3', cellId: 'w1' });
    assert.equal(run.status, 'ok');
    assert.equal(resultText(run), "'x'");
    const first = run.outputs[0];
    assert.equal(first.type, 'stream');
    assert.equal(first.type === 'stream' && first.name, 'stderr');
    assert.match(
      first.type === 'stream' ? first.text : '',
      /^The cell has a type error; it runs anyway \(type check: warn\):\n {4}at Cell 3:2:7 Type 'string' is not assignable to type 'number'\. \(TS2322\)\n$/,
    );
  });

  test('a clean cell has no type output, and sees the declarations of cells that ran before', async () => {
    await kernel.execute('const base = 40;', { cellId: 'h1' });
    const run = await kernel.execute('const total: number = base + 2;\ntotal', { cellId: 'h2' });
    assert.equal(run.status, 'ok');
    assert.equal(streamText(run, 'stderr'), '');
    assert.equal(resultText(run), '42');
  });

  test('block: a cell with a type error is refused, its line named, and nothing of it runs', async () => {
    const run = await kernel.execute("(globalThis as { sideEffect?: string }).sideEffect = 'ran';\nconst m: number = 'no';", { typeCheck: 'block', label: 'Cell 7', cellId: 'b1' });
    assert.equal(run.status, 'error');
    assert.equal(run.error?.ename, 'TypeError');
    assert.match(run.error?.evalue ?? '', /^the cell was not run: it has a type error \(type check: block\)\. Type 'string' is not assignable to type 'number'\.$/);
    assert.deepEqual(run.error?.location, { cell: 'Cell 7', line: 2, column: 7 });
    assert.ok(run.error?.traceback.some((line) => line === "    at Cell 7:2:7 Type 'string' is not assignable to type 'number'. (TS2322)"));
    const check = await kernel.execute('(globalThis as { sideEffect?: string }).sideEffect ?? "nothing ran"', { cellId: 'b2' });
    assert.equal(resultText(check), "'nothing ran'");
    // A refused cell declares nothing for later checks either.
    const later = await kernel.execute('m', { typeCheck: 'block', cellId: 'b3' });
    assert.equal(later.status, 'error');
    assert.match(later.error?.evalue ?? '', /Cannot find name 'm'/);
  });

  test('off: no check at all', async () => {
    const run = await kernel.execute("const q: number = 'fine at run time';\nq", { typeCheck: 'off', cellId: 'o1' });
    assert.equal(run.status, 'ok');
    assert.equal(streamText(run, 'stderr'), '');
    assert.equal(resultText(run), "'fine at run time'");
  });

  test('a cell run again replaces its earlier run in what later cells see', async () => {
    await kernel.execute("const shape = 'text';", { cellId: 'r1' });
    await kernel.execute('const shape = 3;', { cellId: 'r1' });
    const run = await kernel.execute('const doubled: number = shape * 2;', { typeCheck: 'block', cellId: 'r2' });
    assert.equal(run.status, 'ok', JSON.stringify(run.error));
  });

  test('after a restart, names of cells that ran before are unknown again', async () => {
    await kernel.execute('const gone = 1;', { cellId: 's1' });
    await kernel.restart();
    const run = await kernel.execute('gone', { typeCheck: 'block', cellId: 's2' });
    assert.equal(run.status, 'error');
    assert.match(run.error?.evalue ?? '', /Cannot find name 'gone'/);
  });
});

test('without the declarations, cells run unchecked and the first one says why, once', async () => {
  const kernel = await Kernel.start({ runtimeModule: null, typesDir: path.join(os.tmpdir(), 'sf-no-types-here') });
  try {
    const first = await kernel.execute("const s: number = 'x';\ns", { cellId: 'n1' });
    assert.equal(first.status, 'ok');
    assert.match(streamText(first, 'stderr'), /^Cells are not type-checked: the notebook prelude .*notebook-prelude\.d\.ts is missing: run `npm run build`/);
    const second = await kernel.execute('s', { cellId: 'n2' });
    assert.equal(second.status, 'ok');
    assert.equal(streamText(second, 'stderr'), '');
  } finally {
    await kernel.dispose();
  }
});

describe('shared-futures run --type-check', () => {
  let dir: string;
  let file: string;

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sf-typecheck-'));
    file = path.join(dir, 'typed.sfnb');
    const cells = ['const label = "x";', "const n: number = label;\nconsole.log('ran', n);"];
    const notebook = {
      cells: cells.map((source, i) => ({ cell_type: 'code', execution_count: null, id: `c${i}`, metadata: {}, outputs: [], source })),
      metadata: {},
      nbformat: 4,
      nbformat_minor: 5,
    };
    fs.writeFileSync(file, JSON.stringify(notebook));
  });

  after(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const capture = () => {
    const out: string[] = [];
    const err: string[] = [];
    return { io: { stdout: (t: string) => out.push(t), stderr: (t: string) => err.push(t) }, out, err };
  };

  test('parses warn, block and off, and refuses anything else in one line', () => {
    for (const mode of ['warn', 'block', 'off'] as const) {
      assert.equal(parseRunArguments(['x.sfnb', '--type-check', mode]).typeCheck, mode);
    }
    assert.throws(() => parseRunArguments(['x.sfnb', '--type-check=strict']), /--type-check takes warn, block or off, got 'strict'/);
  });

  test('warn is the default: the cell runs, the error is printed first with its cell line', async () => {
    const { io, out, err } = capture();
    assert.equal(await main(['run', file], io), 0);
    assert.match(err.join(''), /type check: warn\):\n {4}at Cell 2:1:7 Type 'string' is not assignable to type 'number'\. \(TS2322\)/);
    assert.match(out.join(''), /ran x/);
  });

  test('block refuses the cell and exits 1; off runs it silently', async () => {
    const blocked = capture();
    assert.equal(await main(['run', file, '--type-check', 'block'], blocked.io), 1);
    assert.match(blocked.err.join(''), /cell 2 failed: TypeError: the cell was not run: it has a type error \(type check: block\)/);
    assert.doesNotMatch(blocked.out.join(''), /ran x/);
    const off = capture();
    assert.equal(await main(['run', file, '--type-check', 'off'], off.io), 0);
    assert.doesNotMatch(off.err.join(''), /type/);
    assert.match(off.out.join(''), /ran x/);
  });
});
