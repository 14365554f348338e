import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Kernel, type CellRun, type KernelOutput } from '../../kernel/kernel';
import { STATUS_MIME, type StatusView } from '../../kernel/status-view';
import { waitUntil } from '../support/wait';

/** The text/plain of the cell's result, or undefined. */
function resultText(run: CellRun): string | undefined {
  const result = run.outputs.find((o) => o.type === 'display' && o.result);
  return result && result.type === 'display' ? String(result.data['text/plain']) : undefined;
}

function streams(run: CellRun): string {
  return run.outputs
    .filter((o): o is Extract<KernelOutput, { type: 'stream' }> => o.type === 'stream')
    .map((o) => `${o.name}:${o.text}`)
    .join('');
}

/** Resolves with the first output from now on that `predicate` accepts; fails naming `what` when none comes. */
function waitForOutput(kernel: Kernel, what: string, predicate: (output: KernelOutput) => boolean): Promise<KernelOutput> {
  let found: KernelOutput | undefined;
  const subscription = kernel.onOutput((output) => {
    if (found === undefined && predicate(output)) found = output;
  });
  return waitUntil(what, () => found, 30_000).finally(() => subscription.dispose());
}

async function ok(kernel: Kernel, source: string, language?: string): Promise<CellRun> {
  const run = await kernel.execute(source, { language });
  assert.equal(run.status, 'ok', `cell failed: ${JSON.stringify(run.error)}`);
  return run;
}

