/**
 * Notebooks running through the kernel in a real VS Code (code-server in headless Chromium), as a user runs
 * them: examples/channels.sfnb with Run All and its live channel view; one notebook iterating a channel that
 * a second notebook fills; connecting to a standalone `shared-futures scheduler` through the command palette
 * with its token and running a cell there; a wrong token that fails and leaves that connection in place.
 * Every step leaves a screenshot in .e2e-artifacts/notebooks/.
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { startVsCodeSession, type VsCodeSession } from './harness';
import { E2E_PATHS } from './paths';
import { startSchedulerProcess, type SchedulerProcess } from './scheduler-process';

const KERNEL = 'Shared Futures (TypeScript)';
/** Cells start a scheduler, a kernel worker and tasks on a 2-core machine: outputs may take a while. */
const RUN_TIMEOUT_MS = 120_000;
const TOKEN = 'e2e-token-for-the-standalone-scheduler';

/** The runtime's client, loaded from the built bundle, for a script outside VS Code. */
interface ScriptClient {
  channel(name: string): { append(value: unknown): void; flush(): Promise<void> };
  close(): Promise<void>;
}
function runtime(): { Client: { connect(address: string, options: { token?: string }): Promise<ScriptClient> } } {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(path.join(E2E_PATHS.root, 'dist', 'runtime.js'));
}

/** Appends `values` to channel `name` of the scheduler at `address`, as a script outside VS Code would. */
async function appendFromScript(address: string, token: string, name: string, values: unknown[]): Promise<void> {
  const client = await runtime().Client.connect(address, { token });
  try {
    const channel = client.channel(name);
    for (const value of values) {
      channel.append(value);
    }
    await channel.flush();
  } finally {
    await client.close();
  }
}

