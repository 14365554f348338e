import { test } from 'node:test';
import assert from 'node:assert/strict';
import { emptyNotebook, parseNotebook, serializeNotebook, SfnbFormatError } from '../../kernel/serializer';

const jupyterText = `{
 "cells": [
  {
   "cell_type": "markdown",
   "id": "intro",
   "metadata": {},
   "source": [
    "# Title\\n",
    "Some text with é and \\u00e9"
   ]
  },
  {
   "cell_type": "code",
   "execution_count": 3,
   "id": "c1",
   "metadata": {
    "collapsed": true,
    "tags": ["keep-me"]
   },
   "outputs": [
    {
     "name": "stdout",
     "output_type": "stream",
     "text": ["hello\\n"]
    },
    {
     "output_type": "future_output_kind",
     "payload": {"x": 1}
    }
   ],
   "source": [
    "const x = 1;\\n",
    "x + 1"
   ]
  }
 ],
 "metadata": {
  "kernelspec": {"display_name": "TS", "language": "typescript", "name": "shared-futures"},
  "unknown_tool": {"setting": [1, 2, 3]}
 },
 "nbformat": 4,
 "nbformat_minor": 5,
 "x_extra_top": true
}
`;

test('an unchanged notebook round-trips byte for byte, odd spacing and escapes included', () => {
  const notebook = parseNotebook(jupyterText);
  assert.equal(serializeNotebook(notebook), jupyterText);
});

test('parsing exposes cells, languages, outputs and execution counts', () => {
  const notebook = parseNotebook(jupyterText);
  assert.equal(notebook.cells.length, 2);
  assert.equal(notebook.cells[0].kind, 'markdown');
  assert.equal(notebook.cells[0].source, '# Title\nSome text with é and é');
  const code = notebook.cells[1];
  assert.equal(code.kind, 'code');
  assert.equal(code.language, 'typescript');
  assert.equal(code.source, 'const x = 1;\nx + 1');
  assert.equal(code.executionCount, 3);
  assert.equal(code.outputs.length, 2);
  assert.deepEqual(code.metadata.tags, ['keep-me']);
});

test('a changed notebook keeps unknown metadata, outputs and keys, in the file indent style', () => {
  const notebook = parseNotebook(jupyterText);
  notebook.cells[1].source = 'const y = 2;\ny';
  notebook.cells[1].executionCount = 4;
  const text = serializeNotebook(notebook);
  assert.notEqual(text, jupyterText);
  assert.ok(text.startsWith('{\n "cells": [\n  {\n   "cell_type"'));
  assert.ok(text.endsWith('}\n'));
  const json = JSON.parse(text);
  assert.deepEqual(json.metadata.unknown_tool, { setting: [1, 2, 3] });
  assert.equal(json.x_extra_top, true);
  assert.deepEqual(json.cells[1].outputs[1], { output_type: 'future_output_kind', payload: { x: 1 } });
  assert.deepEqual(json.cells[1].source, ['const y = 2;\n', 'y']);
  assert.equal(json.cells[1].execution_count, 4);
  assert.deepEqual(json.cells[1].metadata, { collapsed: true, tags: ['keep-me'] });
  // and the rewritten text is itself stable
  assert.equal(serializeNotebook(parseNotebook(text)), text);
});

test('a JavaScript cell in a TypeScript notebook records its language in cell metadata', () => {
  const notebook = emptyNotebook();
  notebook.cells.push(
    { kind: 'code', source: 'let a = 1', language: 'javascript', metadata: {}, outputs: [], executionCount: null, extra: {} },
    { kind: 'code', source: 'let b: number = 1', language: 'typescript', metadata: {}, outputs: [], executionCount: null, extra: {} },
  );
  const reread = parseNotebook(serializeNotebook(notebook));
  assert.equal(reread.cells[0].language, 'javascript');
  assert.equal(reread.cells[1].language, 'typescript');
  assert.deepEqual(reread.cells[1].metadata, {});
});

test('a new notebook is written in Jupyter style (indent 1, final newline, nbformat 4.5)', () => {
  const notebook = emptyNotebook();
  notebook.cells.push({ kind: 'code', source: '1 + 1\n', language: 'typescript', metadata: {}, outputs: [], executionCount: null, extra: {} });
  const text = serializeNotebook(notebook);
  assert.ok(text.startsWith('{\n "cells": [\n  {\n   "cell_type": "code",\n   "execution_count": null,'));
  const json = JSON.parse(text);
  assert.equal(json.nbformat, 4);
  assert.equal(json.nbformat_minor, 5);
  assert.deepEqual(json.cells[0].source, ['1 + 1\n']);
});

test('an empty file is an empty notebook', () => {
  const notebook = parseNotebook('  \n');
  assert.equal(notebook.cells.length, 0);
  assert.equal(notebook.nbformat, 4);
});

test('a two-space, string-source file keeps its style when changed', () => {
  const text = JSON.stringify(
    { nbformat: 4, nbformat_minor: 4, metadata: {}, cells: [{ cell_type: 'code', source: 'a\nb', metadata: {}, outputs: [], execution_count: null }] },
    null,
    2,
  );
  const notebook = parseNotebook(text);
  assert.equal(serializeNotebook(notebook), text);
  notebook.cells[0].source = 'c';
  const written = serializeNotebook(notebook);
  assert.ok(written.startsWith('{\n  "nbformat": 4,'));
  assert.ok(!written.endsWith('\n'));
  assert.equal(JSON.parse(written).cells[0].source, 'c');
});

const badFiles: [string, string, RegExp][] = [
  ['truncated JSON', '{"cells": [', /not valid JSON.*line 1, column/],
  ['a JSON array', '[]', /expected a JSON object at the top level, found an array/],
  ['nbformat 3', '{"nbformat": 3, "cells": []}', /nbformat 3 is not supported: expected 4/],
  ['no nbformat', '{"cells": []}', /missing 'nbformat'/],
  ['cells not an array', '{"nbformat": 4, "nbformat_minor": 5, "cells": {}}', /'cells' must be an array, found a object/],
  ['bad cell type', '{"nbformat": 4, "cells": [{"cell_type": "code", "source": ""}, {"cell_type": "python"}]}', /cell 2: 'cell_type' must be/],
  ['bad source', '{"nbformat": 4, "cells": [{"cell_type": "code", "source": [1, 2]}]}', /cell 1: 'source' must be a string or an array of strings/],
  ['bad output', '{"nbformat": 4, "cells": [{"cell_type": "code", "source": "", "outputs": [{"text": "x"}]}]}', /cell 1, output 1: expected an object with an 'output_type'/],
  ['bad execution count', '{"nbformat": 4, "cells": [{"cell_type": "code", "source": "", "execution_count": "3"}]}', /'execution_count' must be an integer or null/],
];

for (const [what, text, message] of badFiles) {
  test(`an invalid file (${what}) is refused with SfnbFormatError naming the problem`, () => {
    assert.throws(
      () => parseNotebook(text),
      (err: unknown) => err instanceof SfnbFormatError && err.code === 'ERR_SFNB_FORMAT' && message.test(err.message),
    );
  });
}
