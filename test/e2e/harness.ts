/**
 * One end-to-end session: a copy of a fixture workspace, code-server with the packaged extension installed
 * in a fresh profile, and a headless Chromium showing it. `close()` tears all of it down and is safe to call
 * after a failed start or twice.
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { startCodeServer, type CodeServer } from './code-server';
import { E2E_PATHS } from './paths';
import { Workbench } from './workbench';

/** A running VS Code with the extension, driven by Playwright. */
export interface VsCodeSession {
  readonly codeServer: CodeServer;
  readonly workbench: Workbench;
  /** The temporary copy of the fixture workspace that VS Code has open. */
  readonly workspace: string;
  /** Where this session's screenshots and logs go. */
  readonly artifacts: string;
  close(): Promise<void>;
}

/** Options of `startVsCodeSession`. */
export interface SessionOptions {
  /** Names the artifacts folder of this session. */
  name: string;
  /** Folder under test/e2e/fixtures to copy and open. */
  fixture: string;
  /** More files to copy into the workspace: name in the workspace → path from the repository root. */
  files?: Record<string, string>;
  /** User settings on top of the e2e defaults (e.g. `sharedFutures.localThreads`). */
  settings?: Record<string, unknown>;
}

/** Starts code-server on a copy of the fixture and opens it in Chromium. */
export async function startVsCodeSession(options: SessionOptions): Promise<VsCodeSession> {
  const artifacts = path.join(E2E_PATHS.artifacts, options.name);
  rmSync(artifacts, { recursive: true, force: true });
  const workspace = mkdtempSync(path.join(tmpdir(), `sf-e2e-${options.fixture}-`));
  cpSync(path.join(E2E_PATHS.fixtures, options.fixture), workspace, { recursive: true });
  for (const [name, from] of Object.entries(options.files ?? {})) {
    cpSync(path.join(E2E_PATHS.root, from), path.join(workspace, name));
  }
  const cleanups: (() => Promise<void>)[] = [async () => rmSync(workspace, { recursive: true, force: true })];
  const close = async (): Promise<void> => {
    const errors: unknown[] = [];
    while (cleanups.length > 0) {
      const cleanup = cleanups.pop() as () => Promise<void>;
      await cleanup().catch((err: unknown) => errors.push(err));
    }
    if (errors.length > 0) {
      throw new AggregateError(errors, 'e2e teardown failed');
    }
  };
  try {
    const codeServer = await startCodeServer({
      workspace,
      extensions: [E2E_PATHS.vsix],
      settings: options.settings,
      logFile: path.join(artifacts, 'code-server.log'),
    });
    cleanups.push(() => codeServer.stop());
    const workbench = await Workbench.open(`${codeServer.url}/?folder=${encodeURIComponent(workspace)}`, artifacts);
    cleanups.push(() => workbench.close());
    return { codeServer, workbench, workspace, artifacts, close };
  } catch (err) {
    await close().catch(() => undefined);
    throw err;
  }
}