describe('kernel: one persistent context', () => {
  let kernel: Kernel;
  let notebookDir: string;

  before(async () => {
    notebookDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sf-kernel-'));
    const cjs = path.join(notebookDir, 'node_modules', 'cjs-pkg');
    fs.mkdirSync(cjs, { recursive: true });
    fs.writeFileSync(path.join(cjs, 'index.js'), 'module.exports = { greet: (n) => `hello ${n}`, answer: 42 };');
    const esm = path.join(notebookDir, 'node_modules', 'esm-pkg');
    fs.mkdirSync(esm, { recursive: true });
    fs.writeFileSync(path.join(esm, 'package.json'), JSON.stringify({ name: 'esm-pkg', type: 'module', exports: './index.js' }));
    fs.writeFileSync(path.join(esm, 'index.js'), 'export default "esm default"; export const named = 7;');
    kernel = await Kernel.start({ notebookDir, runtimeModule: null, interruptGraceMs: 300 });
  });

  after(async () => {
    await kernel.dispose();
    fs.rmSync(notebookDir, { recursive: true, force: true });
  });

  test('declarations of every kind are visible in later cells', async () => {
    await ok(
      kernel,
      [
        'const a: number = 1;',
        'let { b, c: [d = 4, , ...rest] } = { b: 2, c: [undefined, 0, 5, 6] };',
        'function twice(x: number): number { return 2 * x; }',
        'class Box { constructor(readonly value: number) {} }',
        'enum Color { Red, Green }',
        'interface Unused { x: number }',
      ].join('\n'),
    );
    const run = await ok(kernel, 'JSON.stringify([a, b, d, rest, twice(a), new Box(3).value, Color.Green])');
    assert.equal(resultText(run), `'[1,2,4,[5,6],2,3,1]'`);
  });

  test('a function declared later in a cell can be called earlier in it (hoisting)', async () => {
    const run = await ok(kernel, 'const early = hoisted();\nfunction hoisted() { return "up"; }\nearly');
    assert.equal(resultText(run), `'up'`);
  });

  test('re-running a cell that declares a name works and rebinds it', async () => {
    await ok(kernel, 'const again = 1; class Same {}');
    await ok(kernel, 'const again = 2; class Same { static v = 2 }');
    assert.equal(resultText(await ok(kernel, 'again + Same.v')), '4');
    // `let x;` in a re-run starts from undefined again
    await ok(kernel, 'let reset = 5;');
    assert.equal(resultText(await ok(kernel, 'let reset; typeof reset')), `'undefined'`);
  });

  test('top-level await works and the last expression is the result', async () => {
    const run = await ok(kernel, 'const v = await new Promise<number>((r) => setTimeout(() => r(41), 5));\nv + 1');
    assert.equal(resultText(run), '42');
    assert.equal(resultText(await ok(kernel, 'v')), '41');
  });

  test('no result output for a cell ending in a declaration or an undefined value', async () => {
    assert.equal(resultText(await ok(kernel, 'const quiet = 3;')), undefined);
    assert.equal(resultText(await ok(kernel, 'void 0')), undefined);
  });

  test('a thenable final value is shown, not awaited', async () => {
    const run = await ok(kernel, '({ then() { throw new Error("awaited"); }, label: "thenable" })');
    assert.match(resultText(run) ?? '', /label: 'thenable'/);
  });

  test('console and process streams come in order, as they happen, in the running cell', async () => {
    const seen: string[] = [];
    const run = await kernel.execute(
      [
        'console.log("one", 1);',
        'console.error("two");',
        'await sleep(5);',
        'console.info("three");',
        'process.stdout.write("four\\n");',
        'console.warn("five");',
        'await null;',
        'console.log({ six: [6] });',
        '"done"',
      ].join('\n'),
      { onOutput: (o) => seen.push(o.type === 'stream' ? o.text.trim() : o.type) },
    );
    assert.equal(run.status, 'ok');
    assert.deepEqual(seen, ['one 1', 'two', 'three', 'four', 'five', '{ six: [ 6 ] }', 'display']);
    assert.equal(streams(run), 'stdout:one 1\nstderr:two\nstdout:three\nstdout:four\nstderr:five\nstdout:{ six: [ 6 ] }\n');
  });

  test('output of a callback that fires after its cell finished is tagged with that cell', async () => {
    const late = waitForOutput(kernel, 'the output of the late callback', (o) => o.type === 'stream' && o.text.includes('late'));
    const first = await ok(kernel, 'setTimeout(() => console.log("late"), 30);');
    await ok(kernel, '"another cell"');
    const output = await late;
    assert.equal(output.execution, first.execution);
  });

  test('an error shows a stack mapped to the cell line and column, across cells', async () => {
    await ok(kernel, ['// helper cell', 'function fails(n: number): never {', '  const label: string = "x";', '  throw new RangeError(`bad ${n}`);', '}'].join('\n'), 'typescript');
    const run = await kernel.execute('const before: number = 1;\n  fails(before);', { label: 'Cell 9' });
    assert.equal(run.status, 'error');
    assert.equal(run.error?.ename, 'RangeError');
    assert.equal(run.error?.evalue, 'bad 1');
    const [header, top, caller] = run.error?.traceback ?? [];
    assert.equal(header, 'RangeError: bad 1');
    assert.match(top, /^ {4}at fails \(In \[\d+\]:4:9\)$/);
    assert.equal(caller, '    at Cell 9:2:3');
    assert.equal(run.error?.location?.line, 4);
    assert.equal(run.error?.location?.column, 9);
    assert.ok(!run.error?.traceback.some((line) => line.includes('kernel-worker') || line.includes(path.join('kernel', 'thread')) || line.includes('node:internal')));
  });

  test('a logged error prints the mapped stack too', async () => {
    const run = await ok(kernel, 'console.log(new Error("shown").stack)', 'javascript');
    assert.match(streams(run), /Error: shown\n {4}at In \[\d+\]:1:13/);
  });

  test('a syntax error points at the cell line and column and runs nothing', async () => {
    const run = await kernel.execute('const fine = 1;\nconst broken = ;');
    assert.equal(run.status, 'error');
    assert.equal(run.error?.ename, 'SyntaxError');
    assert.deepEqual({ line: run.error?.location?.line, column: run.error?.location?.column }, { line: 2, column: 16 });
    assert.equal(resultText(await ok(kernel, 'typeof fine')), `'undefined'`);
  });

  test('a thrown non-error value is reported', async () => {
    const run = await kernel.execute('throw { code: 7 }');
    assert.equal(run.status, 'error');
    assert.match(run.error?.evalue ?? '', /code: 7/);
  });

  test('JavaScript cells run too', async () => {
    assert.equal(resultText(await ok(kernel, 'const js = [1, 2].map((x) => x * 3); js', 'javascript')), '[ 3, 6 ]');
  });

  test('require and import resolve npm packages from the notebook folder (CommonJS and ES modules)', async () => {
    await ok(kernel, 'import pkg, { greet } from "cjs-pkg";\nimport esmDefault, { named } from "esm-pkg";\nimport * as ns from "cjs-pkg";');
    const run = await ok(kernel, 'const viaRequire = require("cjs-pkg");\nconst dyn = await import("esm-pkg");\n[greet("x"), pkg.answer, ns.answer, esmDefault, named, viaRequire.answer, dyn.named].join("|")');
    assert.equal(resultText(run), `'hello x|42|42|esm default|7|42|7'`);
  });

  test('display sends rich mime outputs', async () => {
    const run = await ok(
      kernel,
      [
        'display("<b>bold</b>", "text/html");',
        'display(Buffer.from([0x89, 0x50, 0x4e, 0x47, 1, 2]));',
        'display("<svg xmlns=\\"http://www.w3.org/2000/svg\\"/>", "image/svg+xml");',
        'display({ a: [1, 2] }, "application/json");',
        'display("plain");',
      ].join('\n'),
    );
    const shown = run.outputs.filter((o) => o.type === 'display').map((o) => (o.type === 'display' ? o.data : {}));
    assert.equal(shown.length, 5);
    assert.equal(shown[0]['text/html'], '<b>bold</b>');
    assert.equal(shown[1]['image/png'], Buffer.from([0x89, 0x50, 0x4e, 0x47, 1, 2]).toString('base64'));
    assert.match(String(shown[2]['image/svg+xml']), /^<svg/);
    assert.deepEqual(shown[3]['application/json'], { a: [1, 2] });
    assert.equal(shown[4]['text/plain'], `'plain'`);
  });

  test('a future-shaped result is a live status output, re-emitted in place as its status changes', async () => {
    await ok(
      kernel,
      [
        'class FakeFuture {',
        '  status = "pending";',
        '  listeners = new Set<(s: string) => void>();',
        '  constructor(readonly key: string) {}',
        '  onStatus(cb: (s: string) => void) { this.listeners.add(cb); return { dispose: () => this.listeners.delete(cb) }; }',
        '  set(s: string) { this.status = s; for (const cb of this.listeners) cb(s); }',
        '  toString() { return `<Future ${this.key}: ${this.status}>`; }',
        '}',
        '// The brand every runtime Future carries: what the kernel checks.',
        'Object.defineProperty(FakeFuture.prototype, Symbol.for("shared-futures.future"), { value: true });',
        'const futs = [new FakeFuture("inc-1"), new FakeFuture("inc-2")];',
      ].join('\n'),
    );
    const run = await ok(kernel, 'futs');
    const first = run.outputs.find((o) => o.type === 'display');
    assert.ok(first && first.type === 'display' && first.result);
    const view = first.data[STATUS_MIME] as StatusView;
    assert.equal(view.kind, 'futures');
    assert.deepEqual(view.items, [
      { key: 'inc-1', status: 'pending' },
      { key: 'inc-2', status: 'pending' },
    ]);
    assert.equal(first.data['text/plain'], '2 futures: 2 pending');

    const finalUpdate = waitForOutput(
      kernel,
      'the final update of the futures view',
      (o) => o.type === 'display' && o.update && o.outputId === first.outputId && (o.data[STATUS_MIME] as StatusView).done,
    );
    await ok(kernel, 'futs[0].set("finished"); futs[1].set("error");');
    const update = await finalUpdate;
    assert.equal(update.type, 'display');
    const updated = (update as Extract<KernelOutput, { type: 'display' }>).data[STATUS_MIME] as StatusView;
    assert.equal(updated.counts.finished, 1);
    assert.equal(updated.counts.error, 1);
    assert.equal(update.execution, run.execution);
  });

  test('a channel-shaped value renders name, counts and items, and follows appends until stopped', async () => {
    const run = await ok(
      kernel,
      [
        'const chan = { name: "numbers", count: 1, stopped: false, futures: [futs[0], 10] as unknown[],',
        '  get length() { return this.futures.length; }, toString() { return `<Channel ${this.name}: ${this.length} items>`; } };',
        'display(chan);',
      ].join('\n'),
    );
    const first = run.outputs.find((o) => o.type === 'display');
    assert.ok(first && first.type === 'display');
    const view = first.data[STATUS_MIME] as StatusView;
    assert.equal(view.kind, 'channel');
    assert.deepEqual(view.channel, { name: 'numbers', count: 1, length: 2, stopped: false });
    assert.deepEqual(view.items, [{ key: 'inc-1', status: 'finished' }, { value: '10' }]);
    const stoppedUpdate = waitForOutput(kernel, 'the update of the stopped channel', (o) => o.type === 'display' && o.outputId === first.outputId && o.update && (o.data[STATUS_MIME] as StatusView).done);
    await ok(kernel, 'chan.futures.push(11); chan.count = 3; chan.stopped = true;');
    const update = (await stoppedUpdate) as Extract<KernelOutput, { type: 'display' }>;
    const later = update.data[STATUS_MIME] as StatusView;
    assert.deepEqual(later.channel, { name: 'numbers', count: 3, length: 3, stopped: true });
    assert.equal(later.items.length, 3);
  });

  test('an uncaught error in a callback is reported on stderr and does not kill the kernel', async () => {
    const reported = waitForOutput(kernel, 'the error of the timer on stderr', (o) => o.type === 'stream' && o.name === 'stderr' && o.text.includes('from a timer'));
    await ok(kernel, 'setTimeout(() => { throw new Error("from a timer"); }, 1);');
    await reported;
    assert.equal(resultText(await ok(kernel, '1 + 1')), '2');
  });
});

