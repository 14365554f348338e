/**
 * Typed cells in a real VS Code (code-server in headless Chromium), as a user types: in a .sfnb and in an
 * .ipynb run by our controller, `client.` typed at a person's speed brings TypeScript's suggestions (methods,
 * not words) with `submit`, and never turns into `clientInformation.`; hovering a channel variable shows
 * `Channel`; `const n: number = 'x'` is squiggled and listed in Problems, and fixing it clears both; running it
 * shows the type error in the cell output (`warn`) or refuses it (`block`). Takes docs/typed-cells.png for
 * the README. Screenshots of every step go to .e2e-artifacts/typed-cells/.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import type { Locator } from 'playwright-core';
import { startVsCodeSession, type VsCodeSession } from './harness';
import { E2E_PATHS } from './paths';
import { UI_TIMEOUT_MS, type Workbench } from './workbench';

const KERNEL = 'Shared Futures (TypeScript)';
/** The first run starts the local scheduler and a kernel on a 2-core machine. */
const RUN_TIMEOUT_MS = 120_000;
/** A person types about one key every 120 ms. */
const PERSON_KEY_DELAY_MS = 120;
const TYPE_ERROR = "Type 'string' is not assignable to type 'number'.";

/** The editor of the visible notebook's code cell `index` (0-based). */
async function cellEditor(workbench: Workbench, index: number): Promise<Locator> {
  const editor = await workbench.notebookEditor();
  const cell = editor.locator('.code-cell-row').nth(index);
  await cell.waitFor({ timeout: UI_TIMEOUT_MS });
  return cell;
}

/** Puts the cursor at the end of code cell `index`, as a click into it and Ctrl+End do. */
async function focusCellEnd(workbench: Workbench, index: number): Promise<Locator> {
  const cell = await cellEditor(workbench, index);
  await cell.locator('.monaco-editor .view-lines').click();
  await cell.locator('.monaco-editor.focused').waitFor({ timeout: UI_TIMEOUT_MS });
  await workbench.page.keyboard.press('Control+End');
  return cell;
}

/** Replaces the whole text of code cell `index` (inserted at once, so no suggestion gets in the way). */
async function setCellText(workbench: Workbench, index: number, text: string): Promise<Locator> {
  const cell = await focusCellEnd(workbench, index);
  await workbench.page.keyboard.press('Control+A');
  await workbench.page.keyboard.press('Delete');
  await workbench.page.keyboard.insertText(text);
  await waitForCellText(workbench, index, (shown) => shown === text);
  return cell;
}

async function cellText(workbench: Workbench, index: number): Promise<string> {
  const cells = (await workbench.notebookCells(index + 1)).filter((c) => c.kind === 'code');
  return cells[index]?.text ?? '';
}

async function waitForCellText(workbench: Workbench, index: number, ok: (text: string) => boolean): Promise<string> {
  return workbench.poll(`the text of cell ${index + 1}`, () => cellText(workbench, index), ok);
}

/** The rows of the visible suggest widget: label and the codicon of their kind. */
async function suggestions(workbench: Workbench): Promise<{ label: string; icon: string }[]> {
  const rows = workbench.page.locator('.editor-widget.suggest-widget.visible .monaco-list-row');
  return rows.evaluateAll((elements) =>
    elements.map((row) => ({
      label: (row.querySelector('.label-name') as HTMLElement | null)?.innerText.trim() ?? '',
      icon: [...(row.querySelector('.suggest-icon')?.classList ?? [])].find((c) => c.startsWith('codicon-symbol-')) ?? '',
    })),
  );
}

/** The messages the Problems view lists. */
async function problems(workbench: Workbench): Promise<string[]> {
  const rows = workbench.page.locator('.markers-panel .monaco-list-row');
  return rows.evaluateAll((elements) => elements.map((row) => row.getAttribute('aria-label') ?? (row as HTMLElement).innerText));
}

async function openProblems(workbench: Workbench): Promise<void> {
  await workbench.runCommand('Problems: Focus on Problems View');
  await workbench.page.locator('.markers-panel').waitFor({ timeout: UI_TIMEOUT_MS });
}

/** Types `client.` in code cell `index` at a person's speed and returns the suggestions shown. */
async function completeClient(workbench: Workbench, index: number): Promise<{ label: string; icon: string }[]> {
  await setCellText(workbench, index, '');
  await focusCellEnd(workbench, index);
  await workbench.page.keyboard.type('client.', { delay: PERSON_KEY_DELAY_MS });
  return workbench.poll(
    'TypeScript suggestions for client.',
    () => suggestions(workbench),
    (rows) => rows.some((row) => row.label === 'submit'),
  );
}

