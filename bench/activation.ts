/**
 * Extension activation time with no notebook open (`extension-activation`, target ≤ 50 ms).
 *
 * How it is measured: each sample is a fresh Node process (a cold start, as when VS Code activates the
 * extension in its extension host) that installs a minimal fake `vscode` module (test/extension/fake-vscode.ts,
 * resolved through Module._resolveFilename and the require cache), then times, with performance.now(),
 * `require('dist/extension.js')` (loading and evaluating the production bundle) plus `activate(context)` with a
 * fake context. Nothing notebook- or scheduler-related is started: the runtime and the kernel are loaded
 * on first use, not here. Real VS Code adds its own work around this (reading the manifest, creating the
 * API object), which the figure leaves out. The value is the median of the samples; p90 and the split
 * between loading and `activate()` come along.
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { installFakeVscode } from '../test/extension/fake-vscode';
import { median, percentile, report } from './report';

const SAMPLES = 15;
const CHILD_FLAG = 'SF_BENCH_ACTIVATION_CHILD';
const BUNDLE = path.resolve(__dirname, '..', '..', 'dist', 'extension.js');

/** One cold activation in this process; prints `{"load":ms,"activate":ms}`. */
function measureOnce(): void {
  const fake = installFakeVscode();
  const context = fake.context();
  const start = performance.now();
  const extension = createRequire(__filename)(BUNDLE) as { activate(context: unknown): unknown };
  const loaded = performance.now();
  extension.activate(context);
  const activated = performance.now();
  process.stdout.write(`${JSON.stringify({ load: loaded - start, activate: activated - loaded })}\n`);
  for (const subscription of context.subscriptions) {
    subscription.dispose();
  }
}

/** Runs the samples, each in its own process, and reports the median. */
export async function run(): Promise<void> {
  const totals: number[] = [];
  const loads: number[] = [];
  const activates: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const child = spawnSync(process.execPath, [__filename], { env: { ...process.env, [CHILD_FLAG]: '1' }, encoding: 'utf8' });
    if (child.status !== 0) {
      throw new Error(`activation sample failed (exit ${child.status}): ${child.stderr}`);
    }
    const sample = JSON.parse(child.stdout.trim().split('\n').pop() as string) as { load: number; activate: number };
    loads.push(sample.load);
    activates.push(sample.activate);
    totals.push(sample.load + sample.activate);
  }
  report('extension-activation', median(totals), 'ms', {
    p90: Number(percentile(totals, 90).toFixed(2)),
    load_ms: Number(median(loads).toFixed(2)),
    activate_ms: Number(median(activates).toFixed(2)),
    samples: SAMPLES,
  });
}

if (require.main === module && process.env[CHILD_FLAG] === '1') {
  measureOnce();
}
