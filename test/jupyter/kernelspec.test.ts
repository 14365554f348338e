import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CLI } from './helpers';
import { spawnCli } from '../support/processes';

function cli(args: string[], env: NodeJS.ProcessEnv = process.env) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env });
}

test('kernel install writes kernel.json and logos; uninstall removes them', () => {
  const prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'sf-spec-'));
  try {
    const install = cli(['kernel', 'install', '--prefix', prefix, '--scheduler', 'ws://127.0.0.1:8786']);
    assert.equal(install.status, 0, install.stderr);
    const dir = path.join(prefix, 'share', 'jupyter', 'kernels', 'shared-futures');
    const spec = JSON.parse(fs.readFileSync(path.join(dir, 'kernel.json'), 'utf8'));
    assert.deepEqual(spec.argv, [process.execPath, fs.realpathSync(CLI), 'kernel', 'start', '{connection_file}', '--scheduler', 'ws://127.0.0.1:8786']);
    assert.equal(spec.display_name, 'TypeScript (Shared Futures)');
    assert.equal(spec.language, 'typescript');
    assert.equal(spec.interrupt_mode, 'message');
    for (const logo of ['logo-32x32.png', 'logo-64x64.png', 'logo-svg.svg']) assert.ok(fs.statSync(path.join(dir, logo)).size > 0, logo);
    assert.equal(fs.readFileSync(path.join(dir, 'logo-64x64.png')).subarray(1, 4).toString(), 'PNG');
    const uninstall = cli(['kernel', 'uninstall', '--prefix', prefix]);
    assert.equal(uninstall.status, 0, uninstall.stderr);
    assert.equal(fs.existsSync(dir), false);
    const again = cli(['kernel', 'uninstall', '--prefix', prefix]);
    assert.equal(again.status, 1);
    assert.match(again.stderr, /^shared-futures kernel uninstall: no kernelspec "shared-futures" is installed there/);
  } finally {
    fs.rmSync(prefix, { recursive: true, force: true });
  }
});

test('kernel install through a bin symlink points the kernelspec at the real dist/cli.js', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sf-bin-'));
  try {
    fs.mkdirSync(path.join(dir, 'bin'));
    fs.symlinkSync(CLI, path.join(dir, 'bin', 'shared-futures'));
    const install = spawnSync(process.execPath, [path.join(dir, 'bin', 'shared-futures'), 'kernel', 'install', '--prefix', dir], { encoding: 'utf8' });
    assert.equal(install.status, 0, install.stderr);
    const spec = JSON.parse(fs.readFileSync(path.join(dir, 'share', 'jupyter', 'kernels', 'shared-futures', 'kernel.json'), 'utf8'));
    assert.equal(spec.argv[1], fs.realpathSync(CLI));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('kernel install --user follows JUPYTER_DATA_DIR', () => {
  const data = fs.mkdtempSync(path.join(os.tmpdir(), 'sf-data-'));
  try {
    const install = cli(['kernel', 'install', '--user', '--name', 'my-ts'], { ...process.env, JUPYTER_DATA_DIR: data });
    assert.equal(install.status, 0, install.stderr);
    const spec = JSON.parse(fs.readFileSync(path.join(data, 'kernels', 'my-ts', 'kernel.json'), 'utf8'));
    assert.equal(spec.display_name, 'TypeScript (Shared Futures) [my-ts]');
  } finally {
    fs.rmSync(data, { recursive: true, force: true });
  }
});

test('user mistakes get one clear line, never a stack trace', async () => {
  const cases: [string[], RegExp][] = [
    [['kernel', 'install', '--user', '--prefix', '/tmp/x'], /choose one of --user, --sys-prefix and --prefix/],
    [['kernel', 'install', '--prefix', '/tmp/x', '--scheduler', 'http://h'], /a scheduler address starts with ws:\/\/ or wss:\/\//],
    [['kernel', 'install', '--prefix', '/tmp/x', '--name', 'bad name'], /kernel name 'bad name' may only hold/],
    [['kernel', 'install', '--bogus'], /unknown option --bogus/],
    [['kernel', 'frob'], /unknown kernel command 'frob'/],
    [['kernel', 'start'], /kernel start needs the connection file/],
    [['kernel', 'start', '/nonexistent/kernel-1.json'], /cannot read the connection file \/nonexistent\/kernel-1.json: ENOENT/],
  ];
  // Independent processes, so they run side by side (most of each is starting Node and loading the CLI).
  const runs = await Promise.all(
    cases.map(async ([args]) => {
      const run = spawnCli(args);
      return { status: await run.finished(60_000), stderr: run.stderr() };
    }),
  );
  cases.forEach(([args, message], i) => {
    const run = runs[i];
    assert.notEqual(run.status, 0, args.join(' '));
    assert.match(run.stderr.split('\n')[0], message, args.join(' '));
    assert.doesNotMatch(run.stderr, /^\s+at /m, `a stack trace for ${args.join(' ')}`);
  });
  const help = cli(['kernel', 'install', '--help']);
  assert.equal(help.status, 0);
  assert.match(help.stdout, /^usage: shared-futures kernel install \[options\]/);
  for (const option of ['--user', '--sys-prefix', '--prefix DIR', '--name NAME', '--scheduler ws://HOST:PORT']) assert.match(help.stdout, new RegExp(`^  ${option} `, 'm'));
});
