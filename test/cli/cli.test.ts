/**
 * The `shared-futures` command as a user meets it: the built bundle (dist/cli.js, `npm run build`) spawned
 * with a mistake, and what it says. Every mistake is one line on stderr that says what to do, with no stack
 * frame; exit 2 for a usage mistake, 1 for a failure at run time; --help on stdout with exit 0.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client } from '../../scheduler';

const ROOT = path.resolve(__dirname, '../../..');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const WORKFLOW = path.join(ROOT, 'build', 'examples', 'workflow-designer');
const TOKEN = 'cli-test-token-0123';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sf-cli-'));
/** The environment of every spawned command: no token or scheduler inherited from whoever runs the tests. */
const baseEnv: NodeJS.ProcessEnv = { ...process.env };
delete baseEnv.SHARED_FUTURES_TOKEN;
delete baseEnv.SHARED_FUTURES_SCHEDULER;

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

const running = new Set<ChildProcess>();

/** Runs `node file ...args` to its end (at most 60 s). */
function runNode(file: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [file, ...args], { env: { ...baseEnv, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`'${args.join(' ')}' did not exit within 60 s; stdout:\n${stdout}\nstderr:\n${stderr}`));
    }, 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      running.delete(child);
      resolve({ code, stdout, stderr });
    });
  });
}

const cli = (args: string[], env: NodeJS.ProcessEnv = {}) => runNode(CLI, args, env);

/** Starts `node dist/cli.js ...args` and resolves once its stdout matches `ready`. */
function startCli(args: string[], ready: RegExp, env: NodeJS.ProcessEnv = {}): Promise<{ child: ChildProcess; match: RegExpMatchArray; output: () => string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...baseEnv, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child);
    let out = '';
    const timer = setTimeout(() => reject(new Error(`'${args.join(' ')}' did not print ${String(ready)} within 30 s:\n${out}`)), 30_000);
    const check = () => {
      const match = ready.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve({ child, match, output: () => out });
      }
    };
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      check();
    });
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', (code) => {
      running.delete(child);
      clearTimeout(timer);
      reject(new Error(`'${args.join(' ')}' exited (${String(code)}) before printing ${String(ready)}:\n${out}`));
    });
  });
}

/** Exactly one line on stderr, matching `advice`, and no stack frame. */
function assertOneLine(ran: Ran, exitCode: number, advice: RegExp): void {
  const context = `exit ${String(ran.code)}\nstdout:\n${ran.stdout}\nstderr:\n${ran.stderr}`;
  assert.equal(ran.code, exitCode, context);
  assert.doesNotMatch(ran.stderr, /^\s+at /m, context);
  assert.ok(ran.stderr.endsWith('\n'), context);
  const lines = ran.stderr.slice(0, -1).split('\n');
  assert.equal(lines.length, 1, context);
  assert.match(lines[0], advice, context);
}

