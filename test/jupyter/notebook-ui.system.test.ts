/**
 * The kernel in a real Jupyter front-end: Debian's classic Notebook server (python3-notebook) with the
 * installed kernelspec, driven in headless Chromium. A cell shows a list of futures that finish one by
 * one; the live view (our text/html twin, as classic Notebook has no renderer for our mime type) updates in
 * place through update_display_data until every future is finished. The first state and the final one
 * are saved as docs/jupyter-live-view-running.png and docs/jupyter-live-view.png for the README.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { freePort } from '../support/ports';
import * as path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { jupyterSandbox, requireJupyterPython, ROOT, type JupyterSandbox } from './helpers';
import { spawnProc, type Proc } from '../support/processes';
import { waitUntil } from '../support/wait';

const CHROMIUM = process.env.SF_CHROMIUM ?? '/usr/bin/chromium';
const TOKEN = 'sf-notebook-ui-test';
let sandbox: JupyterSandbox;
let server: Proc | undefined;
let browser: Browser | undefined;
const serverLog = () => server?.output() ?? '';
let port = 0;

before(async () => {
  requireJupyterPython(['notebook', 'jupyter_client']);
  assert.ok(fs.existsSync(CHROMIUM), `the UI test needs Debian's chromium at ${CHROMIUM}: apt-get install -y chromium (.ci/run installs it)`);
  assert.equal(spawnSync('jupyter', ['notebook', '--version']).status, 0, 'jupyter notebook is missing: apt-get install -y python3-notebook jupyter-notebook');
  // The default name, so the picture shows the display name users see (JUPYTER_PATH puts the sandbox first).
  sandbox = jupyterSandbox('shared-futures');
  const notebookDir = path.join(sandbox.dir, 'notebooks');
  fs.mkdirSync(notebookDir);
  const notebook = {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { kernelspec: { name: sandbox.kernelName, display_name: 'TypeScript (Shared Futures)', language: 'typescript' } },
    cells: [
      {
        cell_type: 'code',
        id: 'live',
        metadata: {},
        execution_count: null,
        outputs: [],
        source: [
          '// Six tasks that finish one after another: the view below updates in place as they do.\n',
          'const squares = client.map(async (x: number) => { await sleep(400 * x); return x * x; }, [1, 2, 3, 4, 5, 6]);\n',
          'squares',
        ],
      },
    ],
  };
  fs.writeFileSync(path.join(notebookDir, 'live-view.ipynb'), JSON.stringify(notebook));
  port = await freePort();
  const notebookServer = spawnProc(
    'jupyter',
    ['notebook', '--no-browser', '--allow-root', '--ip=127.0.0.1', `--port=${port}`, `--NotebookApp.token=${TOKEN}`, `--notebook-dir=${notebookDir}`],
    { env: sandbox.env, name: 'jupyter notebook' },
  );
  server = notebookServer;
  let exited = false;
  void notebookServer.exited.then(() => (exited = true));
  await waitUntil(
    'the notebook server to answer /api/status',
    async () => {
      if (exited) throw new Error(`the notebook server exited:\n${serverLog()}`);
      return fetch(`http://127.0.0.1:${port}/api/status?token=${TOKEN}`).then(
        (r) => r.ok,
        () => false,
      );
    },
    { timeoutMs: 60_000, intervalMs: 200, detail: () => `notebook server log:\n${serverLog()}` },
  );
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
});

after(async () => {
  await browser?.close();
  // The notebook server asks for confirmation on the first SIGINT; SIGTERM ends it and its kernels.
  await server?.stop('SIGTERM');
  await sandbox?.cleanup();
});

test('classic Notebook shows the live view of futures and updates it in place until all finished', async () => {
  assert.ok(browser);
  const page = await browser.newPage({ viewport: { width: 1100, height: 440 } });
  try {
    await page.goto(`http://127.0.0.1:${port}/notebooks/live-view.ipynb?token=${TOKEN}`);
    // Browser-side expressions as strings: this file is compiled without the DOM library.
    await page.waitForFunction('window.Jupyter && Jupyter.notebook && Jupyter.notebook.kernel && Jupyter.notebook.kernel.info_reply && Jupyter.notebook.kernel.info_reply.status === "ok"', undefined, { timeout: 60_000 });
    // The kernel's name and logo as the front-end shows them.
    await page.waitForSelector('#kernel_indicator .kernel_indicator_name', { timeout: 10_000 });
    assert.match(await page.innerText('#kernel_indicator .kernel_indicator_name'), /TypeScript \(Shared Futures\)/);

    await page.evaluate('Jupyter.notebook.execute_all_cells()');
    const output = page.locator('.output_subarea').first();
    // First state: not everything finished yet (the tasks take 0.4 to 2.4 s).
    await output.locator('table').waitFor({ timeout: 60_000 });
    const first = await output.innerText();
    assert.match(first, /6 futures/);
    assert.doesNotMatch(first, /6 finished/, 'the first state should still have running or pending futures');
    await page.screenshot({ path: path.join(ROOT, 'docs', 'jupyter-live-view-running.png') });
    // Then, in the same output, through update_display_data: all six finished, also after the cell ended.
    await page.waitForFunction("/6 futures: 6 finished/.test((document.querySelector('.output_subarea') || {}).textContent || '')", undefined, { timeout: 60_000 });
    assert.equal(await page.locator('.output_subarea').count(), 1, 'the update must replace the view, not add one');
    assert.equal(await output.locator('script').count(), 0);
    const text = await output.innerText();
    assert.match(text, /100% settled/);
    assert.equal((text.match(/finished/g) ?? []).length >= 7, true, 'every row says finished');
    const picture = path.join(ROOT, 'docs', 'jupyter-live-view.png');
    await page.screenshot({ path: picture });
    assert.ok(fs.statSync(picture).size > 10_000);
  } catch (err) {
    await page.screenshot({ path: path.join(ROOT, '.cache', 'notebook-ui-failure.png') }).catch(() => undefined);
    throw new Error(`${(err as Error).message}\nnotebook server log:\n${serverLog().slice(-3000)}`);
  } finally {
    await page.close();
  }
});
