import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';

// The kernel thread's entry (kernel-worker.ts) wires these modules up; importing one must change nothing by itself.
test('the kernel thread modules do nothing on import: console, process streams, stack formatting, handlers and globals stay', () => {
  const dir = path.join(__dirname, '..', '..', 'kernel', 'thread');
  const snapshot = () => ({
    console: globalThis.console,
    stdoutWrite: process.stdout.write,
    stderrWrite: process.stderr.write,
    prepareStackTrace: Error.prepareStackTrace,
    stackTraceLimit: Error.stackTraceLimit,
    globals: Object.keys(globalThis).sort().join(','),
    uncaught: process.listenerCount('uncaughtException'),
    unhandled: process.listenerCount('unhandledRejection'),
  });
  const before = snapshot();
  const modules = fs.readdirSync(dir).filter((file) => file.endsWith('.js'));
  assert.ok(modules.length >= 6, `expected the kernel thread's modules in ${dir}, found ${modules.join(', ')}`);
  for (const file of modules) {
    createRequire(__filename)(path.join(dir, file));
  }
  assert.deepEqual(snapshot(), before);
});