describe('kernel: interrupt and restart', () => {
  let kernel: Kernel;

  before(async () => {
    kernel = await Kernel.start({ runtimeModule: null, interruptGraceMs: 300 });
  });

  after(async () => {
    await kernel.dispose();
  });

  test('interrupting a cell that awaits stops it at once and keeps the state', async () => {
    await ok(kernel, 'const kept = "still here";');
    const running = kernel.execute('console.log("waiting"); await new Promise(() => {});');
    await waitForOutput(kernel, '"waiting" printed', (o) => o.type === 'stream' && o.text.includes('waiting'));
    await kernel.interrupt();
    const run = await running;
    assert.equal(run.status, 'interrupted');
    assert.equal(run.error?.ename, 'Interrupted');
    assert.match(run.error?.evalue ?? '', /state is kept/);
    assert.equal(resultText(await ok(kernel, 'kept')), `'still here'`);
  });

  test('interrupt aborts the cells queued behind the running one', async () => {
    const started = waitForOutput(kernel, '"blocking" printed', (o) => o.type === 'stream' && o.text.includes('blocking'));
    const running = kernel.execute('console.log("blocking"); await new Promise(() => {})');
    const queued = kernel.execute('"never"');
    await started;
    await kernel.interrupt();
    assert.equal((await running).status, 'interrupted');
    assert.equal((await queued).status, 'aborted');
  });

  test('a busy loop is ended by restarting the worker, and the output says state was lost', async () => {
    await ok(kernel, 'const lost = 1;');
    const running = kernel.execute('console.log("spinning"); while (true) {}');
    await waitForOutput(kernel, '"spinning" printed', (o) => o.type === 'stream' && o.text.includes('spinning'));
    await kernel.interrupt();
    const run = await running;
    assert.equal(run.status, 'interrupted');
    assert.equal(run.error?.ename, 'KernelRestarted');
    assert.match(run.error?.evalue ?? '', /all variables and imports were lost/);
    const after = await ok(kernel, 'typeof lost');
    assert.equal(resultText(after), `'undefined'`);
    assert.equal(after.execution, 1);
  });

  test('restart clears state and the execution count', async () => {
    await ok(kernel, 'const before = 1;');
    await kernel.restart();
    assert.equal(kernel.status, 'idle');
    const run = await ok(kernel, 'typeof before');
    assert.equal(resultText(run), `'undefined'`);
    assert.equal(run.execution, 1);
  });

  test('a cell that ends the worker (process.exit) fails and the kernel comes back empty', async () => {
    await ok(kernel, 'const gone = 1;');
    const run = await kernel.execute('process.exit(3)');
    assert.equal(run.status, 'error');
    assert.equal(run.error?.ename, 'KernelDied');
    assert.match(run.error?.evalue ?? '', /code 3/);
    assert.equal(resultText(await ok(kernel, 'typeof gone')), `'undefined'`);
  });
});
