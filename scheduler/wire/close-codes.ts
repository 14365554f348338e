/**
 * WebSocket close codes the scheduler and its peers send (4000–4999 are the application's), and the one
 * table that turns a close into the error it stands for: the code picks the error class, and the code and
 * reason travel as fields of that error, never to be read back out of its message.
 */
import { AuthenticationError, ConnectionError } from '../protocol/errors';

export const CloseCode = {
  normal: 1000,
  goingAway: 1001,
  tooBig: 1009,
  badHandshake: 4000,
  authFailed: 4001,
  versionMismatch: 4002,
  rateLimited: 4003,
  slowConsumer: 4004,
  workerLost: 4006,
  /** A worker process sent a message of the wrong shape (a bug, or a build of another version). */
  badMessage: 4007,
} as const;

/** Closes that are no error: a peer that closed on purpose, or a scheduler shutting down. */
const ORDERLY: ReadonlySet<number> = new Set([CloseCode.normal, CloseCode.goingAway]);

/** The error class of each close that is one; every code not listed is a ConnectionError. */
const ERROR_OF_CLOSE: Readonly<Record<number, 'authentication'>> = {
  [CloseCode.authFailed]: 'authentication',
};

/**
 * The error a close stands for (undefined for an orderly close). `by` names who closed it when it was the
 * peer (a scheduler's address, a client's id); without it, this side closed the connection itself.
 */
export function closeError(code: number, reason: string, by?: string): ConnectionError | AuthenticationError | undefined {
  if (ORDERLY.has(code)) return undefined;
  const close = { closeCode: code, closeReason: reason };
  if (ERROR_OF_CLOSE[code] === 'authentication') {
    return new AuthenticationError(`${by ?? 'the peer'} refused the connection: ${reason || 'authentication failed'} (close code ${code})`, close);
  }
  const said = `(${code}${reason ? `: ${reason}` : ''})`;
  return new ConnectionError(by ? `${by} closed the connection ${said}` : `the connection was closed ${said}`, close);
}
