/**
 * Request correlation: a message that expects an answer carries `req`, a number unique on this client
 * (from 1); the scheduler's `reply` carries it back. Each pending request keeps the connection alive
 * (and so the process) until it is answered or failed.
 */
import { TaskError, fromErrorInfo, type ErrorInfo } from '../protocol/errors';
import type { ClientMessage } from '../protocol/messages';
import type { KeepAlive } from './future';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** A message that expects a reply, before it is numbered. */
export type RequestMessage = DistributiveOmit<Extract<ClientMessage, { req: number }>, 'req'>;

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void };

export class Requests {
  private readonly pending = new Map<number, Pending>();
  private nextReq = 1;

  constructor(private readonly keepAlive: KeepAlive) {}

  /**
   * Numbers `msg`, hands it to `post`, and resolves with the reply's value (rejects with its error).
   * `keepAlive: false`: the request does not keep the process alive (someone else waits, and holds it).
   */
  send(msg: RequestMessage, post: (msg: ClientMessage) => void, keepAlive = true): Promise<unknown> {
    const req = this.nextReq++;
    const letGo = keepAlive ? this.keepAlive.hold() : () => undefined;
    return new Promise((resolve, reject) => {
      this.pending.set(req, {
        resolve: (v) => {
          letGo();
          resolve(v);
        },
        reject: (e) => {
          letGo();
          reject(e);
        },
      });
      post({ ...msg, req } as ClientMessage);
    });
  }

  /** The scheduler answered `req`. */
  settle(req: number, value: unknown, error: ErrorInfo | undefined): void {
    const p = this.pending.get(req);
    if (!p) return;
    this.pending.delete(req);
    if (error) p.reject(replyError(error));
    else p.resolve(value);
  }

  /** Fails every request in flight (their answers will not come). */
  failAll(err: Error): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) p.reject(err);
  }
}

/** The error a failed reply stands for: a task's failure (no code, or not finished) or a runtime error. */
function replyError(info: ErrorInfo): Error {
  switch (info.code) {
    case 'ERR_NOT_FINISHED':
    case undefined:
      return new TaskError(info.key ?? '', info);
    default:
      return fromErrorInfo(info);
  }
}
