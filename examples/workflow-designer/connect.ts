/** How the three programs find the scheduler: the first argument or SHARED_FUTURES_SCHEDULER, and SHARED_FUTURES_TOKEN. */
import path from 'node:path';
import { Client, type Channel } from 'shared-futures';

/** A mistake the program explains in one line (no stack). */
export class ProgramError extends Error {}

export function connect(address = process.env.SHARED_FUTURES_SCHEDULER): Promise<Client> {
  if (!address) throw new ProgramError('pass the scheduler address (ws://host:port) or set SHARED_FUTURES_SCHEDULER');
  return Client.connect(address, { token: process.env.SHARED_FUTURES_TOKEN });
}

/**
 * Waits for a channel's history. An idle connection does not keep a process alive, and a pending
 * `ready` alone does not count as waiting yet, so a timer holds the process meanwhile.
 */
export async function whenReady(channel: Channel): Promise<void> {
  const hold = setInterval(() => undefined, 60_000);
  try {
    await channel.ready;
  } finally {
    clearInterval(hold);
  }
}

/** Ends the program after a failure with one line on stderr that says what to do, and exit code 1. */
export function exitOnFailure(err: unknown): never {
  process.stderr.write(`${path.basename(process.argv[1] ?? 'workflow', '.js')}: ${advice(err)}\n`);
  process.exit(1);
}

function advice(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown; name?: unknown; path?: unknown; cause?: { code?: unknown } };
  const message = typeof e?.message === 'string' ? e.message.replace(/\s*\n\s*/g, ' ') : String(err);
  if (err instanceof ProgramError) return message;
  if (e?.code === 'ERR_AUTHENTICATION') {
    return process.env.SHARED_FUTURES_TOKEN
      ? 'the scheduler refused the token in SHARED_FUTURES_TOKEN: set it to the token the scheduler printed when it started'
      : 'the scheduler needs its token: set SHARED_FUTURES_TOKEN to the token it printed when it started';
  }
  const code = e?.cause?.code ?? e?.code;
  if (code === 'ECONNREFUSED') return `${message.replace(/^cannot connect to (\S+):.*$/, 'no scheduler answers at $1')}: start one (shared-futures scheduler) or check the address`;
  if (code === 'ENOENT') return `no file ${typeof e.path === 'string' ? e.path : ''}: check the path`;
  if (e?.code === 'ERR_INVALID_ARGUMENT') return message;
  return `${typeof e?.name === 'string' && e.name !== 'Error' ? `${e.name}: ` : ''}${message}`;
}