describe('typed cells in code-server', { timeout: 900_000 }, () => {
  let session: VsCodeSession | undefined;
  const vs = (): VsCodeSession => {
    assert.ok(session, 'the VS Code session did not start');
    return session;
  };

  before(async () => {
    session = await startVsCodeSession({
      name: 'typed-cells',
      fixture: 'typed',
      settings: { 'sharedFutures.localThreads': 1 },
    });
  });

  afterEach(async (t) => {
    await session?.workbench.screenshot(`end-${t.name}`).catch(() => undefined);
    await session?.workbench.page.keyboard.press('Escape').catch(() => undefined);
    await session?.workbench.dismissQuickInput().catch(() => undefined);
  });

  after(async () => {
    await session?.close();
  });

  it('.sfnb: hovering a channel variable shows its Channel type', async () => {
    const { workbench } = vs();
    await workbench.openFile('typed.sfnb');
    await workbench.notebookCells(2);
    const cell = await cellEditor(workbench, 0);
    const hover = workbench.page.locator('.monaco-hover:visible');
    await workbench.poll(
      'a hover on myChan',
      async () => {
        // Move away and back: a hover shows when the mouse arrives, and the server may not have been ready last time.
        await workbench.page.mouse.move(5, 5);
        await cell.locator('.view-line span', { hasText: /^myChan$/ }).first().hover();
        await hover.first().waitFor({ timeout: 3_000 }).catch(() => undefined);
        return (await hover.count()) > 0 ? hover.first().innerText() : '';
      },
      (text) => /const myChan: Channel<number>/.test(text),
      // The first hover waits for VS Code's TypeScript server to start and load the project.
      RUN_TIMEOUT_MS,
    );
  });

  it('.sfnb: client. typed at a person\'s speed shows TypeScript suggestions with submit, never clientInformation.', async () => {
    const { workbench } = vs();
    const rows = await completeClient(workbench, 1);
    const labels = rows.map((row) => row.label);
    assert.deepEqual(labels.slice(0, 3), ['submit', 'channel', 'map'], `suggestions: ${labels.join(', ')}`);
    // TypeScript's own suggestions: methods and properties, not the word-based ones (symbol-text).
    assert.equal(rows.find((row) => row.label === 'submit')?.icon, 'codicon-symbol-method');
    assert.ok(!rows.some((row) => row.icon === 'codicon-symbol-text'), `word-based suggestions shown: ${JSON.stringify(rows)}`);
    assert.equal(await cellText(workbench, 1), 'client.');
    // The picture of the README: the suggestions of client. in a notebook cell.
    const docs = path.join(E2E_PATHS.root, 'docs');
    mkdirSync(docs, { recursive: true });
    await workbench.page.screenshot({ path: path.join(docs, 'typed-cells.png') });
    await workbench.page.keyboard.press('Escape');
  });

  it('.sfnb: a type error is squiggled and listed in Problems; fixing it clears both', async () => {
    const { workbench } = vs();
    const cell = await setCellText(workbench, 1, "const n: number = 'x';\nn");
    await cell.locator('.squiggly-error').first().waitFor({ timeout: UI_TIMEOUT_MS });
    await openProblems(workbench);
    await workbench.poll('the type error in Problems', () => problems(workbench), (rows) => rows.some((row) => row.includes(TYPE_ERROR)));
    await workbench.screenshot('30-type-error');

    await setCellText(workbench, 1, 'const n: number = 1;\nn');
    await cell.locator('.squiggly-error').first().waitFor({ state: 'detached', timeout: UI_TIMEOUT_MS });
    await workbench.poll('Problems without the type error', () => problems(workbench), (rows) => !rows.some((row) => row.includes(TYPE_ERROR)));
  });

  it('.sfnb: running a cell with a type error shows it in the output (warn), and refuses it with typeCheck block', async () => {
    const { workbench, workspace } = vs();
    await setCellText(workbench, 1, "const n: number = 'x';\n`ran with ${n}`");
    await focusCellEnd(workbench, 1);
    await workbench.runCommand('Notebook: Run All');
    const text = await workbench.waitForWebviewText(/ran with x/, RUN_TIMEOUT_MS);
    assert.match(text, /The cell has a type error; it runs anyway \(type check: warn\)/);
    assert.match(text, /at In \[\d+\]:1:7 Type 'string' is not assignable to type 'number'\. \(TS2322\)/);
    await workbench.screenshot('40-warn');

    // The setting is read at each run: a workspace setting takes effect on the next one.
    mkdirSync(path.join(workspace, '.vscode'), { recursive: true });
    writeFileSync(path.join(workspace, '.vscode', 'settings.json'), JSON.stringify({ 'sharedFutures.typeCheck': 'block' }));
    await setCellText(workbench, 1, "const m: number = 'y';\n`ran with ${m}`");
    const deadline = Date.now() + RUN_TIMEOUT_MS;
    let refused = '';
    // The configuration reaches the extension host a moment after the file is written: run until it has.
    while (!/the cell was not run/.test(refused)) {
      assert.ok(Date.now() < deadline, `the cell was never refused; the outputs show: ${refused}`);
      await workbench.runCommand('Notebook: Run All');
      refused = await workbench.waitForWebviewText(/ran with y|the cell was not run/, RUN_TIMEOUT_MS);
    }
    assert.match(refused, /TypeError: the cell was not run: it has a type error \(type check: block\)/);
    assert.doesNotMatch(refused, /ran with y/);
    await workbench.screenshot('41-block');
    writeFileSync(path.join(workspace, '.vscode', 'settings.json'), JSON.stringify({}));
  });

  it('.ipynb with our controller: client. suggests submit, and type errors are squiggled', async () => {
    const { workbench } = vs();
    await workbench.openFile('typed.ipynb');
    await workbench.notebookCells(2);
    await workbench.selectNotebookKernel(KERNEL);
    const rows = await completeClient(workbench, 1);
    assert.deepEqual(rows.slice(0, 3).map((row) => row.label), ['submit', 'channel', 'map']);
    assert.equal(await cellText(workbench, 1), 'client.');
    await workbench.page.keyboard.press('Escape');
    const cell = await setCellText(workbench, 1, "const n: number = 'x';");
    await cell.locator('.squiggly-error').first().waitFor({ timeout: UI_TIMEOUT_MS });
    await openProblems(workbench);
    await workbench.poll('the type error in Problems', () => problems(workbench), (rows) => rows.some((row) => row.includes(TYPE_ERROR)));
  });
});
