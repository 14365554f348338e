/**
 * A standalone Shared Futures scheduler (`node dist/cli.js scheduler`) in its own process on 127.0.0.1, as a
 * user would start one outside VS Code, for the e2e tests to connect the extension to.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { E2E_PATHS } from './paths';

/** A running standalone scheduler. */
export interface SchedulerProcess {
  /** ws://127.0.0.1:PORT */
  readonly address: string;
  readonly token: string;
  /** Everything it printed so far. */
  output(): string;
  stop(): Promise<void>;
}

/** Starts `shared-futures scheduler --port 0 --threads 1 --token <token>` and waits for its address. */
export async function startSchedulerProcess(token: string, timeoutMs = 30_000): Promise<SchedulerProcess> {
  const child = spawn(process.execPath, [path.join(E2E_PATHS.root, 'dist', 'cli.js'), 'scheduler', '--port', '0', '--threads', '1', '--token', token], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let printed = '';
  child.stdout?.on('data', (chunk: Buffer) => (printed += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (printed += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
  };
  try {
    const address = await waitForAddress(child, () => printed, timeoutMs);
    return { address, token, output: () => printed, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

function waitForAddress(child: ChildProcess, printed: () => string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const check = (): void => {
      const match = /Shared Futures scheduler at (ws:\/\/127\.0\.0\.1:\d+)/.exec(printed());
      if (match) {
        done();
        resolve(match[1]);
      }
    };
    const onExit = (): void => {
      done();
      reject(new Error(`the scheduler exited before printing its address: ${printed()}`));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`the scheduler printed no address within ${timeoutMs} ms: ${printed()}`));
    }, timeoutMs);
    const done = (): void => {
      clearTimeout(timer);
      child.stdout?.off('data', check);
      child.off('exit', onExit);
    };
    child.stdout?.on('data', check);
    child.once('exit', onExit);
    check();
  });
}
