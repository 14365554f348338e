import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseNotebook, serializeNotebook } from '../../kernel/serializer';
import {
  ERROR_MIME,
  fromNotebookShape,
  fromOutputShape,
  STDERR_MIME,
  STDOUT_MIME,
  toNotebookShape,
  type NotebookShape,
} from '../../extension/notebook-data';

const text = `{
  "cells": [
    { "cell_type": "markdown", "id": "m", "metadata": {}, "source": ["# Title\\n", "text"] },
    {
      "cell_type": "code", "execution_count": 4, "id": "c", "metadata": { "tags": ["x"] },
      "outputs": [
        { "output_type": "stream", "name": "stderr", "text": ["warn\\n"] },
        { "output_type": "execute_result", "execution_count": 4, "metadata": {},
          "data": { "text/plain": ["42"], "application/json": { "a": 1 }, "image/png": "iVBORw0KGgo=" } },
        { "output_type": "error", "ename": "TypeError", "evalue": "bad", "traceback": ["line 1", "line 2"] }
      ],
      "source": ["const x = 1;"]
    },
    { "cell_type": "raw", "id": "r", "metadata": {}, "source": ["raw text"] }
  ],
  "metadata": { "language_info": { "name": "typescript" }, "custom": true },
  "nbformat": 4,
  "nbformat_minor": 5
}
`;

const decode = (data: Uint8Array) => new TextDecoder().decode(data);

describe('notebook-data', () => {
  it('maps cells to VS Code kinds and languages, with execution order', () => {
    const shape = toNotebookShape(parseNotebook(text));
    assert.deepEqual(
      shape.cells.map((c) => [c.kind, c.languageId, c.value]),
      [
        ['markup', 'markdown', '# Title\ntext'],
        ['code', 'typescript', 'const x = 1;'],
        ['code', 'raw', 'raw text'],
      ],
    );
    assert.equal(shape.cells[1].executionOrder, 4);
  });

  it('turns nbformat outputs into VS Code output items', () => {
    const outputs = toNotebookShape(parseNotebook(text)).cells[1].outputs ?? [];
    assert.equal(outputs[0].items[0].mime, STDERR_MIME);
    assert.equal(decode(outputs[0].items[0].data), 'warn\n');
    const result = Object.fromEntries(outputs[1].items.map((i) => [i.mime, i.data]));
    assert.equal(decode(result['text/plain']), '42');
    assert.deepEqual(JSON.parse(decode(result['application/json'])), { a: 1 });
    assert.deepEqual([...result['image/png']], [...Buffer.from('iVBORw0KGgo=', 'base64')]);
    assert.equal(outputs[2].items[0].mime, ERROR_MIME);
    assert.deepEqual(JSON.parse(decode(outputs[2].items[0].data)), { name: 'TypeError', message: 'bad', stack: 'line 1\nline 2' });
  });

  it('writes an unchanged notebook back as the same JSON, in the style of the file', () => {
    const written = serializeNotebook(fromNotebookShape(toNotebookShape(parseNotebook(text))));
    assert.deepEqual(JSON.parse(written), JSON.parse(text));
    assert.match(written, /^\{\n {2}"cells"/, 'keeps the two-space indent of the file');
  });

  it('keeps metadata and ids of edited cells and gives new cells an id', () => {
    const shape = toNotebookShape(parseNotebook(text));
    shape.cells[1].value = 'const x = 2;';
    shape.cells.push({ kind: 'code', value: 'x', languageId: 'javascript', outputs: [] });
    const json = JSON.parse(serializeNotebook(fromNotebookShape(shape)));
    assert.equal(json.metadata.custom, true);
    assert.deepEqual(json.cells[1].metadata, { tags: ['x'] });
    assert.equal(json.cells[1].id, 'c');
    assert.deepEqual(json.cells[1].source, ['const x = 2;']);
    assert.equal(typeof json.cells[3].id, 'string');
    assert.equal(json.cells[3].metadata.vscode.languageId, 'javascript');
  });

  it('converts new outputs from the kernel into nbformat', () => {
    const enc = (s: string) => new TextEncoder().encode(s);
    assert.deepEqual(fromOutputShape({ items: [{ mime: STDOUT_MIME, data: enc('a') }, { mime: STDOUT_MIME, data: enc('b') }] }, 1), {
      output_type: 'stream',
      name: 'stdout',
      text: 'ab',
    });
    assert.deepEqual(
      fromOutputShape({ items: [{ mime: ERROR_MIME, data: enc(JSON.stringify({ name: 'E', message: 'm', stack: 's1\ns2' })) }] }, 1),
      { output_type: 'error', ename: 'E', evalue: 'm', traceback: ['s1', 's2'] },
    );
    assert.deepEqual(
      fromOutputShape(
        { items: [{ mime: 'application/vnd.shared-futures+json', data: enc('{"k":"v"}') }], metadata: { outputType: 'execute_result' } },
        7,
      ),
      { output_type: 'execute_result', data: { 'application/vnd.shared-futures+json': { k: 'v' } }, metadata: {}, execution_count: 7 },
    );
  });

  it('opens a notebook VS Code made from scratch (no nbformat metadata) as a new nbformat 4 file', () => {
    const shape: NotebookShape = { cells: [{ kind: 'code', value: 'let a = 1', languageId: 'typescript' }] };
    const json = JSON.parse(serializeNotebook(fromNotebookShape(shape)));
    assert.equal(json.nbformat, 4);
    assert.equal(json.cells[0].cell_type, 'code');
    assert.equal(json.cells[0].execution_count, null);
  });
});
