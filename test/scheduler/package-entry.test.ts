// The package as another project sees it: `import` and `require` of 'shared-futures' (package.json "exports")
// both reach the built runtime (dist/), name every public export, and share one runtime.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

const root = path.resolve(__dirname, '..', '..', '..');

/** Runs a consumer script placed inside the package (so 'shared-futures' resolves to the package itself). */
function consume(name: string, source: string): string {
  const dir = path.join(root, 'build', 'package-entry');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, name);
  fs.writeFileSync(file, source);
  const r = spawnSync(process.execPath, [file], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, `${name} failed:\n${r.stderr}`);
  return r.stdout.trim();
}

const body = `
  const client = await Client.connect();
  const f = client.submit((x, y) => x + y, 20, 22);
  const chan = client.channel('package-entry');
  chan.append(f);
  await chan.flush();
  console.log(JSON.stringify({ result: await f.result(), future: chan.futures[0] instanceof Future, error: typeof ConnectionError }));
  await client.close();
  process.exit(0);
`;

test('an ES module imports the public API by name', () => {
  const out = consume('consumer.mjs', `import { Client, Future, ConnectionError } from 'shared-futures';\n${body}`);
  assert.deepEqual(JSON.parse(out), { result: 42, future: true, error: 'function' });
});

test('a CommonJS module requires the same API', () => {
  const out = consume('consumer.cjs', `const { Client, Future, ConnectionError } = require('shared-futures');\n(async () => {${body}})();`);
  assert.deepEqual(JSON.parse(out), { result: 42, future: true, error: 'function' });
});

test('import and require give the same objects (one runtime, not two copies)', () => {
  const out = consume('both.mjs', `import { createRequire } from 'node:module';\nimport * as esm from 'shared-futures';\nconst cjs = createRequire(import.meta.url)('shared-futures');\nconst names = Object.keys(cjs).filter((n) => n !== 'default');\nconsole.log(JSON.stringify({ names: names.length, same: names.every((n) => esm[n] === cjs[n]) }));`);
  const { names, same } = JSON.parse(out) as { names: number; same: boolean };
  assert.ok(names > 10, `the runtime exports ${names} names`);
  assert.equal(same, true);
});
