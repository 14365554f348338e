import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isComplete } from '../../kernel/is-complete';
import { statusHtml } from '../../kernel/status-html';
import { buildStatusView } from '../../kernel/status-view';

test('is_complete: complete code, unfinished code with an indent, invalid code', () => {
  for (const code of ['1 + 1', 'const a = { b: `x${1}` };', 'if (a) {\n  b();\n}', '', '// c']) {
    assert.deepEqual(isComplete(code), { status: 'complete' }, code);
  }
  assert.deepEqual(isComplete('function f() {'), { status: 'incomplete', indent: '  ' });
  assert.deepEqual(isComplete('if (a) {\n  for (const x of xs) {'), { status: 'incomplete', indent: '    ' });
  assert.deepEqual(isComplete('const x = [1,\n  2,'), { status: 'incomplete', indent: '  ' });
  assert.deepEqual(isComplete('const t = `a ${b}'), { status: 'incomplete', indent: '' });
  assert.deepEqual(isComplete('/* comment'), { status: 'incomplete', indent: '' });
  assert.deepEqual(isComplete('a &&'), { status: 'incomplete', indent: '' });
  for (const code of ['}', 'let = ;', '1 +* 2)', "'unterminated"]) {
    assert.deepEqual(isComplete(code), { status: 'invalid' }, code);
  }
});

test('status HTML: an escaped, script-free table with a progress bar', () => {
  const view = buildStatusView(
    'channel',
    [{ key: 'a<b>', status: 'finished' }, { key: 'c', status: 'processing' }, { value: "'<script>'" }],
    { name: 'ch&1', count: 3, length: 3, stopped: false },
  );
  const html = statusHtml(view);
  assert.doesNotMatch(html, /<script/i);
  assert.match(html, /a&lt;b&gt;/);
  assert.match(html, /ch&amp;1/);
  assert.match(html, /width:50\.00%;background:#2e9d4a/);
  assert.match(html, /50% settled/);
  assert.match(html, /<table/);
});
