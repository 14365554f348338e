// Runs every compiled test file (build/test/**/*.test.js) with Node's test runner, one file at a time.
// Node 20's --test does not expand globs itself, and would treat every .js under a test/ folder as a test.
// `--system` runs the system tests instead (*.system.test.js: network namespaces as root, the long fuzz),
// which `npm run test:system` and CI run; `npm test` leaves them out so any user can run it in a few minutes.
// Other arguments keep only the files whose path contains one of them.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve('build/test');
const args = process.argv.slice(2);
const system = args.includes('--system');
const only = args.filter((a) => a !== '--system');
const files = [];
(function walk(dir) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) walk(p);
    else if (entry.name.endsWith('.test.js') && entry.name.endsWith('.system.test.js') === system && (only.length === 0 || only.some((o) => p.includes(o)))) files.push(p);
  }
})(root);
files.sort();
if (files.length === 0) {
  console.error(`no test files under ${root}: run npm run build:tests first`);
  process.exit(1);
}
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=1', ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
