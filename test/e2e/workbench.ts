/**
 * Drives a VS Code workbench page in headless Chromium through Playwright, the way a user would: the command
 * palette, Quick Open, notebook editors, webview frames and tree views. Waits are on selectors with generous
 * timeouts, never fixed sleeps.
 */
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { E2E_PATHS } from './paths';

/** Chromium flags for this machine (see shared/E2E-NOTES.md). */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

/** Default wait for something to show up in the UI, in ms. */
export const UI_TIMEOUT_MS = 30_000;
/**
 * The first notebook of a session shows once the extension host has activated the extension; on a busy
 * 2-core machine that was seen to take 100 s.
 */
const NOTEBOOK_OPEN_TIMEOUT_MS = 180_000;

/** A cell as shown by the notebook editor. */
export interface ShownCell {
  kind: 'code' | 'markdown';
  /** Source text of a code cell as its editor shows it (markdown cells render in the webview instead). */
  text: string;
}

/** One VS Code window in a browser. */
export class Workbench {
  private constructor(
    private readonly browser: Browser,
    readonly page: Page,
    private readonly screenshotDir: string,
  ) {}

  /** Opens `url` in a new headless Chromium and waits for the workbench to be up. */
  static async open(url: string, screenshotDir: string): Promise<Workbench> {
    const browser = await chromium.launch({ executablePath: E2E_PATHS.chromium, args: CHROMIUM_ARGS, headless: true });
    try {
      const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
      const page = await context.newPage();
      // A busy 2-core machine may take longer than Playwright's 30 s default to serve the first page.
      await page.goto(url, { timeout: 90_000 });
      await page.locator('.monaco-workbench').waitFor({ timeout: 90_000 });
      // The status bar appears once the workbench has restored its parts.
      await page.locator('.part.statusbar').waitFor({ timeout: 90_000 });
      mkdirSync(screenshotDir, { recursive: true });
      return new Workbench(browser, page, screenshotDir);
    } catch (err) {
      await browser.close();
      throw err;
    }
  }

  /** Saves a screenshot of the whole window as `<name>.png`; returns its path. */
  async screenshot(name: string): Promise<string> {
    const file = path.join(this.screenshotDir, `${name.replace(/[^\w.-]+/g, '-')}.png`);
    await this.page.screenshot({ path: file });
    return file;
  }

  /** The quick input widget (command palette, Quick Open, input boxes). */
  get quickInput(): Locator {
    return this.page.locator('.quick-input-widget');
  }

  /** Opens the command palette with `filter` typed and returns the labels of the listed commands. */
  async paletteCommands(filter: string): Promise<string[]> {
    const rows = await this.paletteRows(filter, { hasText: filter });
    const labels = await rows.evaluateAll((elements) =>
      elements.map((e) => (e.querySelector('.label-name') as HTMLElement | null)?.innerText ?? e.getAttribute('aria-label') ?? ''),
    );
    await this.dismissQuickInput();
    return labels.map((label) => label.replace(/\s+/g, ' ').trim());
  }

  /** Runs the command whose palette label is `label` (e.g. "Shared Futures: Open Dashboard"). */
  async runCommand(label: string): Promise<void> {
    const rows = await this.paletteRows(label, { hasText: exactly(label) });
    await rows.filter({ has: this.page.locator('.label-name', { hasText: exactly(label) }) }).first().click();
  }

  /**
   * Opens the palette, types `filter` and waits for a row whose label matches. The palette lists the commands
   * known when it opened and does not refresh, so right after start-up (before the extension host has reported
   * the contributed commands) it is closed and opened again until the row shows.
   */
  private async paletteRows(filter: string, label: { hasText: string | RegExp }): Promise<Locator> {
    const rows = this.quickInput.locator('.quick-input-list .monaco-list-row');
    // On a busy machine typing the filter and listing the rows alone may take several seconds.
    const deadline = Date.now() + 2 * UI_TIMEOUT_MS;
    for (;;) {
      await this.openPalette();
      await this.page.keyboard.type(filter);
      const match = rows.filter({ has: this.page.locator('.label-name', label) }).first();
      try {
        await match.waitFor({ timeout: Math.min(15_000, Math.max(1, deadline - Date.now())) });
        return rows;
      } catch (err) {
        if (Date.now() >= deadline) {
          const shown = await rows.evaluateAll((es) => es.map((e) => e.getAttribute('aria-label') ?? ''));
          throw new Error(`the command palette shows no row matching ${String(label.hasText)} for "${filter}"; it shows: ${shown.join(' | ')}`, {
            cause: err,
          });
        }
      }
    }
  }

