import { after, before, test } from 'node:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { assertUnittestPassed, jupyterSandbox, requireJupyterPython, ROOT, runPython, type JupyterSandbox } from './helpers';

let sandbox: JupyterSandbox;

before(() => {
  requireJupyterPython();
  sandbox = jupyterSandbox();
});
after(() => sandbox?.cleanup());

test('nbclient runs the examples as .ipynb; two notebooks share a channel; interrupt, restart and shutdown via jupyter_client', async () => {
  // Executed notebooks land in .cache/jupyter-notebooks (git-ignored) for a look, and for the README's picture.
  const out = path.join(ROOT, '.cache', 'jupyter-notebooks');
  fs.mkdirSync(out, { recursive: true });
  const env = { ...sandbox.env, SF_EXAMPLES: path.join(ROOT, 'examples'), SF_OUT: out };
  assertUnittestPassed(await runPython('notebooks.py', env, [], 480_000), 8);
});
