/**
 * The bundled extension in plain Node with a fake `vscode` (see extension-host-child.ts): a notebook cell
 * runs through the controller on the lazily started local scheduler, its live output updates after the cell
 * ended, and deactivate leaves no thread, socket or timer behind (the process ends by itself).
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { spawnNode } from '../support/processes';

interface ChildReport {
  baseline: number;
  during: number;
  after: number;
  success: boolean | undefined;
  executionOrder: number | undefined;
  outputs: { mime: string; text: string }[][];
  lateText: string;
  liveUpdated: boolean;
  acceptedBefore: boolean;
  acceptedAfter: boolean;
  tokenCopied: boolean;
  workerJoined: boolean;
  workerLost: boolean;
  tokenLogged: boolean;
  logged: string[];
}

/** Runs the child; fails if it has not ended by itself within `timeoutMs`. */
async function runChild(timeoutMs: number): Promise<{ code: number | string; stdout: string; stderr: string }> {
  const child = spawnNode(path.join(__dirname, 'extension-host-child.js'), [], { name: 'the extension host (the process has to end by itself after deactivate; something was left running)' });
  const code = await child.finished(timeoutMs);
  return { code, stdout: child.stdout(), stderr: child.stderr() };
}

describe('extension lifecycle (bundled extension, fake vscode)', () => {
  it('runs a cell on the listening local scheduler, logs its events, and leaves no thread behind on deactivate', { timeout: 120_000 }, async () => {
    const { code, stdout, stderr } = await runChild(90_000);
    assert.equal(code, 0, `child failed: ${stderr}`);
    const report = JSON.parse(stdout.trim().split('\n').pop() as string) as ChildReport;

    assert.equal(report.success, true, JSON.stringify(report.outputs));
    assert.equal(report.executionOrder, 1);
    const texts = report.outputs.map((items) => items.map((i) => `${i.mime}: ${i.text}`).join(' | '));
    assert.ok(texts.some((t) => t.includes('application/vnd.code.notebook.stdout: answer 42')), texts.join('\n'));
    assert.ok(texts.some((t) => t.includes('application/vnd.shared-futures+json')), 'the result is a live future view');
    assert.equal(report.liveUpdated, true, `the future view never showed finished: ${report.lateText}`);

    // sharedFutures.listen: the local scheduler served ws://127.0.0.1:PORT and logged its address.
    assert.equal(report.acceptedBefore, true, report.logged.join('\n'));
    assert.equal(report.acceptedAfter, false, 'the listening port is still open after deactivate');
    // Copy token gave a token that let a worker process join; the scheduler's events were logged, the token never.
    assert.equal(report.tokenCopied, true, 'Copy token put nothing on the clipboard');
    assert.equal(report.workerJoined, true, report.logged.join('\n'));
    assert.equal(report.workerLost, true, report.logged.join('\n'));
    assert.equal(report.tokenLogged, false, 'the token appeared in the log');

    // Pool threads and the kernel's worker ran, and all of them ended with deactivate.
    assert.ok(report.during >= report.baseline + 3, `threads: baseline ${report.baseline}, while running ${report.during}`);
    assert.ok(report.after <= report.baseline, `threads: baseline ${report.baseline}, after deactivate ${report.after}`);
  });
});
