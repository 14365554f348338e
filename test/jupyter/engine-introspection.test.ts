import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EngineIntrospection } from '../../kernel/jupyter/engine-introspection';
import { codePointToIndex, indexToCodePoint } from '../../kernel/jupyter/introspection';

test('completion and inspection see the cells that ran; a cell run again replaces its earlier run', () => {
  const engine = new EngineIntrospection();
  try {
    engine.cellExecuted('/** A point. */\nconst point = { x: 1, y: 2 };', 'a');
    const code = 'point.';
    assert.deepEqual(engine.complete(code, code.length).matches, ['x', 'y']);
    const info = engine.inspect('point', 5);
    assert.match(info?.text ?? '', /const point: \{/);
    assert.equal(info?.documentation, 'A point.');
    engine.cellExecuted('const point = { z: 3 };', 'a');
    assert.deepEqual(engine.complete(code, code.length).matches, ['z']);
    assert.deepEqual(engine.complete('client.subm', 11).matches, ['submit', 'submitGraph']);
    engine.reset();
    assert.deepEqual(engine.complete(code, code.length).matches, []);
  } finally {
    engine.dispose();
  }
});

test('two engines in one process (the kernel type check and Jupyter completion) do not see each other', () => {
  const first = new EngineIntrospection();
  const second = new EngineIntrospection();
  try {
    first.cellExecuted('const shared = { fromFirst: 1 };');
    second.cellExecuted('const shared = { fromSecond: 2 };');
    assert.deepEqual(first.complete('shared.', 7).matches, ['fromFirst']);
    assert.deepEqual(second.complete('shared.', 7).matches, ['fromSecond']);
  } finally {
    first.dispose();
    second.dispose();
  }
});

test('Jupyter cursors count code points; the engine counts UTF-16 units', () => {
  const text = 'const 😀 = "a"; x';
  assert.equal(codePointToIndex(text, 7), 8);
  assert.equal(indexToCodePoint(text, 8), 7);
  assert.equal(codePointToIndex(text, [...text].length), text.length);
});
