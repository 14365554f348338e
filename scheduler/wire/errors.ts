/** Errors of the wire layer, each with a code; close codes sent to peers. */
import { SharedFuturesError } from '../protocol/errors';

export class WireError extends SharedFuturesError {
  constructor(code: string, message: string) {
    super(message, code);
  }
}

/** The scheduler refused the token (or none was given). */
export class AuthenticationError extends SharedFuturesError {
  constructor(message: string) {
    super(message, 'ERR_AUTHENTICATION');
  }
}

/** The connection to a remote scheduler failed or was lost. */
export class ConnectionError extends SharedFuturesError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'ERR_CONNECTION', options);
  }
}

/** WebSocket close codes (4000–4999 are the application's). */
export const CloseCode = {
  normal: 1000,
  goingAway: 1001,
  protocolError: 1002,
  tooBig: 1009,
  badHandshake: 4000,
  authFailed: 4001,
  versionMismatch: 4002,
  rateLimited: 4003,
  slowConsumer: 4004,
  duplicateClient: 4005,
  workerLost: 4006,
} as const;
