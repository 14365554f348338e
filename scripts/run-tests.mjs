// Runs every compiled test file (build/test/**/*.test.js) with Node's test runner, one file at a time.
// Node 20's --test does not expand globs itself, and would treat every .js under a test/ folder as a test.
// `--system` runs the system tests instead (*.system.test.js: network namespaces as root, the long fuzz),
// and the property tests (*.property.test.js) again with their full number of runs (SF_PROPERTY_RUNS=full);
// `npm run test:system` and CI run that. `npm test` leaves the system tests out and runs the property tests
// with fewer runs, so any user can run it in a few minutes.
// Other arguments keep only the files whose path contains one of them.
// After the usual output (spec on a terminal, TAP otherwise) it prints, as TAP comments, the files that took longest (start to last result).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve('build/test');
const args = process.argv.slice(2);
const system = args.includes('--system');
const only = args.filter((a) => a !== '--system');
const wanted = (name) => (system ? name.endsWith('.system.test.js') || name.endsWith('.property.test.js') : name.endsWith('.test.js') && !name.endsWith('.system.test.js'));
const files = [];
(function walk(dir) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) walk(p);
    else if (wanted(entry.name) && (only.length === 0 || only.some((o) => p.includes(o)))) files.push(p);
  }
})(root);
files.sort();
if (files.length === 0) {
  console.error(`no test files under ${root}: run npm run build:tests first`);
  process.exit(1);
}

// A second reporter: the time each file took, from the previous file's last result to its own last one
// (files run one after another, so that includes starting its process and loading it).
const durations = `
export default async function* (source) {
  const last = new Map();
  let previous = Date.now();
  for await (const event of source) {
    const file = event.data?.file;
    if (file !== undefined && (event.type === 'test:pass' || event.type === 'test:fail')) last.set(file, Date.now());
  }
  const took = [];
  for (const [file, at] of [...last].sort((a, b) => a[1] - b[1])) {
    took.push([at - previous, file]);
    previous = at;
  }
  took.sort((a, b) => b[0] - a[0]);
  yield '# slowest files:\\n';
  for (const [ms, file] of took.slice(0, 15)) yield '#   ' + (ms / 1000).toFixed(1).padStart(6) + ' s  ' + file.slice(${JSON.stringify(root.length + 1)}) + '\\n';
}`;
const env = { ...process.env };
if (system) env.SF_PROPERTY_RUNS = 'full';
const r = spawnSync(
  process.execPath,
  [
    '--test',
    '--test-concurrency=1',
    `--test-reporter=${process.stdout.isTTY ? 'spec' : 'tap'}`,
    '--test-reporter-destination=stdout',
    `--test-reporter=data:text/javascript,${encodeURIComponent(durations)}`,
    '--test-reporter-destination=stdout',
    ...files,
  ],
  { stdio: 'inherit', env },
);
process.exit(r.status ?? 1);
