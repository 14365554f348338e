/**
 * The live UI in a real VS Code (code-server in headless Chromium): a notebook appends futures to a channel
 * and the Channels view shows the channel and its items; the futures go from processing to finished without a
 * refresh once Stop Channel (context menu) stops the gate they wait on, which also ends the notebook's
 * `for await` loop; Export Channel Snapshot writes the JSON chosen in the save dialog; the dashboard shows the
 * counts and the task stream; the status bar shows the connection. Screenshots go to docs/ for the README.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import type { Locator } from 'playwright-core';
import { startVsCodeSession, type VsCodeSession } from './harness';
import { E2E_PATHS } from './paths';
import type { Workbench } from './workbench';

const KERNEL = 'Shared Futures (TypeScript)';
const RUN_TIMEOUT_MS = 120_000;
const DOCS = path.join(E2E_PATHS.root, 'docs');

interface ExportedSnapshot {
  name: string;
  count: number;
  items: ({ index: number; key: string; status: string; result?: unknown } | { index: number; value: unknown })[];
}

describe('Shared Futures live UI in code-server', { timeout: 900_000 }, () => {
  let session: VsCodeSession | undefined;
  const vs = (): VsCodeSession => {
    assert.ok(session, 'the VS Code session did not start');
    return session;
  };
  let futureKeys: string[] = [];

  before(async () => {
    session = await startVsCodeSession({
      name: 'ui',
      fixture: 'ui-workspace',
      settings: { 'sharedFutures.localThreads': 2, 'files.simpleDialog.enable': true, 'workbench.colorTheme': 'Default Dark Modern' },
    });
  });

  afterEach(async (t) => {
    await session?.workbench.screenshot(`end-${t.name}`).catch(() => undefined);
    await session?.workbench.dismissQuickInput().catch(() => undefined);
  });

  after(async () => {
    await session?.close();
  });

  /** The row of the Channels view whose label is `label`. */
  const row = (label: string | RegExp): Locator =>
    vs()
      .workbench.page.locator('.part.sidebar .pane', { has: vs().workbench.page.locator('.pane-header', { hasText: /Channels/i }) })
      .locator('.monaco-list-row')
      .filter({ has: vs().workbench.page.locator('.label-name', { hasText: label }) })
      .first();

  /** Runs `command` from the context menu of the Channels row labelled `label`. */
  const contextMenu = async (label: string, command: string): Promise<void> => {
    const { page } = vs().workbench;
    const menu = page.locator('.context-view .monaco-menu');
    if (await menu.isVisible()) {
      await page.keyboard.press('Escape');
      await menu.waitFor({ state: 'hidden', timeout: 30_000 });
    }
    await row(label).click({ button: 'right' });
    const item = menu.locator('.action-item', { hasText: command }).first();
    await item.waitFor({ timeout: 30_000 });
    await vs().workbench.screenshot(`menu-${label}-${command}`);
    await item.click();
    await menu.waitFor({ state: 'hidden', timeout: 30_000 });
    await vs().workbench.screenshot(`after-${label}-${command}`);
  };

  it('shows the channel a notebook appends to, with its items, without a refresh', async () => {
    const { workbench } = vs();
    await workbench.openViewContainer('Shared Futures');
    await workbench.waitForTreeItems('Channels', ['Scheduler not connected']);
    await workbench.openFile('ui-channel.sfnb');
    await workbench.notebookCells(3);
    await workbench.selectNotebookKernel(KERNEL);
    await workbench.runCommand('Notebook: Run All');
    await workbench.waitForWebviewText(/appended 3 futures/, RUN_TIMEOUT_MS);

    // The channels appear under the scheduler on their own.
    const rows = await workbench.poll('the channels in the tree', () => workbench.treeItems('Channels'), (r) =>
      r.some((t) => /^ui-results 4 items$/.test(t)) && r.some((t) => /^ui-gate 0 items$/.test(t)),
    );
    assert.match(rows[0], /^Scheduler local · 1 worker, 2 threads$/);
    await row('ui-results').click();
    const items = await workbench.poll('the items of ui-results', () => workbench.treeItems('Channels'), (r) =>
      r.filter((t) => / processing · \d+[smh]$/.test(t)).length === 3 && r.some((t) => t.startsWith('"a plain value" value · #3')),
    );
    futureKeys = items.filter((t) => / processing · /.test(t)).map((t) => t.split(' ')[0]);
    assert.equal(new Set(futureKeys).size, 3);
  });

  it('stops a channel from its context menu: the notebook loop ends and the futures finish, live', async () => {
    const { workbench } = vs();
    await contextMenu('ui-gate', 'Stop Channel');
    // Cell 2 iterated ui-gate: its loop ends; cell 3 then gathers the results of the released tasks.
    await workbench.waitForWebviewText(/gate loop ended after 0 items/, RUN_TIMEOUT_MS);
    await workbench.waitForWebviewText(/results \[1,4,9\]/, RUN_TIMEOUT_MS);
    // No Refresh: the tree updates by itself.
    const rows = await workbench.poll('the finished futures and the stopped gate', () => workbench.treeItems('Channels'), (r) =>
      r.filter((t) => / finished · \d+[smh]$/.test(t)).length === 3 && r.some((t) => t === 'ui-gate 0 items · stopped'),
    );
    for (const key of futureKeys) assert.ok(rows.some((t) => t.startsWith(`${key} finished`)), `${key} is finished in ${JSON.stringify(rows)}`);
    await tidyLayout(workbench);
    mkdirDocs();
    await workbench.page.screenshot({ path: path.join(DOCS, 'sidebar.png') });
  });

  it('exports a channel snapshot to the file chosen in the save dialog', async () => {
    const { workbench, workspace } = vs();
    const target = path.join(workspace, 'ui-results-snapshot.json');
    await contextMenu('ui-results', 'Export Channel Snapshot');
    const input = workbench.quickInput.locator('input');
    await input.waitFor({ state: 'visible', timeout: 30_000 });
    await input.fill(target);
    await input.press('Enter');
    await workbench.waitForNotification(/Exported 4 items of channel 'ui-results'/);
    assert.ok(existsSync(target), `${target} was not written`);
    const snapshot = JSON.parse(readFileSync(target, 'utf8')) as ExportedSnapshot;
    assert.equal(snapshot.name, 'ui-results');
    assert.equal(snapshot.count, 4);
    assert.deepEqual(
      snapshot.items.map((i) => ('key' in i ? { key: i.key, status: i.status, result: i.result } : { value: i.value })),
      [
        { key: futureKeys[2], status: 'finished', result: 1 },
        { key: futureKeys[1], status: 'finished', result: 4 },
        { key: futureKeys[0], status: 'finished', result: 9 },
        { value: 'a plain value' },
      ],
    );
  });

  it('shows the connection in the status bar and opens the dashboard with counts and the task stream', async () => {
    const { workbench } = vs();
    const status = workbench.page.locator('.part.statusbar .statusbar-item', { hasText: 'SF local' }).first();
    await status.waitFor({ timeout: 30_000 });
    assert.match(await status.innerText(), /SF local\s+\d+\s+\d+/);
    await status.click();
    // Section titles are drawn in capitals (innerText follows text-transform): match them ignoring case.
    const text = await workbench.waitForWebviewText(/Task stream[\s\S]*finished/i, RUN_TIMEOUT_MS);
    assert.match(text, /Tasks by status\s+0\s+pending\s+0\s+processing\s+3\s+finished/i);
    assert.match(text, /Workers[\s\S]*local\s+2 threads/i);
    assert.match(text, /ui-results\s+4 retained \/ 4 appended · 3\/3 done/);
    assert.match(text, /ui-results/);
    // The three tasks appear in the stream with the worker that ran them.
    for (const key of futureKeys) assert.match(text, new RegExp(`${escapeRegExp(key)}\\s+local\\s+finished`));
    mkdirDocs();
    await workbench.page.screenshot({ path: path.join(DOCS, 'dashboard.png') });

    // Hidden behind the notebook and shown again, it still shows the run.
    const tab = (name: string) => workbench.page.locator('.tabs-container .tab', { hasText: name }).first();
    await tab('ui-channel.sfnb').click();
    await workbench.notebookEditor();
    await tab('Shared Futures Dashboard').click();
    await workbench.waitForWebviewText(/Tasks by status\s+0\s+pending\s+0\s+processing\s+3\s+finished/i);
  });

  it('shows a result in a read-only document', async () => {
    const { workbench } = vs();
    await contextMenu(futureKeys[1], 'Show Result');
    const editor = workbench.page.locator('.editor-instance .monaco-editor', { hasText: `${futureKeys[1]}: finished` }).first();
    await editor.waitFor({ timeout: 30_000 });
    // The editor draws spaces as no-break spaces.
    const text = (await editor.locator('.view-lines').innerText()).replace(/\u00a0/g, ' ');
    assert.match(text, new RegExp(`${escapeRegExp(futureKeys[1])}: finished\\s+4\\b`));
    assert.match(text, /Story:/);
    // Typing changes nothing: the document is read-only.
    await editor.click();
    await workbench.page.keyboard.type('xyz');
    assert.doesNotMatch(await editor.locator('.view-lines').innerText(), /xyz/);
  });

  it('deletes a channel after a modal confirm', async () => {
    const { workbench } = vs();
    await contextMenu('ui-gate', 'Delete Channel');
    const dialog = workbench.page.locator('.monaco-dialog-box');
    await dialog.waitFor({ timeout: 30_000 });
    assert.match(await dialog.innerText(), /Delete channel 'ui-gate' for every client\?/);
    await dialog.locator('.monaco-button', { hasText: /^Delete$/ }).click();
    await workbench.poll('ui-gate to go', () => workbench.treeItems('Channels'), (r) => !r.some((t) => t.startsWith('ui-gate')) && r.some((t) => t.startsWith('ui-results')));
  });
});

