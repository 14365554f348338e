/**
 * The packaged extension in a real VS Code (code-server 1.139 in headless Chromium): it installs, its
 * commands are in the palette, it activates for its view and its notebooks, Connect validates addresses, and
 * `.sfnb` files open as notebooks showing their cells and saved outputs.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { startVsCodeSession, type VsCodeSession } from './harness';

const COMMAND_TITLES = [
  'Shared Futures: Connect to Scheduler…',
  'Shared Futures: Start Local Scheduler',
  'Shared Futures: Disconnect',
  'Shared Futures: Restart Kernel',
  'Shared Futures: Open Dashboard',
];

describe('Shared Futures extension in code-server', { timeout: 600_000 }, () => {
  let session: VsCodeSession | undefined;
  const vs = (): VsCodeSession => {
    assert.ok(session, 'the VS Code session did not start');
    return session;
  };

  before(async () => {
    session = await startVsCodeSession({ name: 'extension', fixture: 'workspace' });
    await session.workbench.screenshot('00-workbench');
  });

  afterEach(async (t) => {
    // The state at the end of every test, passed or failed, for whoever reads the run.
    await session?.workbench.screenshot(`end-${t.name}`).catch(() => undefined);
    await session?.workbench.dismissQuickInput().catch(() => undefined);
  });

  after(async () => {
    await session?.close();
  });

  it('lists every Shared Futures command in the command palette', async () => {
    const labels = await vs().workbench.paletteCommands('Shared Futures:');
    for (const title of COMMAND_TITLES) {
      assert.ok(labels.includes(title), `"${title}" is not in the palette; it lists: ${labels.join(' | ')}`);
    }
  });

  it('activates for its view and shows the scheduler as not connected', async () => {
    const { workbench } = vs();
    await workbench.openViewContainer('Shared Futures');
    const rows = await workbench.treeItems('Channels');
    await workbench.screenshot('01-channels-view');
    assert.deepEqual(rows, ['Scheduler not connected']);
  });

  it('rejects a scheduler address that is not ws:// or wss:// with a visible message', async () => {
    const { workbench } = vs();
    await workbench.runCommand('Shared Futures: Connect to Scheduler…');
    const input = workbench.quickInput.locator('input');
    await input.waitFor({ state: 'visible' });
    await input.fill('http://127.0.0.1:8786');
    const message = workbench.quickInput.getByText('A scheduler address starts with ws:// or wss://');
    await message.waitFor({ state: 'visible' });
    await workbench.screenshot('02-connect-invalid-address');

    // Enter does not accept an invalid address: the box stays open with the message.
    await input.press('Enter');
    assert.equal(await workbench.quickInput.isVisible(), true, 'the input box closed on an invalid address');
    assert.equal(await message.isVisible(), true);

    // A ws:// address is accepted by the validation: the message goes away.
    await input.fill('ws://127.0.0.1:8786');
    await message.waitFor({ state: 'hidden' });
  });

  it('starts the local scheduler in the extension host, keeps it when a connect fails, and disconnects', async () => {
    const { workbench } = vs();
    await workbench.openViewContainer('Shared Futures');
    await workbench.runCommand('Shared Futures: Start Local Scheduler');
    // The Scheduler row may add details after the connection (workers, threads): match its start.
    await workbench.waitForFirstTreeItem('Channels', /^Scheduler local\b/);
    await workbench.screenshot('04-local-scheduler');

    // Nothing listens on port 1: the connection fails, says so, and the local scheduler stays.
    await workbench.runCommand('Shared Futures: Connect to Scheduler…');
    const input = workbench.quickInput.locator('input');
    await input.fill('ws://127.0.0.1:1');
    await input.press('Enter');
    await workbench.quickInput.getByText('Token for ws://127.0.0.1:1').waitFor({ state: 'visible' });
    await workbench.page.keyboard.press('Enter'); // no token
    const error = await workbench.waitForNotification(/Could not connect to ws:\/\/127\.0\.0\.1:1/);
    assert.match(error, /Still connected to the local scheduler/);
    await workbench.screenshot('05-connect-failed');
    await workbench.waitForFirstTreeItem('Channels', /^Scheduler local\b/);

    await workbench.runCommand('Shared Futures: Disconnect');
    await workbench.waitForFirstTreeItem('Channels', /^Scheduler not connected\b/);
  });

  it('opens an .sfnb file as a notebook with its cells and saved outputs', async () => {
    const { workbench } = vs();
    await workbench.openFile('hello.sfnb');
    const cells = await workbench.notebookCells(3);
    assert.deepEqual(
      cells.map((c) => c.kind),
      ['markdown', 'code', 'code'],
    );
    assert.equal(cells[1].text, 'const answer: number = 6 * 7;');
    assert.equal(cells[2].text, 'console.log(`saved output: the answer is ${answer}`);\nanswer');
    // Markdown and outputs render inside the notebook's webview.
    const shown = await workbench.waitForWebviewText(/saved output: the answer is 42/);
    assert.match(shown, /Hello from a Shared Futures notebook/);
    await workbench.screenshot('03-notebook');
  });
});
