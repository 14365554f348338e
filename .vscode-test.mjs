// @vscode/test-cli configuration: `npm run test:vscode` downloads desktop VS Code (so it needs the internet),
// starts it with this folder as the extension under development (dist/ must be built) and runs the mocha
// suite in test/vscode, compiled to out/. VSCODE_TEST_VERSION picks the VS Code version (default: the
// oldest one package.json's engines.vscode allows, so the claim is what gets tested).
import { defineConfig } from '@vscode/test-cli';
import { mkdtempSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

// A throw-away copy of the e2e fixture workspace, so the suite can never edit the repository's files.
const workspace = mkdtempSync(path.join(tmpdir(), 'sf-vscode-test-'));
cpSync('test/e2e/fixtures/workspace', workspace, { recursive: true });

export default defineConfig({
  label: 'extension',
  files: 'out/test/vscode/**/*.test.js',
  version: process.env.VSCODE_TEST_VERSION ?? '1.90.0',
  workspaceFolder: workspace,
  launchArgs: ['--disable-extensions', '--disable-workspace-trust', '--skip-welcome', '--skip-release-notes'],
  mocha: { ui: 'bdd', timeout: 60_000 },
});
