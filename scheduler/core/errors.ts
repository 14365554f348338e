/** Errors the core answers a client message with (as the reply's error), never throwing past the stimulus. */
import type { ErrorInfo } from '../protocol/errors';
import { MAX_CHANNEL_NAME } from '../protocol/messages';

/** A malformed message: answered with an error, the scheduler goes on. */
export class ProtocolError extends Error {
  readonly code = 'ERR_PROTOCOL';
  constructor(message: string) {
    super(message);
    this.name = 'ProtocolError';
  }
}

/** An answer that is an error about a key; its info goes back to the client as the reply's error. */
export class InfoError extends Error {
  constructor(readonly info: ErrorInfo) {
    super(info.message);
  }
}

export function toInfo(err: unknown): ErrorInfo {
  if (err instanceof InfoError) return err.info;
  if (err instanceof Error) return { name: err.name, message: err.message, code: (err as { code?: string }).code ?? 'ERR_PROTOCOL' };
  return { name: 'Error', message: String(err), code: 'ERR_PROTOCOL' };
}

export function validateChannelName(name: unknown): asserts name is string {
  if (typeof name !== 'string') throw new ProtocolError(`a channel name must be a string, got ${typeof name}`);
  if (name.length === 0) throw new ProtocolError('a channel name must not be empty');
  if (name.length > MAX_CHANNEL_NAME) throw new ProtocolError(`a channel name is at most ${MAX_CHANNEL_NAME} characters, got ${name.length}`);
}
