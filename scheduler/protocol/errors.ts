/** Error classes raised by the Shared Futures runtime. Every one carries a stable `code`. */

/** Base class: every error the runtime raises on purpose is one of these. */
export class SharedFuturesError extends Error {
  readonly code: string;
  constructor(message: string, code = 'ERR_SHARED_FUTURES', options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Bad input at an API call: a wrong type, an empty name, an invalid option. */
export class InvalidArgumentError extends SharedFuturesError {
  constructor(message: string) {
    super(message, 'ERR_INVALID_ARGUMENT');
  }
}

/** A value that the transport cannot carry (a function, a symbol, a cycle on a wire that has none). */
export class SerializationError extends SharedFuturesError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'ERR_SERIALIZATION', options);
  }
}

/** `append` after the channel was stopped (by this client or any other). */
export class ChannelStoppedError extends SharedFuturesError {
  constructor(readonly channel: string, message = `channel '${channel}' is stopped: no more appends are accepted`) {
    super(message, 'ERR_CHANNEL_STOPPED');
  }
}

/** The channel was deleted: its iteration ended and its futures were released. */
export class ChannelDeletedError extends ChannelStoppedError {
  constructor(channel: string, message = `channel '${channel}' was deleted`) {
    super(channel, message);
    (this as { code: string }).code = 'ERR_CHANNEL_DELETED';
  }
}

/** `result()` of a future whose task was cancelled. */
export class CancelledError extends SharedFuturesError {
  constructor(readonly key: string, message = `future ${key} was cancelled`) {
    super(message, 'ERR_CANCELLED');
  }
}

/** A wait (`result(timeoutMs)`, `gather`) that did not finish in time. */
export class TimeoutError extends SharedFuturesError {
  constructor(message: string) {
    super(message, 'ERR_TIMEOUT');
  }
}

/** The scheduler no longer holds the key: nobody wanted it, so it was released and forgotten. */
export class FutureReleasedError extends SharedFuturesError {
  constructor(readonly key: string, message = `future ${key} was released: the scheduler no longer holds it`) {
    super(message, 'ERR_FUTURE_RELEASED');
  }
}

/** The data of a finished task was lost with the worker that held it and cannot be recomputed. */
export class FutureLostError extends SharedFuturesError {
  constructor(readonly key: string, message = `future ${key} was lost: its data existed only on a worker that is gone`) {
    super(message, 'ERR_FUTURE_LOST');
  }
}

/** The client was closed (or its connection ended) while the call was pending. */
export class ClientClosedError extends SharedFuturesError {
  constructor(message = 'the client is closed') {
    super(message, 'ERR_CLIENT_CLOSED');
  }
}

/** A task raised: `name`, `message` and the remote stack are the task's own. */
export class TaskError extends SharedFuturesError {
  readonly key: string;
  readonly remoteName: string;
  readonly remoteStack: string | undefined;
  constructor(key: string, info: ErrorInfo) {
    super(info.message, info.code ?? 'ERR_TASK_FAILED');
    this.key = key;
    this.remoteName = info.name;
    this.remoteStack = info.stack;
    this.name = info.name || 'TaskError';
    if (info.stack) this.stack = `${info.stack}\n    --- raised in task ${key} ---`;
  }
}

/** The plain-data form of an error, as it crosses threads and sockets. */
export interface ErrorInfo {
  name: string;
  message: string;
  stack?: string;
  code?: string;
  /** The key the error is about, when it is about one (the typed error is rebuilt from it). */
  key?: string;
  /** The channel the error is about, when it is about one. */
  channel?: string;
}

/** Turns anything thrown into an ErrorInfo that can be sent. */
export function toErrorInfo(err: unknown): ErrorInfo {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return {
      name: err.name,
      message: err.message,
      stack: err.stack,
      ...(typeof code === 'string' ? { code } : {}),
      ...(err instanceof SharedFuturesError ? subjectOf(err) : {}),
    };
  }
  return { name: 'Error', message: typeof err === 'string' ? err : safeString(err) };
}

/** The key and channel one of our errors is about, as ErrorInfo fields. */
function subjectOf(err: SharedFuturesError): Pick<ErrorInfo, 'key' | 'channel'> {
  const { key, channel } = err as { key?: unknown; channel?: unknown };
  return { ...(typeof key === 'string' ? { key } : {}), ...(typeof channel === 'string' ? { channel } : {}) };
}

function safeString(value: unknown): string {
  try {
    return String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/** Rebuilds a typed error from its ErrorInfo when it names one of ours. */
export function fromErrorInfo(info: ErrorInfo): Error {
  switch (info.code) {
    case 'ERR_CHANNEL_STOPPED':
      return new ChannelStoppedError(info.channel ?? '', info.message);
    case 'ERR_CHANNEL_DELETED':
      return new ChannelDeletedError(info.channel ?? '', info.message);
    case 'ERR_INVALID_ARGUMENT':
      return new InvalidArgumentError(info.message);
    case 'ERR_SERIALIZATION':
      return new SerializationError(info.message);
    case 'ERR_FUTURE_RELEASED':
      return new FutureReleasedError(info.key ?? '', info.message);
    case 'ERR_CANCELLED':
      return new CancelledError(info.key ?? '', info.message);
    case 'ERR_FUTURE_LOST':
      return new FutureLostError(info.key ?? '', info.message);
    case 'ERR_TIMEOUT':
      return new TimeoutError(info.message);
    case 'ERR_CLIENT_CLOSED':
      return new ClientClosedError(info.message);
    default:
      return new SharedFuturesError(info.message, info.code ?? 'ERR_SHARED_FUTURES');
  }
}

/** A frame or message a peer sent that the wire cannot take (bad frame, too big, malformed). */
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
