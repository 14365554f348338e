/**
 * `npm start` as a new user meets it: scripts/start.mjs itself (code-server, its profile and settings, the
 * working copy of examples/) driven in headless Chromium. The first screen shows the Shared Futures view and
 * an example notebook, without the "git repository found in parent folders" toast or an empty secondary side
 * bar; Run All of
 * examples/channels.sfnb works twice in a row (its channel is started afresh); a Run All that fails at a cell
 * leaves the cells after it empty and unmarked; and after all that (code-server saves notebooks on its own)
 * the tracked examples/ are unchanged. Screenshots go to .e2e-artifacts/start/.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { assertInstalled } from './code-server';
import { E2E_PATHS } from './paths';
import { Workbench } from './workbench';

/** Cells start a scheduler, a kernel worker and tasks on a 2-core machine: outputs may take a while. */
const RUN_TIMEOUT_MS = 120_000;
/** From the first page load to the notebook and the extension's view on screen. */
const STARTUP_TIMEOUT_MS = 240_000;
const profile = path.join(E2E_PATHS.root, '.cache', 'start-e2e');
const workingCopy = path.join(profile, 'examples');
const examples = path.join(E2E_PATHS.root, 'examples');
const artifacts = path.join(E2E_PATHS.artifacts, 'start');

/** Every file under `dir` with its bytes, by relative path. */
function snapshot(dir: string, relative = ''): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (const entry of readdirSync(path.join(dir, relative), { withFileTypes: true })) {
    const name = path.join(relative, entry.name);
    if (entry.isDirectory()) {
      for (const [file, bytes] of snapshot(dir, name)) files.set(file, bytes);
    } else {
      files.set(name, readFileSync(path.join(dir, name)));
    }
  }
  return files;
}

interface SavedCell {
  cell_type: string;
  execution_count?: number | null;
  outputs?: { output_type: string; text?: string | string[]; data?: Record<string, string | string[]> }[];
}

/** The code cells of a notebook as saved in the working copy; none while it is missing or being written. */
function savedCodeCells(name: string): SavedCell[] {
  let notebook: { cells: SavedCell[] };
  try {
    notebook = JSON.parse(readFileSync(path.join(workingCopy, name), 'utf8')) as { cells: SavedCell[] };
  } catch {
    return [];
  }
  return notebook.cells.filter((cell) => cell.cell_type === 'code');
}

function outputText(cell: SavedCell): string {
  return (cell.outputs ?? [])
    .flatMap((o) => [o.text ?? '', o.data?.['text/plain'] ?? ''])
    .map((t) => (Array.isArray(t) ? t.join('') : t))
    .join('');
}

