/**
 * Runs every benchmark in bench/ (each file exporting `run()`), each in its own Node process so heaps and
 * thread pools do not interfere. Figures are printed as JSON lines by the benchmarks themselves.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const only = process.argv.slice(2);
const files = fs
  .readdirSync(__dirname)
  .filter((f) => f.endsWith('.js') && !['run.js', 'report.js'].includes(f))
  .filter((f) => only.length === 0 || only.some((o) => f.startsWith(o)))
  .sort();

let failed = 0;
for (const f of files) {
  const file = path.join(__dirname, f);
  process.stderr.write(`bench: ${f}\n`);
  const r = spawnSync(process.execPath, ['--expose-gc', '-e', 'require(process.argv[1]).run().catch((e) => { console.error(e); process.exit(1); })', file], {
    stdio: 'inherit',
  });
  if (r.status !== 0) {
    failed++;
    process.stderr.write(`bench: ${f} failed (exit ${r.status})\n`);
  }
}
process.exit(failed > 0 ? 1 : 0);
