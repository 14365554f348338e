import { test } from 'node:test';
import assert from 'node:assert/strict';
import { liveSourceOf, renderValue } from '../../kernel/display';
import { buildStatusView, ITEM_LIMIT, progressOf, STATUS_MIME, summarize, type StatusView } from '../../kernel/status-view';
import type { FutureStatus } from '../../kernel/runtime-types';

function fakeFuture(key: string, status: FutureStatus) {
  // The brand every runtime Future carries (scheduler/client/future-brand.ts): what the kernel checks.
  return { key, status, onStatus: () => ({ dispose: () => undefined }), toString: () => `<Future ${key}: ${status}>`, [Symbol.for('shared-futures.future')]: true };
}

test('a future-shaped object renders as the status mime with a text/plain twin', () => {
  const rendered = renderValue(fakeFuture('add-1', 'processing'));
  const view = rendered.data[STATUS_MIME] as StatusView;
  assert.equal(view.kind, 'future');
  assert.deepEqual(view.items, [{ key: 'add-1', status: 'processing' }]);
  assert.equal(view.done, false);
  assert.equal(rendered.data['text/plain'], '<Future add-1: processing>');
  assert.ok(rendered.live);
});

test('an array of futures gets counts, progress and a summary; mixed arrays are plain values', () => {
  const futures = [fakeFuture('a', 'finished'), fakeFuture('b', 'error'), fakeFuture('c', 'pending'), fakeFuture('d', 'processing')];
  const view = renderValue(futures).data[STATUS_MIME] as StatusView;
  assert.equal(view.kind, 'futures');
  assert.deepEqual(
    { finished: view.counts.finished, error: view.counts.error, pending: view.counts.pending, processing: view.counts.processing },
    { finished: 1, error: 1, pending: 1, processing: 1 },
  );
  assert.equal(progressOf(view), 0.5);
  assert.equal(summarize(view), '4 futures: 1 pending, 1 processing, 1 finished, 1 error');
  assert.equal(renderValue([fakeFuture('a', 'finished'), 3]).data[STATUS_MIME], undefined);
  assert.equal(renderValue([]).data[STATUS_MIME], undefined);
});

test('a channel-shaped object shows name, counts, value previews, and is done only when stopped and settled', () => {
  const channel = { name: 'events', count: 5, length: 2, stopped: false, futures: [fakeFuture('x', 'finished'), { big: 'value' }] };
  const source = liveSourceOf(channel);
  assert.ok(source);
  const view = source.render();
  assert.equal(view.kind, 'channel');
  assert.deepEqual(view.channel, { name: 'events', count: 5, length: 2, stopped: false });
  assert.deepEqual(view.items[1], { value: "{ big: 'value' }" });
  assert.equal(view.done, false);
  assert.equal(summarize(view), '<Channel events: 2 items (5 appended); 1 finished, 1 values>');
  channel.stopped = true;
  assert.equal(source.render().done, true);
  assert.equal(source.futures().length, 1);
});

test('a long channel lists only the newest items but counts all', () => {
  const items = Array.from({ length: ITEM_LIMIT + 25 }, (_, i) => ({ key: `k${i}`, status: 'finished' as const }));
  const view = buildStatusView('channel', items, { name: 'long', count: items.length, length: items.length, stopped: true });
  assert.equal(view.items.length, ITEM_LIMIT);
  assert.equal(view.omitted, 25);
  assert.deepEqual(view.items[0], { key: 'k25', status: 'finished' });
  assert.equal(view.counts.finished, ITEM_LIMIT + 25);
  assert.equal(progressOf(view), 1);
});

test('forced mime types: html, svg, png from bytes or base64, json; bad input is refused', () => {
  assert.deepEqual(renderValue('<i>x</i>', 'text/html').data, { 'text/html': '<i>x</i>', 'text/plain': 'x' });
  assert.equal(renderValue('<svg/>', 'image/svg+xml').data['image/svg+xml'], '<svg/>');
  assert.equal(renderValue(new Uint8Array([1, 2, 3]), 'image/png').data['image/png'], 'AQID');
  assert.equal(renderValue('data:image/png;base64,AQID', 'image/png').data['image/png'], 'AQID');
  assert.deepEqual(renderValue({ n: 1n, s: 'x' }, 'application/json').data['application/json'], { n: '1', s: 'x' });
  assert.throws(() => renderValue(42, 'image/png'), /needs a Uint8Array/);
});

test('plain values display as Node would inspect them', () => {
  assert.equal(renderValue('text').data['text/plain'], "'text'");
  assert.equal(renderValue(new Map([[1, 2]])).data['text/plain'], 'Map(1) { 1 => 2 }');
  assert.equal(renderValue(Buffer.from([0x89, 0x50, 0x4e, 0x47])).data['image/png'], 'iVBORw==');
});