  /** Opens a workspace file by name with Quick Open (Ctrl+P). */
  async openFile(name: string): Promise<void> {
    await this.focusWorkbench();
    await this.page.keyboard.press('Control+P');
    await this.quickInput.waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    await this.page.keyboard.type(name);
    const row = this.quickInput
      .locator('.quick-input-list .monaco-list-row')
      .filter({ has: this.page.locator('.label-name', { hasText: exactly(name) }) })
      .first();
    await row.waitFor({ timeout: UI_TIMEOUT_MS });
    await row.click();
  }

  /** Waits for a notebook editor to be visible and returns it. */
  async notebookEditor(): Promise<Locator> {
    // The cell list lives in an overlay element that also has the class; pick the one holding the cells.
    // With several notebooks open, the editors of the background tabs stay in the page, hidden: pick the shown one.
    const editor = this.page
      .locator('.notebook-editor')
      .filter({ has: this.page.locator('.cell-list-container'), visible: true })
      .first();
    await editor.waitFor({ state: 'visible', timeout: NOTEBOOK_OPEN_TIMEOUT_MS });
    return editor;
  }

  /** The cells of the visible notebook editor, once at least `atLeast` are rendered. */
  async notebookCells(atLeast = 1): Promise<ShownCell[]> {
    const editor = await this.notebookEditor();
    const rows = editor.locator('.monaco-list-row:is(.code-cell-row, .markdown-cell-row)');
    await rows.nth(atLeast - 1).waitFor({ timeout: NOTEBOOK_OPEN_TIMEOUT_MS });
    // A code cell's editor fills in its text a moment after the row appears.
    await editor.locator('.code-cell-row .view-lines').first().waitFor({ timeout: UI_TIMEOUT_MS });
    return rows.evaluateAll((elements) =>
      elements.map((row): { kind: 'code' | 'markdown'; text: string } => {
        if (row.classList.contains('markdown-cell-row')) {
          return { kind: 'markdown', text: '' };
        }
        const lines = [...row.querySelectorAll('.view-lines .view-line')]
          .map((line) => ({ top: parseFloat((line as HTMLElement).style.top || '0'), text: (line as HTMLElement).innerText }))
          .sort((a, b) => a.top - b.top)
          .map((line) => line.text.replace(/\u00a0/g, ' '));
        return { kind: 'code', text: lines.join('\n') };
      }),
    );
  }

  /** The text of every webview frame (notebook outputs and markdown, webview panels), joined. */
  async webviewText(): Promise<string> {
    const texts = await Promise.all(
      this.page
        .frames()
        .filter((frame) => frame !== this.page.mainFrame() && !frame.url().includes('webWorkerExtensionHostIframe'))
        .map((frame) =>
          frame
            .evaluate(() => {
              // Notebook markdown and outputs render inside shadow roots, which body.innerText leaves out.
              const parts: string[] = [document.body?.innerText ?? ''];
              for (const element of document.querySelectorAll('*')) {
                if (element.shadowRoot) {
                  parts.push((element.shadowRoot as unknown as { textContent: string | null }).textContent ?? '');
                }
              }
              return parts.join('\n');
            })
            .catch(() => ''),
        ),
    );
    return texts.filter((t) => t.trim() !== '').join('\n');
  }

  /**
   * Texts of the elements matching `selector` in every webview frame, shadow roots included: for outputs drawn
   * by a notebook renderer (e.g. `.sf-status`), as opposed to plain text.
   */
  async webviewElementTexts(selector: string): Promise<string[]> {
    const frames = this.page.frames().filter((frame) => frame !== this.page.mainFrame());
    const texts = await Promise.all(
      frames.map((frame) =>
        frame
          .evaluate((css) => {
            const found: string[] = [];
            const visit = (root: ParentNode): void => {
              for (const element of root.querySelectorAll(css)) {
                found.push((element as HTMLElement).innerText ?? element.textContent ?? '');
              }
              for (const element of root.querySelectorAll('*')) {
                if (element.shadowRoot) {
                  visit(element.shadowRoot);
                }
              }
            };
            visit(document);
            return found;
          }, selector)
          .catch(() => [] as string[]),
      ),
    );
    return texts.flat();
  }

  /** Selects the notebook kernel (controller) labelled `label` for the active notebook, through the kernel picker. */
  async selectNotebookKernel(label: string): Promise<void> {
    await this.runCommand('Notebook: Select Notebook Kernel');
    const row = this.quickInput
      .locator('.quick-input-list .monaco-list-row')
      .filter({ has: this.page.locator('.label-name', { hasText: label }) })
      .first();
    await row.waitFor({ timeout: UI_TIMEOUT_MS });
    await row.click();
    await this.quickInput.waitFor({ state: 'hidden', timeout: UI_TIMEOUT_MS });
    // The notebook toolbar names the selected kernel.
    const editor = await this.notebookEditor();
    await editor.locator('.notebook-toolbar-container', { hasText: label }).first().waitFor({ timeout: UI_TIMEOUT_MS });
  }

