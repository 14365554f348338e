/**
 * kernel-jupyter: our Jupyter kernel over ZeroMQ, side by side with tslab in the same run.
 *   - execute_request → execute_reply for `1 + 1`, warm kernel;
 *   - complete_request → complete_reply on a 50-cell notebook (the 50 cells ran first; completion after `.`).
 * p50 and p99 of each, per kernel. tslab is installed from npm into .cache/tslab on first use (kept out of
 * the project's dependencies: its TypeScript fork would take over the `tsc` bin). Measures; asserts nothing.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { freePort } from '../test/support/ports';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import * as zmq from 'zeromq';
import { MessageFactory } from '../kernel/jupyter/session';
import { stopUserScheduler } from '../kernel/jupyter/user-scheduler';
import { decode, encode, Signer, type JsonObject, type JupyterMessage } from '../kernel/jupyter/wire';
import { percentile, report } from './report';
import { spawnProc } from '../test/support/processes';

const ROOT = path.resolve(__dirname, '..', '..');
const TSLAB_VERSION = '1.0.22';
const TSLAB_DIR = path.join(ROOT, '.cache', 'tslab');
const TSLAB_BIN = path.join(TSLAB_DIR, 'node_modules', 'tslab', 'bin', 'tslab');
const EXECUTE_RUNS = 300;
const COMPLETE_RUNS = 60;
const CELLS = 50;

/** A minimal Jupyter client: one DEALER on shell, requests answered in order. */
class ShellClient {
  private readonly factory = new MessageFactory();
  private readonly signer: Signer;
  private readonly replies: Signer;
  readonly shell = new zmq.Dealer({ linger: 0 });

  constructor(key: string, port: number) {
    this.signer = new Signer(key);
    this.replies = new Signer(key);
    this.shell.connect(`tcp://127.0.0.1:${port}`);
  }

  async request(msgType: string, content: JsonObject, timeoutMs = 60_000, metadata: JsonObject = {}): Promise<JupyterMessage> {
    const message = { ...this.factory.make(msgType, content), metadata };
    await this.shell.send(encode(message, this.signer));
    const deadline = Date.now() + timeoutMs;
    this.shell.receiveTimeout = timeoutMs;
    for (;;) {
      const reply = decode(await this.shell.receive(), this.replies);
      if ((reply.parent_header as { msg_id?: string }).msg_id === message.header.msg_id) return reply;
      if (Date.now() > deadline) throw new Error(`no reply to ${msgType}`);
    }
  }

  /** Runs code as the notebook cell `cellId`, which JupyterLab and nbclient send in the request's metadata. */
  execute(code: string, cellId?: string, timeoutMs = 60_000): Promise<JupyterMessage> {
    return this.request('execute_request', { code, silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: true }, timeoutMs, cellId ? { cellId } : {});
  }

  close(): void {
    this.shell.close();
  }
}

interface KernelUnderTest {
  name: string;
  /** Send the cell id in execute_request metadata, as JupyterLab and nbclient do (tslab has no use for it). */
  cellIds: boolean;
  command: (connectionFile: string) => string[];
  env?: NodeJS.ProcessEnv;
}

/** The 50 cells: declarations of values, functions and types that later cells (and completion) see. */
function notebookCells(): string[] {
  const cells: string[] = [];
  for (let i = 0; i < CELLS; i++) {
    cells.push(
      i % 3 === 0
        ? `interface Shape${i} { id: number; label: string; area(): number }\nconst shape${i}: Shape${i} = { id: ${i}, label: 'cell ${i}', area: () => ${i} * 2 };`
        : i % 3 === 1
          ? `function scale${i}(xs: number[], k = ${i}): number[] { return xs.map((x) => x * k); }\nconst scaled${i} = scale${i}([1, 2, 3]);`
          : `const record${i} = { index: ${i}, name: 'r${i}', tags: ['a', 'b'] as string[], nested: { depth: ${i} } };`,
    );
  }
  return cells;
}

