/**
 * What the Jupyter tests share: Debian's Python with jupyter_client & co. (failing loudly when missing),
 * a kernelspec installed into a temporary prefix, and a private runtime folder for the per-user scheduler.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { stopUserScheduler } from '../../kernel/jupyter/user-scheduler';
import { CLI, ROOT, spawnProc } from '../support/processes';
import { waitUntil } from '../support/wait';

export { CLI, ROOT };
export const PYTHON_DIR = path.join(ROOT, 'test', 'jupyter', 'python');
/** Debian's Python, where apt installs jupyter_client (a pyenv python3 on PATH would not have it). */
export const PYTHON = process.env.SF_PYTHON ?? '/usr/bin/python3';

const DEBIAN_PACKAGES = 'python3-jupyter-client python3-nbclient python3-nbformat jupyter-core jupyter-client python3-jupyter-kernel-test';

/** Throws, saying which Debian packages to install, when the Python modules are missing. */
export function requireJupyterPython(modules: string[] = ['jupyter_client', 'nbclient', 'nbformat', 'jupyter_kernel_test']): void {
  const check = spawnSync(PYTHON, ['-c', `import ${modules.join(', ')}`], { encoding: 'utf8' });
  if (check.status !== 0) {
    throw new Error(
      `the Jupyter tests need ${PYTHON} with ${modules.join(', ')}: apt-get install -y ${DEBIAN_PACKAGES} (.ci/run installs them). ${(check.stderr ?? check.error?.message ?? '').trim().split('\n').pop()}`,
    );
  }
}

/** A temporary Jupyter world: a kernelspec installed with `--prefix`, private data, runtime and scheduler folders. */
export interface JupyterSandbox {
  dir: string;
  kernelName: string;
  env: NodeJS.ProcessEnv;
  /** The per-user scheduler's folder (SHARED_FUTURES_RUNTIME_DIR). */
  runtimeDir: string;
  /** Stops the sandbox's per-user scheduler and removes the folder. */
  cleanup(): Promise<void>;
}

/** Installs the kernelspec (the real CLI, dist/cli.js) into a new temporary prefix. */
export function jupyterSandbox(kernelName = 'shared-futures-test', extraInstallArgs: string[] = []): JupyterSandbox {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sf-jupyter-'));
  const runtimeDir = path.join(dir, 'sf-runtime');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    JUPYTER_PATH: path.join(dir, 'share', 'jupyter'),
    JUPYTER_DATA_DIR: path.join(dir, 'data'),
    JUPYTER_RUNTIME_DIR: path.join(dir, 'runtime'),
    JUPYTER_CONFIG_DIR: path.join(dir, 'config'),
    SHARED_FUTURES_RUNTIME_DIR: runtimeDir,
    SF_KERNEL_NAME: kernelName,
    PYTHONUNBUFFERED: '1',
  };
  delete env.SHARED_FUTURES_SCHEDULER;
  delete env.SHARED_FUTURES_TOKEN;
  const install = spawnSync(process.execPath, [CLI, 'kernel', 'install', '--prefix', dir, '--name', kernelName, ...extraInstallArgs], { encoding: 'utf8', env });
  assert.equal(install.status, 0, `kernel install failed: ${install.stderr}`);
  return {
    dir,
    kernelName,
    env,
    runtimeDir,
    cleanup: async () => {
      const pid = stopUserScheduler(runtimeDir);
      if (pid !== undefined) await waitUntilGone(pid);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Resolves once the process is gone (bounded: rejects after 10 s). */
export async function waitUntilGone(pid: number, timeoutMs = 10_000): Promise<void> {
  await waitUntil(`process ${pid} to end`, () => !processRuns(pid), { timeoutMs, intervalMs: 50 });
}

function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Runs a Python test script (unittest) and returns its exit code and output; kills its process tree after `timeoutMs`. */
export async function runPython(script: string, env: NodeJS.ProcessEnv, args: string[] = [], timeoutMs = 240_000): Promise<{ code: number | string; output: string }> {
  const python = spawnProc(PYTHON, [path.join(PYTHON_DIR, script), ...args], { env, name: script });
  const code = await python.finished(timeoutMs);
  return { code, output: python.output() };
}

/** Checks a unittest run: exit 0, `OK`, the expected number of tests, none skipped. */
export function assertUnittestPassed(result: { code: number | string; output: string }, expectedTests: number): void {
  assert.equal(result.code, 0, `the Python tests failed:\n${result.output}`);
  const ran = /^Ran (\d+) tests? in/m.exec(result.output);
  assert.ok(ran, `no unittest summary in:\n${result.output}`);
  assert.equal(Number(ran[1]), expectedTests, `expected ${expectedTests} tests to run:\n${result.output}`);
  assert.match(result.output, /^OK$/m, `unittest did not end with a plain OK (skips or expected failures?):\n${result.output}`);
}