describe('npm start (scripts/start.mjs) in code-server', { timeout: 900_000 }, () => {
  let start: ChildProcess | undefined;
  let startOutput = '';
  let workbench: Workbench | undefined;
  const tracked = snapshot(examples);
  const wb = (): Workbench => {
    assert.ok(workbench, 'the workbench did not open');
    return workbench;
  };

  before(async () => {
    assertInstalled();
    assert.ok(existsSync(E2E_PATHS.vsix), `${E2E_PATHS.vsix} is missing: run npm run package first`);
    rmSync(profile, { recursive: true, force: true });
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      SF_START_EDITOR: 'code-server',
      SF_START_PORT: '0',
      SF_START_PROFILE: profile,
      SF_START_NO_BUILD: '1',
    };
    delete env.NODE_OPTIONS;
    delete env.NODE_TEST_CONTEXT;
    // Its own process group, so that stopping it also ends code-server and everything code-server started.
    start = spawn(process.execPath, [path.join(E2E_PATHS.root, 'scripts', 'start.mjs')], {
      cwd: E2E_PATHS.root,
      env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const child = start;
    const url = await new Promise<string>((resolve, reject) => {
      const onData = (data: Buffer): void => {
        startOutput += data.toString();
        const match = /Shared Futures in VS Code \(code-server\): (\S+)/.exec(startOutput);
        if (match) resolve(match[1]);
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      child.once('exit', (code) => reject(new Error(`start.mjs exited (${code}) before printing its URL:\n${startOutput}`)));
    });
    workbench = await Workbench.open(url, artifacts);
  });

  afterEach(async (t) => {
    await workbench?.screenshot(`end-${t.name}`).catch(() => undefined);
    await workbench?.dismissQuickInput().catch(() => undefined);
  });

  after(async () => {
    await workbench?.close();
    if (start?.pid !== undefined && start.exitCode === null) {
      const exited = new Promise((resolve) => start?.once('exit', resolve));
      process.kill(-start.pid, 'SIGTERM');
      await exited;
      try {
        process.kill(-start.pid, 'SIGKILL'); // helpers code-server forked, if any outlived it
      } catch {
        // the group is gone
      }
    }
    rmSync(profile, { recursive: true, force: true });
  });

  it('opens on the Shared Futures view and an example notebook, without the git toast or an empty secondary side bar', async () => {
    const page = wb().page;
    // The URL start.mjs prints opens examples/channels.sfnb (from the working copy) beside the folder. The
    // notebook shows once the extension host is up, which takes long on a busy 2-core machine.
    await page.locator('.notebook-editor .code-cell-row').first().waitFor({ timeout: STARTUP_TIMEOUT_MS });
    const cells = await wb().notebookCells(2);
    assert.match(cells[1].text, /client\.channel\('squares'\)/);
    await page.locator('.tab.active', { hasText: 'channels.sfnb' }).waitFor({ timeout: 30_000 });
    // The extension is up once its status bar item shows.
    await page.locator('.part.statusbar', { hasText: /Shared Futures|\bSF\b/ }).waitFor({ timeout: STARTUP_TIMEOUT_MS });
    // The side bar shows the Shared Futures container (its one view, Channels, names the title), not the Explorer.
    await page.locator('.part.sidebar .composite.title', { hasText: /Shared Futures: Channels/i }).waitFor({ state: 'visible', timeout: STARTUP_TIMEOUT_MS });
    await page.locator('.part.sidebar .monaco-list-row', { hasText: /Scheduler/ }).first().waitFor({ state: 'visible', timeout: 30_000 });
    await wb().screenshot('01-first-screen');
    assert.equal(await page.locator('.part.auxiliarybar').isVisible(), false, 'the secondary side bar is hidden');
    const toasts = await wb().notifications();
    assert.ok(!toasts.some((t) => /git repositor/i.test(t)), `no git toast, saw ${JSON.stringify(toasts)}`);
  });

  it('runs examples/channels.sfnb with Run All twice in a row', async () => {
    const page = wb().page;
    // The notebook editor renders only the outputs in view: a tall window shows every cell's at once.
    await page.setViewportSize({ width: 1440, height: 3600 });
    const editor = await wb().notebookEditor();
    let firstRun: number[] = [];
    for (const run of ['first', 'second']) {
      await wb().runCommand('Notebook: Run All');
      // code-server saves the notebook on its own: the saved copy tells when this run has finished.
      const saved = await wb().poll(
        `the ${run} Run All to finish and be saved`,
        async () => savedCodeCells('channels.sfnb'),
        (codeCells) =>
          codeCells.length === 5 &&
          codeCells.every((cell) => typeof cell.execution_count === 'number' && cell.execution_count > Math.max(0, ...firstRun)) &&
          /\[ true, 6, 6 \]/.test(outputText(codeCells[4])),
        RUN_TIMEOUT_MS,
      );
      assert.ok(
        saved.every((cell) => !(cell.outputs ?? []).some((o) => o.output_type === 'error')),
        `${run} Run All: no cell failed (a second run used to stop at cell 1 with ChannelStoppedError)`,
      );
      assert.match(outputText(saved[3]), /second client saw \[ 1, 4, 9, 16, 25, 36 \]/);
      await wb().poll(
        `all five code cells to show success after the ${run} Run All`,
        () => editor.locator('.code-cell-row .codicon-notebook-state-success').count(),
        (n) => n === 5,
      );
      await wb().screenshot(`02-channels-${run}-run-all`);
      firstRun = saved.map((cell) => cell.execution_count as number);
    }
    await page.setViewportSize({ width: 1440, height: 900 });
  });

  it('stops a Run All at a failing cell and leaves the cells after it empty and unmarked', async () => {
    const page = wb().page;
    const name = 'fails-second-time.sfnb';
    const code = (source: string, id: string): object => ({ cell_type: 'code', execution_count: null, id, metadata: {}, outputs: [], source });
    writeFileSync(
      path.join(workingCopy, name),
      JSON.stringify({
        cells: [
          code("console.log('cell 1 ran')", 'c1'),
          code("const g = globalThis as { ranBefore?: boolean };\nif (g.ranBefore) throw new Error('cell 2 fails on the second run');\ng.ranBefore = true;\n'cell 2 ran'", 'c2'),
          code("console.log('cell 3 ran')", 'c3'),
        ],
        metadata: {},
        nbformat: 4,
        nbformat_minor: 5,
      }),
    );
    await wb().openFile(name);
    const editor = await wb().notebookEditor();
    await page.locator('.tab.active', { hasText: name }).waitFor({ timeout: 30_000 });
    await wb().runCommand('Notebook: Run All');
    await wb().waitForWebviewText(/cell 3 ran/, RUN_TIMEOUT_MS);
    await wb().poll('all three cells to show success', () => editor.locator('.code-cell-row .codicon-notebook-state-success').count(), (n) => n === 3);

    await wb().runCommand('Notebook: Run All');
    await wb().waitForWebviewText(/cell 2 fails on the second run/, RUN_TIMEOUT_MS);
    const rows = editor.locator('.code-cell-row');
    await rows.nth(1).locator('.codicon-notebook-state-error').waitFor({ timeout: RUN_TIMEOUT_MS });
    // Cell 3 did not run: its old output is gone and it carries no success mark.
    await wb().poll('cell 3 to lose its old output', () => wb().webviewText(), (text) => !/cell 3 ran/.test(text));
    assert.equal(await rows.nth(2).locator('.codicon-notebook-state-success').count(), 0, 'cell 3 shows no success mark');
    assert.match(await wb().webviewText(), /cell 1 ran/, 'cell 1 ran again');
    await wb().screenshot('03-run-all-stops-at-failure');
  });

  it('leaves the tracked examples/ unchanged: the notebooks ran from the git-ignored working copy', async () => {
    const saved = readFileSync(path.join(workingCopy, 'channels.sfnb'));
    assert.notDeepEqual(saved, tracked.get('channels.sfnb'), 'the working copy was saved with outputs');
    const now = snapshot(examples);
    assert.deepEqual([...now.keys()].sort(), [...tracked.keys()].sort());
    for (const [name, bytes] of tracked) {
      assert.ok(now.get(name)?.equals(bytes), `examples/${name} is unchanged`);
    }
    assert.match(startOutput, /examples open from \.cache\/start-e2e\/examples/);
    // No "git repository found in the parent folders" notification, in a toast or in the notification center.
    await wb().runCommand('Notifications: Show Notifications');
    const center = wb().page.locator('.notifications-center');
    await center.waitFor({ state: 'visible', timeout: 30_000 });
    const messages = await center.locator('.notification-list-item-message').allInnerTexts();
    assert.ok(!messages.some((m) => /git repositor/i.test(m)), `no git notification, saw ${JSON.stringify(messages)}`);
  });
});
