/**
 * The per-user local scheduler that Jupyter kernels share, so two notebooks see one channel: a detached
 * `shared-futures scheduler` on loopback with a generated token. Its address, token and pid are kept in
 * `scheduler.json` (mode 0600) in a user-only folder under the user's runtime directory. A kernel joins
 * the one recorded there when it still answers, or starts a new one (one kernel at a time, under a lock
 * file); a scheduler that died or a lock whose owner died is detected and replaced, within a time limit.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

/** Where a kernel's `client` connects. */
export interface SchedulerTarget {
  address: string;
  token?: string;
  /** How it was chosen, for the banner and logs. */
  source: 'kernelspec' | 'environment' | 'per-user (joined)' | 'per-user (started)';
}

/** The content of scheduler.json. */
interface SchedulerRecord {
  address: string;
  token: string;
  pid: number;
}

/** A per-user scheduler that could not be reached or started; the message says what to do. */
export class UserSchedulerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserSchedulerError';
  }
}

/**
 * The folder of the per-user scheduler's state: `$SHARED_FUTURES_RUNTIME_DIR`, else
 * `$XDG_RUNTIME_DIR/shared-futures`, else Jupyter's runtime directory (`$JUPYTER_RUNTIME_DIR` or
 * `~/.local/share/jupyter/runtime`) + `/shared-futures`.
 */
export function userRuntimeDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.SHARED_FUTURES_RUNTIME_DIR) return path.resolve(env.SHARED_FUTURES_RUNTIME_DIR);
  if (env.XDG_RUNTIME_DIR) return path.join(env.XDG_RUNTIME_DIR, 'shared-futures');
  const jupyterRuntime = env.JUPYTER_RUNTIME_DIR ?? path.join(env.XDG_DATA_HOME ?? path.join(os.homedir(), '.local', 'share'), 'jupyter', 'runtime');
  return path.join(jupyterRuntime, 'shared-futures');
}

/** Options of `resolveScheduler`. */
export interface ResolveOptions {
  /** `--scheduler` of the kernelspec. */
  scheduler?: string;
  env?: NodeJS.ProcessEnv;
  /** The `shared-futures` CLI script that starts a scheduler (dist/cli.js). */
  cliPath: string;
  /** How long to wait for a scheduler to start, or for another kernel that starts one. Default 20 s. */
  timeoutMs?: number;
  log?: (line: string) => void;
}

/** Chooses the scheduler: the kernelspec's, the environment's, or the per-user one (started if needed). */
export async function resolveScheduler(options: ResolveOptions): Promise<SchedulerTarget> {
  const env = options.env ?? process.env;
  const fromUrl = (address: string, source: SchedulerTarget['source']): SchedulerTarget => {
    const url = new URL(address);
    const token = url.searchParams.get('token') ?? env.SHARED_FUTURES_TOKEN ?? undefined;
    url.search = '';
    return { address: url.toString().replace(/\/$/, ''), ...(token ? { token } : {}), source };
  };
  if (options.scheduler) return fromUrl(options.scheduler, 'kernelspec');
  if (env.SHARED_FUTURES_SCHEDULER) return fromUrl(env.SHARED_FUTURES_SCHEDULER, 'environment');
  const record = await ensureUserScheduler(userRuntimeDir(env), options);
  return { address: record.address, token: record.token, source: record.started ? 'per-user (started)' : 'per-user (joined)' };
}

