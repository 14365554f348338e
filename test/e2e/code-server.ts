/**
 * Runs code-server (VS Code 1.139 in the browser, with a Node extension host) on 127.0.0.1 with a fresh
 * profile: its own user-data and extensions folders, the packaged extension installed, and settings that keep
 * workspace trust, the welcome page and the chat panel out of the way.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, closeSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { E2E_PATHS } from './paths';

const execFileAsync = promisify(execFile);

/** User settings of every e2e profile. */
export const E2E_USER_SETTINGS = {
  'security.workspace.trust.enabled': false,
  'workbench.startupEditor': 'none',
  'chat.disableAIFeatures': true,
  'workbench.tips.enabled': false,
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  // An empty secondary side bar would only narrow the editor in screenshots.
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
} as const;

/** A running code-server. */
export interface CodeServer {
  /** Base URL, e.g. http://127.0.0.1:41234 */
  readonly url: string;
  /** The folder code-server opened. */
  readonly workspace: string;
  readonly userDataDir: string;
  readonly extensionsDir: string;
  /** code-server's own log (stdout and stderr). */
  readonly logFile: string;
  /** Stops code-server and every process it started, then removes the profile folders. */
  stop(): Promise<void>;
}

/** Options of `startCodeServer`. */
export interface CodeServerOptions {
  /** Folder to open. */
  workspace: string;
  /** `.vsix` files to install into the fresh profile. */
  extensions: string[];
  /** Where the log goes. */
  logFile: string;
  /** User settings on top of `E2E_USER_SETTINGS`. */
  settings?: Record<string, unknown>;
  /** How long to wait for code-server to answer, in ms. */
  startTimeoutMs?: number;
}

/** Everything still running, killed when the test process exits however it exits. */
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) {
    killGroup(child, 'SIGKILL');
  }
});

function codeServerEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${E2E_PATHS.node24Bin}${path.delimiter}${process.env.PATH ?? ''}` };
  // The test runner's own Node options (e.g. --test) must not leak into code-server's Node 24.
  delete env.NODE_OPTIONS;
  delete env.NODE_TEST_CONTEXT;
  return env;
}

/** Checks that scripts/e2e-setup.sh has run. */
export function assertInstalled(): void {
  for (const [what, file] of [
    ['Node 24', path.join(E2E_PATHS.node24Bin, 'node')],
    ['code-server', E2E_PATHS.codeServer],
    ['chromium', E2E_PATHS.chromium],
  ] as const) {
    if (!existsSync(file)) {
      throw new Error(`${what} is missing at ${file}: run scripts/e2e-setup.sh first (npm run test:e2e does)`);
    }
  }
}

/** Installs the extensions into a fresh profile, starts code-server and waits until it answers. */
export async function startCodeServer(options: CodeServerOptions): Promise<CodeServer> {
  assertInstalled();
  const profile = mkdtempSync(path.join(tmpdir(), 'sf-e2e-profile-'));
  const userDataDir = path.join(profile, 'user-data');
  const extensionsDir = path.join(profile, 'extensions');
  mkdirSync(path.join(userDataDir, 'User'), { recursive: true });
  mkdirSync(extensionsDir, { recursive: true });
  writeFileSync(path.join(userDataDir, 'User', 'settings.json'), JSON.stringify({ ...E2E_USER_SETTINGS, ...options.settings }, null, 2));
  // code-server otherwise creates ~/.config/code-server/config.yaml; keep the profile self-contained.
  const config = path.join(profile, 'config.yaml');
  writeFileSync(config, 'auth: none\ncert: false\n');
  const profileArgs = ['--config', config, '--user-data-dir', userDataDir, '--extensions-dir', extensionsDir];
  for (const vsix of options.extensions) {
    if (!existsSync(vsix)) {
      throw new Error(`${vsix} is missing: run npm run package first`);
    }
    await execFileAsync(E2E_PATHS.codeServer, [...profileArgs, '--install-extension', vsix], {
      env: codeServerEnv(),
      timeout: 120_000,
    });
  }

  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  mkdirSync(path.dirname(options.logFile), { recursive: true });
  const log = openSync(options.logFile, 'w');
  const child = spawn(
    E2E_PATHS.codeServer,
    [
      '--auth', 'none',
      '--bind-addr', `127.0.0.1:${port}`,
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-workspace-trust',
      '--disable-getting-started-override',
      ...profileArgs,
      options.workspace,
    ],
    // Its own process group, so stop() also ends the extension host and the other processes it forks.
    { env: codeServerEnv(), detached: true, stdio: ['ignore', log, log] },
  );
  closeSync(log);
  running.add(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const stop = async (): Promise<void> => {
    if (running.delete(child)) {
      killGroup(child, 'SIGTERM');
      const gone = await Promise.race([exited.then(() => true), delay(10_000).then(() => false)]);
      if (!gone) {
        killGroup(child, 'SIGKILL');
        await exited;
      }
      // Forked helpers may outlive the main process for a moment; make sure none is left.
      killGroup(child, 'SIGKILL');
    }
    rmSync(profile, { recursive: true, force: true });
  };

  try {
    await waitUntilAnswering(`${url}/healthz`, child, options.startTimeoutMs ?? 60_000, options.logFile);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, workspace: options.workspace, userDataDir, extensionsDir, logFile: options.logFile, stop };
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) {
    return;
  }
  try {
    process.kill(-child.pid, signal);
  } catch {
    // the group is already gone
  }
}

async function waitUntilAnswering(url: string, child: ChildProcess, timeoutMs: number, logFile: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`code-server exited (${child.exitCode ?? child.signalCode}) before answering; see ${logFile}`);
    }
    try {
      const response = await fetch(url);
      if (response.ok) {
        return;
      }
    } catch {
      // not listening yet
    }
    await delay(250);
  }
  throw new Error(`code-server did not answer ${url} within ${timeoutMs} ms; see ${logFile}`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
