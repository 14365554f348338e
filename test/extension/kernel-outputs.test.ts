import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KernelOutput } from '../../kernel/kernel';
import { CellOutputTracker, coalesce, type OutputChange } from '../../extension/kernel-outputs';
import { ERROR_MIME, fromOutputShape, STDERR_MIME, STDOUT_MIME } from '../../extension/notebook-data';

const text = (data: Uint8Array): string => new TextDecoder().decode(data);
const STATUS_MIME = 'application/vnd.shared-futures+json';

function display(outputId: string, data: Record<string, unknown>, extra: { update?: boolean; result?: boolean } = {}): KernelOutput {
  return { type: 'display', execution: 1, outputId, data, update: extra.update ?? false, result: extra.result ?? false };
}

describe('CellOutputTracker', () => {
  it('appends stream text to the last output of the same stream and starts a new output on a switch', () => {
    const tracker = new CellOutputTracker('k');
    const a = tracker.apply({ type: 'stream', execution: 1, name: 'stdout', text: 'one\n' });
    const b = tracker.apply({ type: 'stream', execution: 1, name: 'stdout', text: 'two\n' });
    const c = tracker.apply({ type: 'stream', execution: 1, name: 'stderr', text: 'oops\n' });
    assert.equal(a?.op, 'append');
    assert.equal(b?.op, 'appendItems');
    assert.equal(c?.op, 'append');
    if (a?.op !== 'append' || b?.op !== 'appendItems' || c?.op !== 'append') return;
    assert.equal(b.id, a.output.id);
    assert.equal(a.output.items[0].mime, STDOUT_MIME);
    assert.equal(text(b.items[0].data), 'two\n');
    assert.equal(c.output.items[0].mime, STDERR_MIME);
    assert.notEqual(c.output.id, a.output.id);
  });

  it('shows a result with its mimes and replaces its items on a live update, keeping the output', () => {
    const tracker = new CellOutputTracker('k');
    const shown = tracker.apply(display('o1', { [STATUS_MIME]: { done: false }, 'text/plain': '<Future a: pending>' }, { result: true }));
    assert.equal(shown?.op, 'append');
    if (shown?.op !== 'append') return;
    assert.equal(shown.output.metadata.outputType, 'execute_result');
    assert.deepEqual(
      shown.output.items.map((i) => i.mime),
      [STATUS_MIME, 'text/plain'],
    );
    assert.deepEqual(JSON.parse(text(shown.output.items[0].data)), { done: false });

    const updated = tracker.apply(display('o1', { [STATUS_MIME]: { done: true }, 'text/plain': '<Future a: finished>' }, { update: true }));
    assert.equal(updated?.op, 'replaceItems');
    if (updated?.op !== 'replaceItems') return;
    assert.equal(updated.id, shown.output.id);
    assert.equal(text(updated.items[1].data), '<Future a: finished>');
    // Saved, the output is a result holding the mime bundle.
    const saved = fromOutputShape({ items: updated.items, metadata: shown.output.metadata }, 3);
    assert.equal(saved.output_type, 'execute_result');
    assert.deepEqual(saved.data, { [STATUS_MIME]: { done: true }, 'text/plain': '<Future a: finished>' });
  });

  it('ignores an update of an output it never showed', () => {
    const tracker = new CellOutputTracker('k');
    assert.equal(tracker.apply(display('gone', { 'text/plain': 'x' }, { update: true })), undefined);
  });

  it('shows an error with its mapped stack in VS Code’s error item', () => {
    const tracker = new CellOutputTracker('k');
    const change = tracker.apply({
      type: 'error',
      execution: 2,
      ename: 'TypeError',
      evalue: 'x is not a function',
      traceback: ['TypeError: x is not a function', '    at In [2]:3:1'],
    });
    assert.equal(change?.op, 'append');
    if (change?.op !== 'append') return;
    assert.equal(change.output.items[0].mime, ERROR_MIME);
    assert.deepEqual(JSON.parse(text(change.output.items[0].data)), {
      name: 'TypeError',
      message: 'x is not a function',
      stack: 'TypeError: x is not a function\n    at In [2]:3:1',
    });
  });

  it('gives distinct ids to outputs of trackers with distinct prefixes', () => {
    const a = new CellOutputTracker('k1/r1').apply(display('out-1', { 'text/plain': '1' }));
    const b = new CellOutputTracker('k2/r1').apply(display('out-1', { 'text/plain': '1' }));
    assert.ok(a?.op === 'append' && b?.op === 'append');
    assert.notEqual(a.output.id, b.output.id);
  });
});

describe('coalesce', () => {
  it('keeps only the newest items of an output replaced several times, in the order of first change', () => {
    const item = (t: string) => [{ mime: 'text/plain', data: new TextEncoder().encode(t) }];
    const pending: OutputChange[] = [];
    coalesce(pending, { op: 'replaceItems', id: 'a', items: item('a1') });
    coalesce(pending, { op: 'replaceItems', id: 'b', items: item('b1') });
    coalesce(pending, { op: 'replaceItems', id: 'a', items: item('a2') });
    assert.deepEqual(
      pending.map((p) => (p.op === 'replaceItems' ? `${p.id}=${text(p.items[0].data)}` : p.op)),
      ['a=a2', 'b=b1'],
    );
  });

  it('folds a replace into a pending append of the same output', () => {
    const item = (t: string) => [{ mime: 'text/plain', data: new TextEncoder().encode(t) }];
    const pending: OutputChange[] = [{ op: 'append', output: { id: 'a', items: item('first'), metadata: { outputType: 'display_data' } } }];
    coalesce(pending, { op: 'replaceItems', id: 'a', items: item('second') });
    assert.equal(pending.length, 1);
    assert.ok(pending[0].op === 'append');
    assert.equal(text(pending[0].output.items[0].data), 'second');
  });
});