/** Joins or starts the per-user scheduler whose state lives in `dir`. */
export async function ensureUserScheduler(dir: string, options: Pick<ResolveOptions, 'cliPath' | 'timeoutMs' | 'log'>): Promise<SchedulerRecord & { started: boolean }> {
  const log = options.log ?? (() => undefined);
  const deadline = Date.now() + (options.timeoutMs ?? 20_000);
  makePrivateDir(dir);
  const stateFile = path.join(dir, 'scheduler.json');
  const lockFile = path.join(dir, 'scheduler.lock');
  for (;;) {
    const record = readRecord(stateFile);
    if (record && (await answers(record))) {
      return { ...record, started: false };
    }
    if (tryLock(lockFile)) {
      try {
        // Another kernel may have finished starting one between our check and the lock.
        const again = readRecord(stateFile);
        if (again && (await answers(again))) return { ...again, started: false };
        if (again) log(`the per-user scheduler recorded in ${stateFile} (pid ${again.pid}) does not answer: starting a new one`);
        const started = await startScheduler(dir, options.cliPath, deadline);
        writePrivate(stateFile, JSON.stringify(started));
        return { ...started, started: true };
      } finally {
        fs.rmSync(lockFile, { force: true });
      }
    }
    if (lockIsStale(lockFile)) {
      log(`removing the stale lock ${lockFile}: the kernel that held it is gone`);
      fs.rmSync(lockFile, { force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new UserSchedulerError(`timed out waiting for another kernel to start the per-user scheduler (lock ${lockFile}); if no kernel is starting, remove that file`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Stops the per-user scheduler recorded in `dir`, if one runs (tests and `kernel uninstall`). */
export function stopUserScheduler(dir: string): number | undefined {
  const record = readRecord(path.join(dir, 'scheduler.json'));
  if (!record || !isAlive(record.pid)) return undefined;
  process.kill(record.pid, 'SIGTERM');
  return record.pid;
}

function makePrivateDir(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const stat = fs.statSync(dir);
  if (typeof process.getuid === 'function' && stat.uid !== process.getuid()) {
    throw new UserSchedulerError(`${dir} belongs to another user: set SHARED_FUTURES_RUNTIME_DIR to a folder of yours`);
  }
  if ((stat.mode & 0o077) !== 0) fs.chmodSync(dir, 0o700);
}

function writePrivate(file: string, text: string): void {
  const temp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temp, text, { mode: 0o600 });
  fs.renameSync(temp, file);
}

function readRecord(file: string): SchedulerRecord | undefined {
  try {
    const value = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<SchedulerRecord>;
    if (typeof value.address === 'string' && typeof value.token === 'string' && typeof value.pid === 'number') {
      return { address: value.address, token: value.token, pid: value.pid };
    }
  } catch {
    // missing or half-written: treated as no scheduler
  }
  return undefined;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The recorded process lives and its port accepts a connection within a second. */
async function answers(record: SchedulerRecord): Promise<boolean> {
  if (!isAlive(record.pid)) return false;
  let url: URL;
  try {
    url = new URL(record.address);
  } catch {
    return false;
  }
  return new Promise<boolean>((resolve) => {
    const socket = net.connect({ host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

function tryLock(lockFile: string): boolean {
  try {
    fs.writeFileSync(lockFile, String(process.pid), { flag: 'wx', mode: 0o600 });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

/** A lock whose owner died, or older than a minute (no start takes that long), is stale. */
function lockIsStale(lockFile: string): boolean {
  try {
    const pid = Number(fs.readFileSync(lockFile, 'utf8'));
    const age = Date.now() - fs.statSync(lockFile).mtimeMs;
    return !Number.isInteger(pid) || pid <= 0 || !isAlive(pid) || age > 60_000;
  } catch {
    return false;
  }
}

/** Starts a detached scheduler on loopback with a fresh token; resolves once it printed its address. */
async function startScheduler(dir: string, cliPath: string, deadline: number): Promise<SchedulerRecord> {
  const token = randomBytes(24).toString('hex');
  const logFile = path.join(dir, 'scheduler.log');
  const logFd = fs.openSync(logFile, 'w', 0o600);
  // The token travels in the environment, never on the command line where `ps` shows it.
  const child = spawn(process.execPath, [cliPath, 'scheduler', '--host', '127.0.0.1', '--port', '0'], {
    detached: true,
    stdio: ['ignore', logFd, logFd],
    env: { ...process.env, SHARED_FUTURES_TOKEN: token },
  });
  fs.closeSync(logFd);
  let exited: number | null | undefined;
  child.once('exit', (code) => (exited = code));
  child.unref();
  const pid = child.pid;
  if (pid === undefined) {
    throw new UserSchedulerError(`could not start ${process.execPath} ${cliPath} scheduler`);
  }
  for (;;) {
    const text = fs.readFileSync(logFile, 'utf8');
    const match = /scheduler at (wss?:\/\/\S+)/.exec(text);
    if (match) {
      return { address: match[1], token, pid };
    }
    if (exited !== undefined) {
      throw new UserSchedulerError(`the per-user scheduler exited (code ${exited}) before it listened; its log ${logFile} says: ${text.trim().split('\n').slice(-3).join(' / ')}`);
    }
    if (Date.now() > deadline) {
      process.kill(pid, 'SIGTERM');
      throw new UserSchedulerError(`the per-user scheduler did not start listening in time; see ${logFile}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