/** A port nobody listens on (it was free a moment ago). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function notebook(name: string, sources: string[]): string {
  const file = path.join(tmp, name);
  const cells = sources.map((source, i) => ({ cell_type: 'code', execution_count: null, id: `c${i}`, metadata: {}, outputs: [], source }));
  fs.writeFileSync(file, JSON.stringify({ cells, metadata: {}, nbformat: 4, nbformat_minor: 5 }));
  return file;
}

let scheduler: { child: ChildProcess; address: string; port: number };

before(async () => {
  const started = await startCli(['scheduler', '--port', '0', '--threads', '1', '--token', TOKEN], /scheduler at (ws:\/\/127\.0\.0\.1:(\d+))/);
  scheduler = { child: started.child, address: started.match[1], port: Number(started.match[2]) };
});

after(() => {
  for (const child of running) child.kill('SIGTERM');
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('help and version', () => {
  for (const argv of [['--help'], ['-h'], ['scheduler', '--help'], ['worker', '--help'], ['run', '--help'], ['kernel', '--help'], ['kernel', 'install', '-h'], ['kernel', 'start', '--help']]) {
    test(`${argv.join(' ')} prints usage on stdout and exits 0`, async () => {
      const ran = await cli(argv);
      assert.equal(ran.code, 0, ran.stderr);
      assert.equal(ran.stderr, '');
      assert.match(ran.stdout, /^usage: shared-futures /);
      if (argv[0] !== '--help' && argv[0] !== '-h') assert.ok(ran.stdout.startsWith(`usage: shared-futures ${argv[0]}`), ran.stdout);
    });
  }

  test('a subcommand usage lists every option it accepts', async () => {
    const ran = await cli(['run', '--help']);
    for (const option of ['--scheduler', '--token', '--out', '--timeout', '--threads', '--type-check']) assert.match(ran.stdout, new RegExp(`^  ${option} `, 'm'));
  });

  test('--version is the version in package.json', async () => {
    const { version } = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const ran = await cli(['--version']);
    assert.equal(ran.code, 0);
    assert.equal(ran.stdout, `shared-futures ${version}\n`);
  });

  test('--version reads the package.json beside the bundle, not a version written into it', async () => {
    // The bundle in a package of another version (its dependencies are the checkout's).
    const pkg = path.join(tmp, 'pkg');
    fs.mkdirSync(path.join(pkg, 'dist'), { recursive: true });
    fs.copyFileSync(CLI, path.join(pkg, 'dist', 'cli.js'));
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(pkg, 'node_modules'), 'dir');
    fs.writeFileSync(path.join(pkg, 'package.json'), JSON.stringify({ name: 'shared-futures', version: '9.8.7' }));
    const ran = await runNode(path.join(pkg, 'dist', 'cli.js'), ['--version']);
    assert.equal(ran.stdout, 'shared-futures 9.8.7\n', ran.stderr);
  });
});

describe('usage mistakes: one line, exit 2', () => {
  const mistakes: [string[], RegExp][] = [
    [['worker', 'not-a-url'], /^shared-futures worker: a scheduler address starts with ws:\/\/ or wss:\/\/, for example ws:\/\/127\.0\.0\.1:8786/],
    [['worker', '127.0.0.1:8786'], /^shared-futures worker: .*write ws:\/\/127\.0\.0\.1:8786/],
    [['scheduler', '--threads', '-1'], /^shared-futures scheduler: --threads takes a whole number from 0 to 1024, got '-1'/],
    [['scheduler', '--port', '1.5'], /^shared-futures scheduler: --port takes a whole number from 0 to 65535, got '1\.5'/],
    [['scheduler', '--port', 'http'], /^shared-futures scheduler: --port takes a whole number from 0 to 65535, got 'http'/],
    [['worker', 'ws://127.0.0.1:8786', '--threads', '0'], /^shared-futures worker: --threads takes a whole number from 1 to 1024, got '0'/],
    [['run', 'x.sfnb', '--timeout', '-1'], /^shared-futures run: --timeout takes a positive number, got '-1'/],
    [['run', 'x.sfnb', '--type-check', 'strict'], /^shared-futures run: --type-check takes warn, block or off, got 'strict'/],
    [['scheduler', '--bogus'], /^shared-futures scheduler: unknown option --bogus \(see shared-futures scheduler --help\)$/],
    [['scheduler', '--thread', '2'], /^shared-futures scheduler: unknown option --thread \(did you mean --threads\?\)/],
    [['frobnicate'], /^shared-futures: unknown command 'frobnicate': use scheduler, worker, run or kernel/],
    [['kernel', 'frobnicate'], /^shared-futures kernel: unknown kernel command 'frobnicate': use install, uninstall or start/],
    [['scheduler', '--port'], /^shared-futures scheduler: --port needs a value: --port PORT/],
    [['worker'], /^shared-futures worker: worker needs ws:\/\/HOST:PORT/],
    [['run'], /^shared-futures run: run needs NOTEBOOK\.sfnb/],
    [['kernel', 'install', '--user', '--prefix', 'x'], /^shared-futures kernel install: choose one of --user, --sys-prefix and --prefix, not --user and --prefix/],
    [['scheduler', '--host', '0.0.0.0', '--port', '0'], /^shared-futures scheduler: a token is required to listen on 0\.0\.0\.0.*pass --token/],
    [['worker', 'ws://127.0.0.1:8786', '--listen', '0.0.0.0:0'], /^shared-futures worker: a token is required to listen on 0\.0\.0\.0.*pass --token/],
    [['worker', 'ws://127.0.0.1:8786', '--listen', 'localhost'], /^shared-futures worker: --listen takes HOST:PORT, for example 127\.0\.0\.1:0 \(got 'localhost'\)/],
  ];
  for (const [argv, advice] of mistakes) {
    test(argv.join(' '), async () => assertOneLine(await cli(argv), 2, advice));
  }

  test('run on a missing file', async () => {
    assertOneLine(await cli(['run', path.join(tmp, 'missing.sfnb')]), 2, /^shared-futures run: no file .*missing\.sfnb: check the path$/);
  });

  test('run on a file that is not a notebook', async () => {
    const file = path.join(tmp, 'text.sfnb');
    fs.writeFileSync(file, 'just some text\n');
    assertOneLine(await cli(['run', file]), 2, /^shared-futures run: .*text\.sfnb is not a valid \.sfnb notebook: not valid JSON/);
  });
});

describe('failures at run time: one line, exit 1', () => {
  test('scheduler on a port in use', async () => {
    assertOneLine(await cli(['scheduler', '--port', String(scheduler.port), '--threads', '0']), 1, new RegExp(`^shared-futures scheduler: port ${scheduler.port} on 127\\.0\\.0\\.1 is already in use .*--port 0 for a free one$`));
  });

  test('worker listening on a port in use', async () => {
    const ran = await cli(['worker', scheduler.address, '--threads', '1', '--token', TOKEN, '--listen', `127.0.0.1:${scheduler.port}`]);
    assertOneLine(ran, 1, new RegExp(`^shared-futures worker: port ${scheduler.port} on 127\\.0\\.0\\.1 is already in use \\(another worker\\?\\): choose another with --listen HOST:PORT, or PORT 0 for a free one$`));
    assert.doesNotMatch(ran.stdout, /serving/, 'a worker that could not listen does not say it is serving');
  });

  test('worker when no scheduler runs there', async () => {
    const port = await closedPort();
    const ran = await cli(['worker', `ws://127.0.0.1:${port}`, '--threads', '1', '--token', TOKEN]);
    assertOneLine(ran, 1, new RegExp(`^shared-futures worker: no scheduler answers at ws://127\\.0\\.0\\.1:${port}: start one with 'shared-futures scheduler'`));
    assert.doesNotMatch(ran.stdout, /serving/, 'a worker that never connected does not say it is serving');
  });

  test('run --scheduler when no scheduler runs there', async () => {
    const port = await closedPort();
    assertOneLine(await cli(['run', notebook('down.sfnb', ['1 + 1']), '--scheduler', `ws://127.0.0.1:${port}`]), 1, /^shared-futures run: no scheduler answers at/);
  });

  test('worker without a token', async () => {
    assertOneLine(await cli(['worker', scheduler.address, '--threads', '1']), 1, /^shared-futures worker: ws:\/\/\S+ needs a token: pass --token TOKEN or set SHARED_FUTURES_TOKEN/);
  });

  test('worker with a wrong token', async () => {
    assertOneLine(await cli(['worker', scheduler.address, '--threads', '1', '--token', 'not-the-token']), 1, /^shared-futures worker: ws:\/\/\S+ refused the token: pass the one the scheduler printed/);
  });

  test('run with a wrong token', async () => {
    assertOneLine(await cli(['run', notebook('token.sfnb', ['1 + 1']), '--scheduler', scheduler.address], { SHARED_FUTURES_TOKEN: 'not-the-token' }), 1, /^shared-futures run: ws:\/\/\S+ refused the token/);
  });

  test('run meeting a channel an earlier run stopped on the same scheduler: advice, and no stack of the wire library', async () => {
    const file = notebook('stops.sfnb', ["const c = client.channel('cli-test-once');\nc.append(1);\nawait c.flush();\nawait c.stop();"]);
    const first = await cli(['run', file, '--scheduler', scheduler.address, '--token', TOKEN]);
    assert.equal(first.code, 0, first.stderr);
    const second = await cli(['run', file, '--scheduler', scheduler.address, '--token', TOKEN]);
    assert.equal(second.code, 1, second.stderr);
    assert.doesNotMatch(second.stderr, /^\s+at .*node_modules[\\/]ws[\\/]/m, second.stderr);
    const lines = second.stderr.trimEnd().split('\n');
    assert.match(lines[lines.length - 1], /^shared-futures run: cell 1 failed: ChannelStoppedError: .*stopped stays stopped \(delete it with chan\.delete\(\)/);
  });
});

describe('worker', () => {
  test('says it is serving only once the scheduler lists it', async () => {
    const worker = await startCli(['worker', scheduler.address, '--threads', '1', '--token', TOKEN], /Shared Futures worker (\S+) with 1 threads, serving (\S+)\n/);
    assert.equal(worker.match[2], scheduler.address);
    const client = await Client.connect(scheduler.address, { token: TOKEN, reconnect: false });
    try {
      const info = await client.schedulerInfo();
      assert.ok(
        info.workers.some((w) => w.id === worker.match[1]),
        `${worker.match[1]} printed "serving" but the scheduler lists ${JSON.stringify(info.workers)}`,
      );
    } finally {
      await client.close();
      worker.child.kill('SIGTERM');
    }
  });
});

describe('workflow-designer programs', () => {
  test('submit without SHARED_FUTURES_TOKEN', async () => {
    const ran = await runNode(path.join(WORKFLOW, 'submit.js'), [scheduler.address, path.join(ROOT, 'examples', 'workflow-designer', 'graph.json')]);
    assertOneLine(ran, 1, /^submit: the scheduler needs its token: set SHARED_FUTURES_TOKEN/);
  });

  test('status with a wrong SHARED_FUTURES_TOKEN', async () => {
    const ran = await runNode(path.join(WORKFLOW, 'status.js'), [scheduler.address, 'some-key'], { SHARED_FUTURES_TOKEN: 'not-the-token' });
    assertOneLine(ran, 1, /^status: the scheduler refused the token in SHARED_FUTURES_TOKEN/);
  });

  test('service when the scheduler is down', async () => {
    const port = await closedPort();
    const ran = await runNode(path.join(WORKFLOW, 'service.js'), [`ws://127.0.0.1:${port}`], { SHARED_FUTURES_TOKEN: TOKEN });
    assertOneLine(ran, 1, new RegExp(`^service: no scheduler answers at ws://127\\.0\\.0\\.1:${port}: start one`));
  });
});
