import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { assertUnittestPassed, jupyterSandbox, requireJupyterPython, runPython, type JupyterSandbox } from './helpers';

let sandbox: JupyterSandbox;

before(() => {
  requireJupyterPython();
  sandbox = jupyterSandbox();
});
after(() => sandbox?.cleanup());

test('jupyter kernelspec list shows the installed kernelspec', () => {
  const list = spawnSync('jupyter', ['kernelspec', 'list', '--json'], { encoding: 'utf8', env: sandbox.env });
  assert.equal(list.status, 0, list.stderr);
  const specs = (JSON.parse(list.stdout) as { kernelspecs: Record<string, { spec: { display_name: string; language: string; interrupt_mode: string } }> }).kernelspecs;
  const ours = specs[sandbox.kernelName];
  assert.ok(ours, `not listed: ${list.stdout}`);
  assert.equal(ours.spec.language, 'typescript');
  assert.equal(ours.spec.interrupt_mode, 'message');
  assert.match(ours.spec.display_name, /TypeScript \(Shared Futures\)/);
});

test('jupyter_kernel_test conformance suite passes with TypeScript samples', async () => {
  // 12 tests of KernelTests minus test_pager and test_clear_output (this kernel has neither feature).
  assertUnittestPassed(await runPython('conformance.py', sandbox.env), 10);
});