  /** Waits until the webview frames show text matching `pattern`, and returns all their text. */
  async waitForWebviewText(pattern: RegExp, timeoutMs = UI_TIMEOUT_MS): Promise<string> {
    return this.poll(`a webview showing ${String(pattern)}`, () => this.webviewText(), (text) => pattern.test(text), timeoutMs);
  }

  /**
   * Reads `read()` until `ok` accepts what it returns (or the time is up, failing with the last value read).
   * For UI that changes on its own (trees, webviews, toasts) where no single selector says "done".
   */
  async poll<T>(what: string, read: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = UI_TIMEOUT_MS): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await read();
      if (ok(value)) {
        return value;
      }
      if (Date.now() >= deadline) {
        throw new Error(`waited ${timeoutMs} ms for ${what}; last seen: ${JSON.stringify(value)}`);
      }
      await this.page.waitForTimeout(200);
    }
  }

  /** Opens the activity-bar view container whose title is `title`, as a click on its icon does. */
  async openViewContainer(title: string): Promise<void> {
    const byLabel = this.page.locator(`.part.activitybar .action-item .action-label[aria-label^=${JSON.stringify(title)}]`).first();
    await byLabel.waitFor({ timeout: UI_TIMEOUT_MS });
    const container = this.page.locator('.part.sidebar .composite.title', { hasText: new RegExp(escapeRegExp(title), 'i') });
    if (!(await container.isVisible())) {
      await byLabel.click();
    }
    await container.waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
  }

  /** The rows (label and description) of the sidebar view titled `viewName`, once at least one shows. */
  async treeItems(viewName: string): Promise<string[]> {
    const pane = this.page
      .locator('.part.sidebar .pane')
      .filter({ has: this.page.locator('.pane-header', { hasText: new RegExp(`^\\s*${escapeRegExp(viewName)}`, 'i') }) })
      .first();
    const rows = pane.locator('.monaco-list-row');
    await rows.first().waitFor({ timeout: UI_TIMEOUT_MS });
    return rows.evaluateAll((elements) =>
      elements.map((row) => {
        const label = (row.querySelector('.label-name') as HTMLElement | null)?.innerText ?? '';
        const description = (row.querySelector('.label-description') as HTMLElement | null)?.innerText ?? '';
        return `${label} ${description}`.replace(/\s+/g, ' ').trim();
      }),
    );
  }

  /** Texts of the notification toasts on screen. */
  async notifications(): Promise<string[]> {
    return this.page.locator('.notifications-toasts .notification-list-item-message').allInnerTexts();
  }

  /** Waits for the rows of the sidebar view `viewName` to equal `expected`. */
  async waitForTreeItems(viewName: string, expected: readonly string[]): Promise<void> {
    await this.poll(`the ${viewName} view to show ${JSON.stringify(expected)}`, () => this.treeItems(viewName), (rows) =>
      rows.length === expected.length && rows.every((row, i) => row === expected[i]),
    );
  }

  /** Waits for the first row of the sidebar view `viewName` to match `pattern`, and returns it. */
  async waitForFirstTreeItem(viewName: string, pattern: RegExp): Promise<string> {
    const rows = await this.poll(`the first row of the ${viewName} view to match ${String(pattern)}`, () => this.treeItems(viewName), (all) =>
      pattern.test(all[0] ?? ''),
    );
    return rows[0];
  }

  /** Waits for a notification toast whose text matches `pattern` and returns its text. */
  async waitForNotification(pattern: RegExp): Promise<string> {
    const texts = await this.poll(`a notification matching ${String(pattern)}`, () => this.notifications(), (all) =>
      all.some((t) => pattern.test(t)),
    );
    return texts.find((t) => pattern.test(t)) as string;
  }

  /** Closes the quick input if it is open. */
  async dismissQuickInput(): Promise<void> {
    if (await this.quickInput.isVisible()) {
      await this.page.keyboard.press('Escape');
      await this.quickInput.waitFor({ state: 'hidden', timeout: UI_TIMEOUT_MS });
    }
  }

  /** Closes the browser. */
  async close(): Promise<void> {
    await this.browser.close();
  }

  private async openPalette(): Promise<void> {
    await this.dismissQuickInput();
    await this.focusWorkbench();
    await this.page.keyboard.press('Control+Shift+P');
    await this.quickInput.waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    // The palette opens with ">" typed; keep it and type after it.
    await this.page.waitForFunction(
      () => (document.querySelector('.quick-input-widget input') as HTMLInputElement | null)?.value.startsWith('>') ?? false,
      undefined,
      { timeout: UI_TIMEOUT_MS },
    );
  }

  private async focusWorkbench(): Promise<void> {
    // VS Code listens for key bindings on the window; the page only needs to be the focused tab.
    await this.page.bringToFront();
  }
}

/** A regular expression matching exactly `text`, ignoring surrounding whitespace. */
function exactly(text: string): RegExp {
  return new RegExp(`^\\s*${escapeRegExp(text)}\\s*$`);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
