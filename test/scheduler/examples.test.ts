/** The examples of the README run and print what they promise. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const examples = path.resolve(__dirname, '../../examples');

test('examples/pipeline: emit/emit/combine prints N sums and stops', async () => {
  const { stdout } = await run(process.execPath, [path.join(examples, 'pipeline.js'), '7'], { timeout: 60_000 });
  const sums = stdout.split('\n').filter((l) => /^sum \d+: \d\.\d{4}$/.test(l));
  assert.ok(sums.length >= 7, stdout);
  assert.match(stdout, /stopped after 7 sums/);
});

test('examples/short-lived: a later client gets the result of a closed client\'s task', async () => {
  const { stdout } = await run(process.execPath, [path.join(examples, 'short-lived.js')], { timeout: 60_000 });
  assert.match(stdout, /appended \S+ and leaves/);
  assert.match(stdout, /result: 42/);
});
