import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ensureUserScheduler, resolveScheduler, stopUserScheduler, userRuntimeDir } from '../../kernel/jupyter/user-scheduler';
import { CLI, waitUntilGone } from './helpers';

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'sf-user-scheduler-'));
}

test('the runtime folder: SHARED_FUTURES_RUNTIME_DIR, then XDG_RUNTIME_DIR, then Jupyter runtime dir', () => {
  assert.equal(userRuntimeDir({ SHARED_FUTURES_RUNTIME_DIR: '/x/y' }), '/x/y');
  assert.equal(userRuntimeDir({ XDG_RUNTIME_DIR: '/run/user/1' }), '/run/user/1/shared-futures');
  assert.equal(userRuntimeDir({ JUPYTER_RUNTIME_DIR: '/j' }), '/j/shared-futures');
});

test('the kernelspec and the environment choose the scheduler before the per-user one', async () => {
  const fromSpec = await resolveScheduler({ scheduler: 'ws://10.1.2.3:9000/?token=abc', cliPath: CLI, env: {} });
  assert.deepEqual(fromSpec, { address: 'ws://10.1.2.3:9000', token: 'abc', source: 'kernelspec' });
  const fromEnv = await resolveScheduler({ cliPath: CLI, env: { SHARED_FUTURES_SCHEDULER: 'ws://h:1', SHARED_FUTURES_TOKEN: 't' } });
  assert.deepEqual(fromEnv, { address: 'ws://h:1', token: 't', source: 'environment' });
});

test('started once, joined after, in a user-only folder; a dead one is replaced; a stale lock is removed', async () => {
  const dir = path.join(tempDir(), 'rt');
  try {
    const first = await ensureUserScheduler(dir, { cliPath: CLI });
    assert.equal(first.started, true);
    assert.match(first.address, /^ws:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(fs.statSync(dir).mode & 0o777, 0o700);
    assert.equal(fs.statSync(path.join(dir, 'scheduler.json')).mode & 0o777, 0o600);
    // the token is not on the scheduler's command line
    assert.doesNotMatch(fs.readFileSync(`/proc/${first.pid}/cmdline`, 'utf8'), new RegExp(first.token));

    // two kernels at once: both join the running one
    const [a, b] = await Promise.all([ensureUserScheduler(dir, { cliPath: CLI }), ensureUserScheduler(dir, { cliPath: CLI })]);
    assert.deepEqual([a.started, b.started, a.pid, b.pid], [false, false, first.pid, first.pid]);

    // it dies: the next kernel starts a new one instead of hanging on the old record
    stopUserScheduler(dir);
    await waitUntilGone(first.pid);
    // and a kernel died holding the lock
    const dead = spawn(process.execPath, ['-e', '0']);
    await new Promise((resolve) => dead.once('exit', resolve));
    fs.writeFileSync(path.join(dir, 'scheduler.lock'), String(dead.pid));
    const second = await ensureUserScheduler(dir, { cliPath: CLI, timeoutMs: 15_000 });
    assert.equal(second.started, true);
    assert.notEqual(second.pid, first.pid);
    assert.notEqual(second.token, first.token);
    assert.equal(fs.existsSync(path.join(dir, 'scheduler.lock')), false);
  } finally {
    const pid = stopUserScheduler(dir);
    if (pid !== undefined) await waitUntilGone(pid);
    fs.rmSync(path.dirname(dir), { recursive: true, force: true });
  }
});
