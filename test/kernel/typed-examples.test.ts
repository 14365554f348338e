import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LanguageEngine, type EngineCell } from '../../kernel/language-engine';
import { parseNotebook } from '../../kernel/serializer';

const examples = path.resolve(__dirname, '..', '..', '..', 'examples');
const notebooks = fs.readdirSync(examples).filter((name) => name.endsWith('.sfnb')).sort();

let engine: LanguageEngine;
before(() => {
  engine = new LanguageEngine({ notebookDir: examples });
});
after(() => engine.dispose());

test('there are example notebooks to check', () => {
  assert.ok(notebooks.length >= 3, `found ${notebooks.join(', ')}`);
});

for (const name of notebooks) {
  test(`examples/${name} type-checks clean, as the kernel runs it`, () => {
    const notebook = parseNotebook(fs.readFileSync(path.join(examples, name), 'utf8'));
    const cells: EngineCell[] = notebook.cells
      .map((cell, index) => ({ cell, index }))
      .filter(({ cell }) => cell.kind === 'code')
      .map(({ cell, index }) => ({ id: `cell ${index + 1}`, source: cell.source, language: cell.language === 'javascript' ? 'javascript' : 'typescript' }));
    assert.ok(cells.length > 0, `${name} has no code cells`);
    engine.setCells(cells);
    const problems = engine.diagnostics().map((d) => `${d.cellId}, line ${d.line + 1}:${d.column + 1}: ${d.message}`);
    assert.deepEqual(problems, []);
  });
}