/** For the screenshots: hides the empty secondary side bar and widens the sidebar so item descriptions show. */
async function tidyLayout(workbench: Workbench): Promise<void> {
  const { page } = workbench;
  if (await page.locator('.part.auxiliarybar').isVisible()) await workbench.runCommand('View: Hide Secondary Side Bar');
  const box = await page.locator('.part.sidebar').boundingBox();
  if (box === null || box.width >= 480) return;
  // The vertical sash nearest the sidebar's right edge resizes it.
  const edge = box.x + box.width;
  const sashes = await page.locator('.monaco-sash.vertical').evaluateAll((els) => els.map((e) => e.getBoundingClientRect()).map((r) => ({ x: r.x + r.width / 2, y: r.y, h: r.height })));
  const sash = sashes.filter((r) => r.h > 100).sort((a, b) => Math.abs(a.x - edge) - Math.abs(b.x - edge))[0];
  if (sash === undefined || Math.abs(sash.x - edge) > 10) return;
  const y = sash.y + sash.h / 2;
  await page.mouse.move(sash.x, y);
  await page.mouse.down();
  await page.mouse.move(sash.x + 180, y, { steps: 10 });
  await page.mouse.up();
}

function mkdirDocs(): void {
  mkdirSync(DOCS, { recursive: true });
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