async function measure(kernelUnderTest: KernelUnderTest): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `sf-bench-${kernelUnderTest.name}-`));
  const key = 'bench-key';
  const ports = { shell_port: await freePort(), iopub_port: await freePort(), stdin_port: await freePort(), control_port: await freePort(), hb_port: await freePort() };
  const connection = path.join(dir, 'connection.json');
  fs.writeFileSync(connection, JSON.stringify({ transport: 'tcp', ip: '127.0.0.1', ...ports, key, signature_scheme: 'hmac-sha256', kernel_name: kernelUnderTest.name }));
  const [command, ...args] = kernelUnderTest.command(connection);
  const child = spawnProc(command, args, { cwd: dir, env: { ...process.env, ...kernelUnderTest.env, SHARED_FUTURES_RUNTIME_DIR: path.join(dir, 'rt') }, name: kernelUnderTest.name });
  const client = new ShellClient(key, ports.shell_port);
  const cellId = (id: string) => (kernelUnderTest.cellIds ? id : undefined);
  let step = 'kernel_info';
  try {
    const started = performance.now();
    await client.request('kernel_info_request', {});
    const warm = await client.execute('1 + 1', cellId('trivial'));
    report(`kernel-jupyter-start-${kernelUnderTest.name}`, performance.now() - started, 'ms', { note: 'process start to first execute_reply' });
    if (warm.content.status !== 'ok') throw new Error(`1 + 1 failed: ${JSON.stringify(warm.content)}`);
    for (const [index, cell] of notebookCells().entries()) {
      step = `notebook cell ${index}`;
      const reply = await client.execute(cell, cellId(`cell-${index}`));
      if (reply.content.status !== 'ok') throw new Error(`a notebook cell failed on ${kernelUnderTest.name}: ${JSON.stringify(reply.content)}`);
    }

    step = 'execute 1 + 1';
    const execute: number[] = [];
    let lost = 0;
    for (let i = 0; i < EXECUTE_RUNS + 20; i++) {
      const t0 = performance.now();
      // The same cell run again and again, as pressing Shift+Enter on it does. A reply that never comes
      // (tslab loses some here) is counted, not waited for.
      const reply = await client.execute('1 + 1', cellId('trivial'), 5000).catch(() => undefined);
      if (!reply) lost++;
      else if (i >= 20) execute.push(performance.now() - t0);
    }
    report(`kernel-jupyter-execute-${kernelUnderTest.name}`, percentile(execute, 50), 'ms', {
      p99: Number(percentile(execute, 99).toPrecision(4)),
      runs: execute.length,
      lost,
      cell: '1 + 1',
      target: kernelUnderTest.name === 'shared-futures' ? 'p50 <= 5 ms, below tslab' : undefined,
    });

    // Completion after `record47.` in a new cell, with the 50 cells (and the 300 `1 + 1`) before it.
    const code = `const total = shape48.area() + record47.`;
    step = 'complete';
    const complete: number[] = [];
    let matches: string[] = [];
    let completeLost = 0;
    for (let i = 0; i < COMPLETE_RUNS + 5; i++) {
      const t0 = performance.now();
      const reply = await client.request('complete_request', { code, cursor_pos: code.length }, 5000).catch(() => undefined);
      if (!reply) {
        completeLost++;
        continue;
      }
      if (i >= 5) complete.push(performance.now() - t0);
      matches = reply.content.matches as string[];
    }
    report(`kernel-jupyter-complete-${kernelUnderTest.name}`, percentile(complete, 50), 'ms', {
      p99: Number(percentile(complete, 99).toPrecision(4)),
      runs: complete.length,
      lost: completeLost,
      cells: CELLS,
      matches: matches.slice(0, 4).join(','),
      target: kernelUnderTest.name === 'shared-futures' ? 'p50 <= 50 ms, below tslab' : undefined,
    });
    await client.request('shutdown_request', { restart: false }, 10_000).catch(() => undefined);
  } catch (err) {
    throw new Error(`${kernelUnderTest.name}, at ${step}: ${(err as Error).message}\n${child.stderr().slice(-2000)}`);
  } finally {
    client.close();
    // SIGTERM to the kernel and what it started, SIGKILL if that is not heeded within 5 s.
    const timer = setTimeout(() => void child.stop('SIGKILL'), 5000);
    await child.stop('SIGTERM');
    clearTimeout(timer);
    stopUserScheduler(path.join(dir, 'rt'));
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Installs tslab into .cache/tslab when it is not there; returns why not when that fails. */
function ensureTslab(): string | undefined {
  if (fs.existsSync(TSLAB_BIN)) return undefined;
  fs.mkdirSync(TSLAB_DIR, { recursive: true });
  if (!fs.existsSync(path.join(TSLAB_DIR, 'package.json'))) fs.writeFileSync(path.join(TSLAB_DIR, 'package.json'), '{ "private": true }\n');
  process.stderr.write(`bench: installing tslab@${TSLAB_VERSION} into ${TSLAB_DIR}\n`);
  const npm = spawnSync('npm', ['install', '--no-audit', '--no-fund', `tslab@${TSLAB_VERSION}`], { cwd: TSLAB_DIR, encoding: 'utf8' });
  if (npm.status !== 0 || !fs.existsSync(TSLAB_BIN)) return `npm install tslab@${TSLAB_VERSION} failed: ${(npm.stderr ?? '').trim().split('\n').slice(-3).join(' / ')}`;
  return undefined;
}

export async function run(): Promise<void> {
  const load = os.loadavg()[0];
  const ours: KernelUnderTest = { name: 'shared-futures', cellIds: true, command: (file) => [process.execPath, path.join(ROOT, 'dist', 'cli.js'), 'kernel', 'start', file] };
  await measure(ours);
  const tslabProblem = ensureTslab();
  if (tslabProblem) {
    process.stderr.write(`bench: kernel-jupyter: no tslab figures: ${tslabProblem}\n`);
  } else {
    await measure({ name: 'tslab', cellIds: false, command: (file) => [process.execPath, TSLAB_BIN, 'kernel', '--config-path', file] });
  }
  report('kernel-jupyter-load', load, 'loadavg-1min', { cores: os.cpus().length });
}
