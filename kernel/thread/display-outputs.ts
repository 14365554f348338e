/**
 * Display outputs of the kernel thread: values sent as mime bundles (`display(x)` and a cell's result), and
 * live outputs, the views of futures and channels that are sent again as updates while their futures change
 * (throttled), until everything they show settled.
 */
import type { Disposable } from '../../scheduler';
import { liveBundle, renderValue, type LiveSource } from '../display';
import { STATUS_MIME } from '../status-view';
import type { PostToKernel } from './messages';

interface LiveEntry {
  exec: number;
  source: LiveSource;
  last: string;
  /**
   * Status subscriptions by key, for the futures shown now. Keyed, not holding the handles: a live view must
   * not keep alive what a channel has evicted (every handle owns its key).
   */
  watched: Map<string, Disposable>;
  pending: boolean;
}

const LIVE_THROTTLE_MS = 100;
const LIVE_POLL_MS = 250;

/** The display outputs of one kernel thread. */
export class DisplayOutputs {
  private readonly live = new Map<string, LiveEntry>();
  private livePoll: NodeJS.Timeout | undefined;
  private outputCounter = 0;

  constructor(
    private readonly post: PostToKernel,
    private readonly currentExec: () => number,
  ) {}

  /** Sends a value as a display output (or as the cell's result); a future or channel stays live. */
  show(value: unknown, mime: string | undefined, result: boolean, exec = this.currentExec()): void {
    const rendered = renderValue(value, mime);
    const outputId = `out-${process.pid}-${exec}-${++this.outputCounter}`;
    this.post({ t: 'display', exec, outputId, data: rendered.data, update: false, result });
    if (rendered.live) {
      this.addLive(outputId, exec, rendered.live, JSON.stringify(rendered.data[STATUS_MIME]));
    }
  }

  /** Re-renders every live output now. */
  refreshAll(): void {
    for (const [id, entry] of [...this.live]) {
      this.refresh(id, entry);
    }
  }

  private addLive(outputId: string, exec: number, source: LiveSource, initial: string): void {
    const entry: LiveEntry = { exec, source, last: initial, watched: new Map(), pending: false };
    this.live.set(outputId, entry);
    this.refresh(outputId, entry);
    if (this.live.has(outputId) && !this.livePoll) {
      // Channels grow without a status change of an item already shown: poll them too.
      this.livePoll = setInterval(() => this.refreshAll(), LIVE_POLL_MS);
      this.livePoll.unref();
    }
  }

  private schedule(outputId: string, entry: LiveEntry): void {
    if (entry.pending) {
      return;
    }
    entry.pending = true;
    setTimeout(() => {
      entry.pending = false;
      this.refresh(outputId, entry);
    }, LIVE_THROTTLE_MS).unref();
  }

  private refresh(outputId: string, entry: LiveEntry): void {
    if (!this.live.has(outputId)) {
      return;
    }
    let view;
    try {
      view = entry.source.render();
      const shown = new Set<string>();
      for (const future of entry.source.futures()) {
        shown.add(future.key);
        if (!entry.watched.has(future.key)) entry.watched.set(future.key, future.onStatus(() => this.schedule(outputId, entry)));
      }
      for (const [key, subscription] of entry.watched) {
        if (shown.has(key)) continue;
        subscription.dispose();
        entry.watched.delete(key);
      }
    } catch {
      this.stop(outputId, entry);
      return;
    }
    const text = JSON.stringify(view);
    if (text !== entry.last) {
      entry.last = text;
      this.post({ t: 'display', exec: entry.exec, outputId, data: liveBundle(view), update: true, result: false });
    }
    if (view.done) {
      this.stop(outputId, entry);
    }
  }

  private stop(outputId: string, entry: LiveEntry): void {
    this.live.delete(outputId);
    for (const subscription of entry.watched.values()) {
      subscription.dispose();
    }
    entry.watched.clear();
    if (this.live.size === 0 && this.livePoll) {
      clearInterval(this.livePoll);
      this.livePoll = undefined;
    }
  }
}
