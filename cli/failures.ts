/**
 * What the CLI says when something fails: one line that names the cause and what to do, never a stack.
 * Usage mistakes exit 2, failures at run time (a scheduler that is down, a wrong token, a port in use) exit 1.
 */
import { UsageError } from './args';

/** A failure the CLI has already put into words; `exitCode` 2 for the user's mistake in the command line. */
export class CliFailure extends Error {
  constructor(
    message: string,
    readonly exitCode: 1 | 2 = 1,
  ) {
    super(message);
    this.name = 'CliFailure';
  }
}

interface Coded {
  code?: unknown;
  cause?: unknown;
  message?: unknown;
  port?: unknown;
  address?: unknown;
  path?: unknown;
}

/** The errno-style code of an error or of its cause (`ECONNREFUSED`, `EADDRINUSE`, …). */
function systemCode(err: unknown): string | undefined {
  for (let e = err as Coded | undefined, depth = 0; e && depth < 4; e = e.cause as Coded | undefined, depth++) {
    if (typeof e.code === 'string' && /^E[A-Z]+$/.test(e.code)) return e.code;
  }
  return undefined;
}

/** Advice about reaching the scheduler at `address`: a scheduler that is down, a wrong token, a host that does not resolve. */
export function connectAdvice(err: unknown, address: string): string | undefined {
  const e = err as Coded;
  const message = typeof e?.message === 'string' ? e.message : '';
  if (e?.code === 'ERR_AUTHENTICATION') {
    return /a token is required/.test(message)
      ? `${address} needs a token: pass --token TOKEN or set SHARED_FUTURES_TOKEN (the scheduler prints its token when it starts)`
      : `${address} refused the token: pass the one the scheduler printed when it started (--token TOKEN or SHARED_FUTURES_TOKEN)`;
  }
  switch (systemCode(err)) {
    case 'ECONNREFUSED':
      return `no scheduler answers at ${address}: start one with 'shared-futures scheduler', or check the address`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot find the host of ${address}: check the address`;
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `cannot reach ${address}: check the address and that the scheduler's port is open`;
  }
  if (e?.code === 'ERR_CONNECTION') return `${oneLine(message)}: check the address`;
  return undefined;
}

/** The one line to print for `err` in `command` (`scheduler`, `worker`, …), and the exit code. */
export function describeFailure(err: unknown, command?: string): { message: string; exitCode: 1 | 2 } {
  if (err instanceof CliFailure) return { message: oneLine(err.message), exitCode: err.exitCode };
  if (err instanceof UsageError) return { message: oneLine(err.message), exitCode: 2 };
  const e = err as Coded;
  const code = systemCode(err);
  if (code === 'EADDRINUSE') {
    const where = typeof e.port === 'number' ? `port ${e.port}${typeof e.address === 'string' ? ` on ${e.address}` : ''}` : 'the port';
    // Only a worker listens for peers (--listen); every other command's listening port is --port.
    const advice =
      command === 'worker'
        ? `(another worker?): choose another with --listen HOST:PORT, or PORT 0 for a free one`
        : `(another scheduler?): choose another with --port, or --port 0 for a free one`;
    return { message: `${where} is already in use ${advice}`, exitCode: 1 };
  }
  if (code === 'EADDRNOTAVAIL') return { message: `cannot listen on ${typeof e.address === 'string' ? e.address : 'that host'}: it is not an address of this machine (try --host 127.0.0.1 or --host 0.0.0.0)`, exitCode: 1 };
  if (code === 'EACCES' && typeof e.port === 'number') return { message: `port ${e.port} needs privileges: choose one above 1023 with --port`, exitCode: 1 };
  if (code === 'ENOENT' && typeof e.path === 'string') return { message: `no file ${e.path}: check the path`, exitCode: 2 };
  if (e?.code === 'ERR_INVALID_ARGUMENT') return { message: oneLine(String(e.message)), exitCode: 2 };
  const message = err instanceof Error ? `${err.name === 'Error' ? '' : `${err.name}: `}${err.message}` : String(err);
  return { message: oneLine(message), exitCode: 1 };
}

/** The line to print for `err` in `command` (e.g. `run`, `kernel install`), and the exit code. */
export function failureLine(command: string | undefined, err: unknown): { line: string; exitCode: 1 | 2 } {
  const { message, exitCode } = describeFailure(err, command?.split(' ')[0]);
  const name = command ? `shared-futures ${command}` : 'shared-futures';
  // A usage mistake points at the help that lists what the command takes.
  const help = exitCode === 2 && !/--help|\bhelp\b/.test(message) ? ` (see ${name} --help)` : '';
  return { line: `${name}: ${message}${help}`, exitCode };
}

/** Folds a message onto one line (a message with a newline would look like two problems). */
export function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}
