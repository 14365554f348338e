/**
 * The kernelspec Jupyter finds this kernel by: `<data dir>/kernels/<name>/kernel.json` plus logos. Where
 * the data dir is follows Jupyter's rules for `--user`, `--sys-prefix` and `--prefix`.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const DEFAULT_KERNEL_NAME = 'shared-futures';
export const DISPLAY_NAME = 'TypeScript (Shared Futures)';

/** Where a kernelspec goes. */
export type SpecLocation = { kind: 'user' } | { kind: 'sys-prefix' } | { kind: 'prefix'; dir: string };

/** A kernelspec that cannot be installed or removed; the message says what to do. */
export class KernelspecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KernelspecError';
  }
}

/** The `kernels` folder of a location. */
export function kernelsDir(location: SpecLocation, env: NodeJS.ProcessEnv = process.env): string {
  switch (location.kind) {
    case 'user': {
      const data = env.JUPYTER_DATA_DIR ?? path.join(env.XDG_DATA_HOME ?? path.join(os.homedir(), '.local', 'share'), 'jupyter');
      return path.join(data, 'kernels');
    }
    case 'sys-prefix':
      return path.join(sysPrefix(env), 'share', 'jupyter', 'kernels');
    case 'prefix':
      return path.join(path.resolve(location.dir), 'share', 'jupyter', 'kernels');
  }
}

/** The Python environment Jupyter runs in: an active venv or conda env, else python3's sys.prefix. */
function sysPrefix(env: NodeJS.ProcessEnv): string {
  if (env.VIRTUAL_ENV) return env.VIRTUAL_ENV;
  if (env.CONDA_PREFIX) return env.CONDA_PREFIX;
  try {
    return execFileSync('python3', ['-c', 'import sys; print(sys.prefix)'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    throw new KernelspecError('--sys-prefix needs python3 on PATH (the Python Jupyter runs in); use --user or --prefix DIR instead');
  }
}

/** What `installKernelspec` writes. */
export interface KernelspecOptions {
  location: SpecLocation;
  name?: string;
  /** `ws://…` of a standalone scheduler the kernel joins instead of the per-user one. */
  scheduler?: string;
  /** The CLI script whose `kernel start` the spec runs (dist/cli.js). */
  cliPath: string;
  /** The folder holding logo-32x32.png, logo-64x64.png and logo-svg.svg. */
  logoDir: string;
  env?: NodeJS.ProcessEnv;
}

/** Checks a kernel name as Jupyter does (letters, digits, `.`, `_`, `-`). */
export function checkKernelName(name: string): string {
  if (!/^[a-zA-Z0-9._-]+$/.test(name)) {
    throw new KernelspecError(`kernel name '${name}' may only hold letters, digits, '.', '_' and '-'`);
  }
  return name.toLowerCase();
}

/** Writes the kernelspec; returns its folder. */
export function installKernelspec(options: KernelspecOptions): string {
  const name = checkKernelName(options.name ?? DEFAULT_KERNEL_NAME);
  if (options.scheduler !== undefined && !/^wss?:\/\/[^/\s]+/.test(options.scheduler)) {
    throw new KernelspecError(`--scheduler takes a ws:// or wss:// address, got '${options.scheduler}'`);
  }
  if (!fs.existsSync(options.cliPath)) {
    throw new KernelspecError(`the kernel entry ${options.cliPath} is missing: run npm run build first`);
  }
  const dir = path.join(kernelsDir(options.location, options.env), name);
  const spec = {
    argv: [process.execPath, path.resolve(options.cliPath), 'kernel', 'start', '{connection_file}', ...(options.scheduler ? ['--scheduler', options.scheduler] : [])],
    display_name: name === DEFAULT_KERNEL_NAME ? DISPLAY_NAME : `${DISPLAY_NAME} [${name}]`,
    language: 'typescript',
    interrupt_mode: 'message',
    metadata: { shared_futures: { version: '0.1.0' }, debugger: false },
  };
  try {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'kernel.json'), `${JSON.stringify(spec, null, 2)}\n`);
    for (const logo of ['logo-32x32.png', 'logo-64x64.png', 'logo-svg.svg']) {
      fs.copyFileSync(path.join(options.logoDir, logo), path.join(dir, logo));
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM') {
      throw new KernelspecError(`cannot write ${dir} (permission denied): use --user, or --prefix DIR with a folder of yours`);
    }
    throw new KernelspecError(`cannot write the kernelspec to ${dir}: ${(err as Error).message}`);
  }
  return dir;
}

/** Removes the kernelspec; returns its folder, or undefined when none was there. */
export function uninstallKernelspec(location: SpecLocation, name: string = DEFAULT_KERNEL_NAME, env?: NodeJS.ProcessEnv): string | undefined {
  const dir = path.join(kernelsDir(location, env), checkKernelName(name));
  if (!fs.existsSync(path.join(dir, 'kernel.json'))) return undefined;
  try {
    fs.rmSync(dir, { recursive: true });
  } catch (err) {
    throw new KernelspecError(`cannot remove ${dir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return dir;
}