describe('Shared Futures notebooks in code-server', { timeout: 900_000 }, () => {
  let session: VsCodeSession | undefined;
  let scheduler: SchedulerProcess | undefined;
  const vs = (): VsCodeSession => {
    assert.ok(session, 'the VS Code session did not start');
    return session;
  };

  before(async () => {
    session = await startVsCodeSession({
      name: 'notebooks',
      fixture: 'notebooks',
      files: { 'channels.sfnb': 'examples/channels.sfnb' },
      // The local scheduler also listens (on a free port), so its address is announced.
      settings: { 'sharedFutures.localThreads': 2, 'sharedFutures.listen': true, 'sharedFutures.listenPort': 0 },
    });
  });

  afterEach(async (t) => {
    await session?.workbench.screenshot(`end-${t.name}`).catch(() => undefined);
    await session?.workbench.dismissQuickInput().catch(() => undefined);
  });

  after(async () => {
    await scheduler?.stop();
    await session?.close();
  });

  it('runs examples/channels.sfnb with Run All and shows what its cells print, with a live channel view', async () => {
    const { workbench } = vs();
    await workbench.openFile('channels.sfnb');
    const cells = await workbench.notebookCells(2);
    assert.equal(cells[1].kind, 'code');
    assert.match(cells[1].text, /client\.channel\('squares'\)/);
    await workbench.selectNotebookKernel(KERNEL);
    await workbench.screenshot('10-channels-kernel-selected');

    // The notebook editor renders only the outputs in view: a tall window shows every cell's at once.
    await workbench.page.setViewportSize({ width: 1440, height: 3600 });
    await workbench.runCommand('Notebook: Run All');
    // The local scheduler starts on the first run and, with sharedFutures.listen on, says where it listens.
    const listening = await workbench.waitForNotification(/listens at ws:\/\/127\.0\.0\.1:\d+/);
    const address = /ws:\/\/127\.0\.0\.1:\d+/.exec(listening)?.[0] as string;

    // The last cell's result: the stopped channel counts six appends and still holds six.
    const text = await workbench.waitForWebviewText(/\[ true, 6, 6 \]/, RUN_TIMEOUT_MS);
    assert.match(text, /<Channel squares: 4 items>/, 'cell 4 prints String(chan)');
    assert.match(text, /\[ 1, 4, 9, 16 \]/, 'cell 4 gathers the four squares');
    assert.match(text, /second client saw \[ 1, 4, 9, 16, 25, 36 \]/, 'cell 7 prints what the task reading the channel saw');
    assert.match(text, /ChannelStoppedError: channel 'squares' is stopped/, 'cell 8 shows the refused append');

    // Cell 2's result is the live channel view drawn by the extension's renderer; it went on updating after
    // its cell finished, until the channel was stopped with six finished futures.
    const views = await workbench.poll(
      'the renderer to show the stopped channel',
      () => workbench.webviewElementTexts('.sf-status'),
      (all) => all.some((t) => /squares: 6 items, stopped/.test(t) && /6 finished/.test(t)),
      RUN_TIMEOUT_MS,
    );
    assert.ok(views.length >= 2, `expected the channel and future views, saw ${JSON.stringify(views)}`);
    // Every code cell keeps its success mark, also those whose outputs changed after they ended.
    const editor = await workbench.notebookEditor();
    await workbench.poll(
      'all five code cells to show success',
      () => editor.locator('.code-cell-row .codicon-notebook-state-success').count(),
      (n) => n === 5,
    );
    await workbench.screenshot('11-channels-run-all-whole');
    await workbench.page.setViewportSize({ width: 1440, height: 900 });
    await workbench.waitForWebviewText(/squares: 6 items, stopped/);
    await workbench.screenshot('11-channels-run-all');
    // The same without the toasts (the README's picture of a notebook with live outputs).
    await workbench.runCommand('Notifications: Clear All Notifications');
    await workbench.page.locator('.notifications-toasts .notification-toast').first().waitFor({ state: 'hidden' });
    await workbench.quickInput.waitFor({ state: 'hidden' });
    await workbench.screenshot('12-channels-live-outputs');

    // The listening scheduler is a real one: it refuses a client without its token.
    await assert.rejects(runtime().Client.connect(address, { token: 'not-the-token' }));
  });

  it('iterates in one notebook a channel that a second notebook fills', async () => {
    const { workbench } = vs();
    await workbench.openFile('consumer.sfnb');
    await workbench.notebookCells(2);
    await workbench.selectNotebookKernel(KERNEL);
    await workbench.runCommand('Notebook: Run All');
    // The consumer waits for items: its cell keeps running while the producer notebook appends.
    await (await workbench.notebookEditor()).locator('.code-cell-row .codicon-notebook-state-executing').first().waitFor({ timeout: RUN_TIMEOUT_MS });
    await workbench.screenshot('20-consumer-waiting');

    await workbench.openFile('producer.sfnb');
    await workbench.notebookCells(2);
    await workbench.selectNotebookKernel(KERNEL);
    await workbench.runCommand('Notebook: Run All');
    await workbench.waitForWebviewText(/producer stopped after 5/, RUN_TIMEOUT_MS);
    await workbench.screenshot('21-producer-ran');

    await workbench.openFile('consumer.sfnb');
    const text = await workbench.waitForWebviewText(/consumer saw 5 items: 10, 20, 30, 40, 50/, RUN_TIMEOUT_MS);
    for (const value of [10, 20, 30, 40, 50]) {
      assert.match(text, new RegExp(`consumer got ${value}\\b`));
    }
    await workbench.screenshot('22-consumer-saw-all');
  });

  it('interrupts a waiting cell keeping the state, and Restart Kernel clears it', async () => {
    const { workbench } = vs();
    await workbench.openFile('interrupt.sfnb');
    await workbench.notebookCells(3);
    await workbench.selectNotebookKernel(KERNEL);
    await workbench.runCommand('Notebook: Run All');
    await workbench.waitForWebviewText(/cell 2 is waiting/, RUN_TIMEOUT_MS);
    const editor = await workbench.notebookEditor();
    // While cells run, the toolbar's Run All turns into Interrupt.
    await editor.locator('.notebook-toolbar-container .action-item', { hasText: 'Interrupt' }).first().click();
    await workbench.poll(
      'cell 2 to end as failed',
      () => editor.locator('.code-cell-row .codicon-notebook-state-error').count(),
      (n) => n === 1,
    );
    await workbench.screenshot('50-interrupted');

    const runCell3 = async (): Promise<void> => {
      const cell3 = (await workbench.notebookEditor()).locator('.code-cell-row').nth(2);
      await cell3.locator('.view-lines').click(); // focuses the cell that Execute Cell runs
      await workbench.runCommand('Notebook: Execute Cell');
    };
    await runCell3();
    await workbench.waitForWebviewText(/kept survives: a value from cell 1/, RUN_TIMEOUT_MS);

    await workbench.runCommand('Shared Futures: Restart Kernel');
    await workbench.waitForNotification(/Kernel restarted/);
    await runCell3();
    const text = await workbench.waitForWebviewText(/kept is gone/, RUN_TIMEOUT_MS);
    assert.doesNotMatch(text, /cell 2 was not interrupted/);
    await workbench.screenshot('51-restarted');
  });

  it('connects to a standalone scheduler from the command palette with its token and runs a cell there', async () => {
    const { workbench } = vs();
    scheduler = await startSchedulerProcess(TOKEN);
    await appendFromScript(scheduler.address, TOKEN, 'from-outside', ['hello from a script', 42]);

    await workbench.runCommand('Shared Futures: Connect to Scheduler…');
    const input = workbench.quickInput.locator('input');
    await input.waitFor({ state: 'visible' });
    await input.fill(scheduler.address);
    await input.press('Enter');
    await workbench.quickInput.getByText(`Token for ${scheduler.address}`).waitFor({ state: 'visible' });
    await input.fill(TOKEN);
    await workbench.screenshot('30-connect-token');
    await input.press('Enter');
    await workbench.waitForNotification(new RegExp(`Connected to the Shared Futures scheduler at ${escapeRegExp(scheduler.address)}`));

    await workbench.openFile('remote.sfnb');
    await workbench.notebookCells(2);
    await workbench.selectNotebookKernel(KERNEL);
    await workbench.runCommand('Notebook: Run All');
    await workbench.waitForWebviewText(/remote channel holds \["hello from a script",42\]; 12 squared is 144/, RUN_TIMEOUT_MS);
    await workbench.screenshot('31-remote-cell');
  });

  it('shows an error for a wrong token and keeps the previous connection', async () => {
    const { workbench } = vs();
    assert.ok(scheduler, 'the standalone scheduler did not start');
    const address = scheduler.address;

    await workbench.runCommand('Shared Futures: Connect to Scheduler…');
    // The address is now a recent one: pick it, then replace the stored token with a wrong one.
    const recent = workbench.quickInput
      .locator('.quick-input-list .monaco-list-row')
      .filter({ has: workbench.page.locator('.label-name', { hasText: address }) })
      .first();
    await recent.waitFor({ timeout: 30_000 });
    await recent.click();
    const input = workbench.quickInput.locator('input');
    await workbench.quickInput.getByText(`Token for ${address}`).waitFor({ state: 'visible' });
    await input.fill('a-wrong-token-1234');
    await input.press('Enter');
    const error = await workbench.waitForNotification(new RegExp(`Could not connect to ${escapeRegExp(address)}`));
    assert.match(error, new RegExp(`Still connected to ${escapeRegExp(address)}`));
    await workbench.screenshot('40-wrong-token');

    // The notebook still runs on the same scheduler: it sees a value appended there after the failure.
    await appendFromScript(address, TOKEN, 'from-outside', ['after the wrong token']);
    await workbench.openFile('remote.sfnb');
    await workbench.notebookCells(2);
    await workbench.runCommand('Notebook: Run All');
    await workbench.waitForWebviewText(/remote channel holds \["hello from a script",42,"after the wrong token"\]/, RUN_TIMEOUT_MS);
    await workbench.screenshot('41-still-connected');
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
