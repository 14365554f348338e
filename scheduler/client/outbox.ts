/**
 * The client's outgoing messages. This is the one place on the client path that batches per tick: what a
 * client posts during one tick leaves as one batch at the next microtask checkpoint (a very large submit
 * leaves in parts, SUBMIT_CHUNK tasks each, as soon as each part is full), handed to the
 * transport's `sendBatch` (which delivers at once instead of queueing a second time). It lives here rather
 * than in the transport because only the client knows which of its messages merge into one:
 * - consecutive submits: one `submit` with every function and task,
 * - consecutive appends to the same channel: one `append` with every item,
 * - consecutive wants: one `want` with every key,
 * - consecutive releases: one `release` with every key and count;
 * and because while the client reconnects its messages must wait (`hold`) until the scheduler took it back.
 */
import type { ClientMessage, FnSpec, TaskSpec, WireItem } from '../protocol/messages';

/** Tasks in one submit message before it leaves without waiting for the end of the tick (see `submit`). */
export const SUBMIT_CHUNK = 2048;

export class Outbox {
  private queue: ClientMessage[] = [];
  private scheduled = false;
  private held = false;
  private closed = false;

  /** `deliver` puts one batch on the connection. */
  constructor(private readonly deliver: (batch: ClientMessage[]) => void) {}

  /** Queues a message for the end of this tick. */
  post(msg: ClientMessage): void {
    if (this.closed) return;
    this.queue.push(msg);
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(() => {
        this.scheduled = false;
        this.flush();
      });
    }
  }

  /**
   * Queues tasks with the functions they need that were not shipped yet. A submit that reached
   * SUBMIT_CHUNK tasks leaves at once (with what was queued before it): the scheduler starts on the first
   * tasks of a large `map` while the client is still preparing the rest, instead of receiving everything
   * in one batch at the end of the tick.
   */
  submit(fns: readonly FnSpec[], task: TaskSpec): void {
    const last = this.last();
    if (last?.op === 'submit' && last.tasks.length >= SUBMIT_CHUNK && !this.held) {
      this.flush();
      this.post({ op: 'submit', fns: [...fns], tasks: [task] });
    } else if (last?.op === 'submit') {
      for (let i = 0; i < fns.length; i++) last.fns.push(fns[i]);
      last.tasks.push(task);
    } else this.post({ op: 'submit', fns: [...fns], tasks: [task] });
  }

  /** `epoch`: the incarnation of the channel the appending handle knows, when it knows one. */
  append(channel: string, item: WireItem, epoch: number | undefined): void {
    const last = this.last();
    if (last?.op === 'append' && last.channel === channel && last.epoch === epoch) last.items.push(item);
    else this.post(epoch === undefined ? { op: 'append', channel, items: [item] } : { op: 'append', channel, items: [item], epoch });
  }

  want(key: string): void {
    const last = this.last();
    if (last?.op === 'want') last.keys.push(key);
    else this.post({ op: 'want', keys: [key] });
  }

  /** Takes `n` wants of `key` back. */
  release(key: string, n: number): void {
    const last = this.last();
    if (last?.op === 'release' && last.n) {
      last.keys.push(key);
      last.n.push(n);
    } else this.post({ op: 'release', keys: [key], n: [n] });
  }

  /** Sends what is queued now (unless held). */
  flush(): void {
    if (this.held || this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    this.deliver(batch);
  }

  /** Keeps everything queued from now on, until `resume` (the connection is away). */
  hold(): void {
    this.held = true;
  }

  /**
   * Sends what was held, in one batch with `then` after it; the held messages `drop` picks are left out
   * (`then` sends them anew).
   */
  resume(drop: (msg: ClientMessage) => boolean, then: ClientMessage[]): void {
    this.held = false;
    this.queue = this.queue.filter((m) => !drop(m));
    for (const m of then) this.queue.push(m);
    this.flush();
  }

  /** Forgets everything queued and takes nothing more (the client closed). */
  close(): void {
    this.closed = true;
    this.queue = [];
  }

  private last(): ClientMessage | undefined {
    return this.queue[this.queue.length - 1];
  }
}
