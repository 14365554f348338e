import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LanguageEngine, type EngineCell, type EngineDiagnostic } from '../../kernel/language-engine';

const ts = (id: string, source: string): EngineCell => ({ id, source, language: 'typescript' });
const js = (id: string, source: string): EngineCell => ({ id, source, language: 'javascript' });

function errorsOf(diagnostics: EngineDiagnostic[], cellId?: string): string[] {
  return diagnostics.filter((d) => cellId === undefined || d.cellId === cellId).map((d) => `${d.cellId}:${d.line}:${d.column} ${d.message}`);
}

/** Offset just after the first occurrence of `marker` in `source`. */
function after_(source: string, marker: string): number {
  const at = source.indexOf(marker);
  assert.ok(at >= 0, `${marker} not in ${source}`);
  return at + marker.length;
}

describe('language engine: the notebook as the kernel runs it', () => {
  let engine: LanguageEngine;

  before(() => {
    engine = new LanguageEngine();
  });

  after(() => {
    engine.dispose();
  });

  test('completes the members of client after `client.`, submit, channel and map first', () => {
    const source = 'const x = 1;\nclient.';
    engine.setCells([ts('c1', source)]);
    const completions = engine.completions('c1', source.length);
    const names = completions.entries.map((e) => e.name);
    for (const name of ['submit', 'channel', 'map', 'gather', 'scatter', 'close']) {
      assert.ok(names.includes(name), `${name} missing from ${names.join(', ')}`);
    }
    const sorted = [...completions.entries].sort((a, b) => a.sortText.localeCompare(b.sortText) || a.name.localeCompare(b.name));
    assert.deepEqual(sorted.slice(0, 3).map((e) => e.name), ['submit', 'channel', 'map']);
    assert.deepEqual([completions.start, completions.end], [source.length, source.length]);
    assert.ok(!names.includes('clientInformation'), 'a DOM global is offered: the kernel has no DOM');
  });

  test('the replaced range covers the word typed so far', () => {
    const source = 'client.sub';
    engine.setCells([ts('c1', source)]);
    const completions = engine.completions('c1', source.length);
    assert.ok(completions.entries.some((e) => e.name === 'submit'));
    assert.deepEqual([completions.start, completions.end], [7, 10]);
  });

  test('a variable of an earlier cell completes, with its type', () => {
    const later = 'myChannel.name;\nmyCh';
    engine.setCells([ts('a', "const myChannel = client.channel<number>('numbers');"), ts('b', later)]);
    const completions = engine.completions('b', later.length);
    assert.ok(completions.entries.some((e) => e.name === 'myChannel'), 'myChannel of cell a is not offered in cell b');
    const hover = engine.quickInfo('b', 2);
    assert.equal(hover?.text, 'const myChannel: Channel<number>');
  });

  test('hover shows the type and doc comment of prelude names', () => {
    const source = "const chan = client.channel('a');";
    engine.setCells([ts('a', source)]);
    const onClient = engine.quickInfo('a', after_(source, 'cli'));
    assert.equal(onClient?.text, 'const client: Client');
    assert.match(onClient?.documentation ?? '', /connected/);
    assert.equal(engine.quickInfo('a', 8)?.text, 'const chan: Channel<unknown>');
    const onChannel = engine.quickInfo('a', after_(source, '.chan'));
    assert.match(onChannel?.text ?? '', /Client\.channel<unknown>\(name: string/);
    assert.ok((onChannel?.documentation ?? '').length > 0, 'Client.channel has no doc comment');
  });

  test('declaring a name again in a later cell is not an error; the latest declaration wins', () => {
    engine.setCells([
      ts('a', "const value = 'text';\nlet count = 1;\nfunction helper() { return 1; }"),
      ts('b', 'const value = 42;\ncount = count + 1;\nfunction helper() { return 2; }'),
      ts('c', 'const doubled: number = value * 2;\nhelper();'),
    ]);
    assert.deepEqual(errorsOf(engine.diagnostics()), []);
  });

  test('assigning a const of an earlier cell is reported as a constant, in the assigning cell', () => {
    engine.setCells([ts('a', 'const fixed = 1;'), ts('b', 'fixed = 2;')]);
    assert.deepEqual(errorsOf(engine.diagnostics()), ["b:0:0 Cannot assign to 'fixed' because it is a constant (declared in an earlier cell)."]);
  });

  test('await at top level is not an error, and its value is typed', () => {
    engine.setCells([ts('a', 'const f = client.submit((x: number) => x * 2, 21);\nconst r = await f.result();\nconst n: number = r + 1;\nawait sleep(10);')]);
    assert.deepEqual(errorsOf(engine.diagnostics()), []);
  });

  test('a type error in cell 3 is reported at cell 3, at its own line and column', () => {
    engine.setCells([ts('one', 'const a = 1;'), ts('two', 'const b = a + 1;'), ts('three', "const ok = b;\n\n  const n: number = 'x';")]);
    const diagnostics = engine.diagnostics();
    assert.equal(diagnostics.length, 1, JSON.stringify(diagnostics));
    const [d] = diagnostics;
    assert.equal(d.cellId, 'three');
    assert.deepEqual([d.line, d.column, d.endLine, d.endColumn], [2, 8, 2, 9]);
    assert.equal(d.code, 2322);
    assert.equal(d.category, 'error');
    assert.equal(d.kind, 'types');
    assert.match(d.message, /Type 'string' is not assignable to type 'number'/);
    assert.deepEqual(engine.diagnostics(['one', 'two']), []);
  });

  test('a misspelt client method is an error that suggests the right one', () => {
    engine.setCells([ts('a', "client.chanel('x');")]);
    assert.deepEqual(errorsOf(engine.diagnostics()), ["a:0:7 Property 'chanel' does not exist on type 'Client'. Did you mean 'channel'?"]);
  });

  test('edits invalidate what they should: a later cell sees the new declaration, unchanged cells keep theirs', () => {
    engine.setCells([ts('a', 'const v = 1;'), ts('b', 'const w: number = v;')]);
    assert.deepEqual(errorsOf(engine.diagnostics()), []);
    engine.setCells([ts('a', "const v = 'now a string';"), ts('b', 'const w: number = v;')]);
    assert.deepEqual(errorsOf(engine.diagnostics()), ["b:0:6 Type 'string' is not assignable to type 'number'."]);
    // Removing the declaring cell leaves the name undeclared.
    engine.setCells([ts('b', 'const w: number = v;')]);
    assert.deepEqual(errorsOf(engine.diagnostics()), ["b:0:18 Cannot find name 'v'."]);
    // Moving a cell above the one declaring what it uses.
    engine.setCells([ts('b', 'const w: number = v;'), ts('a', 'const v = 1;')]);
    assert.deepEqual(errorsOf(engine.diagnostics()), ["b:0:18 Cannot find name 'v'."]);
    engine.setCells([ts('a', 'const v = 1;'), ts('b', 'const w: number = v;')]);
    assert.deepEqual(errorsOf(engine.diagnostics()), []);
    const before = engine.stats().projectVersion;
    engine.setCells([ts('a', 'const v = 1;'), ts('b', 'const w: number = v;')]);
    assert.equal(engine.stats().projectVersion, before, 'setCells with nothing changed made a new program');
  });

  test('types and interfaces of an earlier cell are usable later', () => {
    engine.setCells([ts('a', 'interface Point { x: number; y: number }\ntype Pair = [Point, Point];'), ts('b', "const p: Point = { x: 1, y: 'no' };\nconst q: Pair = [p, p];")]);
    assert.deepEqual(errorsOf(engine.diagnostics()), ["b:0:25 Type 'string' is not assignable to type 'number'."]);
  });

  test('JavaScript cells are checked only with // @ts-check', () => {
    engine.setCells([js('plain', 'const s = 1;\ns.nothing;'), js('checked', '// @ts-check\nconst t = 1;\nt.nothing;')]);
    assert.deepEqual(errorsOf(engine.diagnostics()), ["checked:2:2 Property 'nothing' does not exist on type '1'."]);
  });

  test('a syntax error that runs into the end of the cell is reported at the end of the cell, once', () => {
    const source = 'function open() {\n  return 1;';
    engine.setCells([ts('a', source)]);
    const diagnostics = engine.diagnostics();
    assert.equal(diagnostics.length, 1, JSON.stringify(diagnostics));
    assert.equal(diagnostics[0].start, source.length);
    assert.equal(diagnostics[0].message, "'}' expected.");
    assert.equal(diagnostics[0].kind, 'syntax');
  });

  test('a submitted function using what tasks see in scope type-checks', () => {
    engine.setCells([
      ts('a', "const chan = client.channel<number>('nums');\nconst f = client.submit(async (n: number) => {\n  await sleep(1);\n  const c = localClient().channel<number>('nums');\n  c.append(n);\n  return n * 2;\n}, 3);"),
      ts('b', 'const x: number = (await f.result()) * 2;\nfor await (const [a, b] of zip(chan, chan)) { const s: number = a + b; }'),
    ]);
    assert.deepEqual(errorsOf(engine.diagnostics()), []);
  });

  test('imports of packages resolve from the notebook folder', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sf-engine-'));
    try {
      fs.mkdirSync(path.join(dir, 'node_modules', 'tiny'), { recursive: true });
      fs.writeFileSync(path.join(dir, 'node_modules', 'tiny', 'package.json'), JSON.stringify({ name: 'tiny', types: 'index.d.ts' }));
      fs.writeFileSync(path.join(dir, 'node_modules', 'tiny', 'index.d.ts'), 'export declare function triple(n: number): number;\n');
      const local = new LanguageEngine({ notebookDir: dir });
      try {
        local.setCells([ts('a', "import { triple } from 'tiny';\nimport * as fs from 'node:fs';"), ts('b', "const t: string = triple(2);\nfs.existsSync('.');")]);
        assert.deepEqual(errorsOf(local.diagnostics()), ["b:0:6 Type 'number' is not assignable to type 'string'."]);
      } finally {
        local.dispose();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('an unknown cell id is a clear error', () => {
    engine.setCells([ts('a', '1')]);
    assert.throws(() => engine.completions('nope', 0), /no cell with id 'nope'/);
  });
});
