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
 *
 * A release is the one message nobody waits for: it only lets the scheduler forget a key sooner. One made
 * in a tick when nothing else leaves (a channel window evicting an item as the next one arrives, a handle
 * collected) waits up to RELEASE_DELAY_MS for the next message of this client and leaves in its batch, ahead
 * of it, so it costs neither side a frame, a write and a wake-up of its own: on a busy connection every
 * such release rides along. Order is kept: a waiting release is always older than anything queued after it.
 */
import type { ClientMessage, FnSpec, TaskSpec, WireItem } from '../protocol/messages';

/** Tasks in one submit message before it leaves without waiting for the end of the tick (see `submit`). */
export const SUBMIT_CHUNK = 2048;

/** How long a release made when nothing else leaves waits for another message to go with (ms). */
export const RELEASE_DELAY_MS = 20;

export class Outbox {
  private queue: ClientMessage[] = [];
  private scheduled = false;
  private held = false;
  private closed = false;
  /** Releases waiting for the next message (see the top of this file); only while the queue is empty. */
  private waiting: { op: 'release'; keys: string[]; n: number[] } | undefined;
  private waitingTimer: ReturnType<typeof setTimeout> | undefined;

  /** `deliver` puts one batch on the connection. */
  constructor(private readonly deliver: (batch: ClientMessage[]) => void) {}

  /** Queues a message for the end of this tick (after the releases waiting for one). */
  post(msg: ClientMessage): void {
    if (this.closed) return;
    if (this.waiting) this.queue.push(this.takeWaiting());
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

  /** Takes `n` wants of `key` back: in this tick's batch when there is one, else with the next message. */
  release(key: string, n: number): void {
    if (this.closed) return;
    if (this.queue.length === 0 && !this.held) {
      if (!this.waiting) {
        this.waiting = { op: 'release', keys: [], n: [] };
        this.waitingTimer = setTimeout(() => {
          this.waitingTimer = undefined;
          if (this.waiting) this.post(this.takeWaiting());
        }, RELEASE_DELAY_MS);
        // Not unref'd: a program that releases and then waits for what the release causes (an observer told
        // that the key was forgotten, on an in-process cluster) must not see its loop end first.
      }
      this.waiting.keys.push(key);
      this.waiting.n.push(n);
      return;
    }
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
    // A waiting release joins the held messages: left waiting, it could leave after the resync that follows
    // them, and take back a want the resync already counted out.
    if (this.waiting) this.queue.push(this.takeWaiting());
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
    this.waiting = undefined;
    clearTimeout(this.waitingTimer);
  }

  /** Releases waiting for the next message (for tests). */
  get releasesWaiting(): number {
    return this.waiting?.keys.length ?? 0;
  }

  /** The waiting releases as one message, no longer waiting. */
  private takeWaiting(): ClientMessage {
    const w = this.waiting as NonNullable<Outbox['waiting']>;
    this.waiting = undefined;
    clearTimeout(this.waitingTimer);
    this.waitingTimer = undefined;
    return w;
  }

  private last(): ClientMessage | undefined {
    return this.queue[this.queue.length - 1];
  }
}
