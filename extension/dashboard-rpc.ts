/**
 * The messages between the extension and the dashboard webview (media/dashboard.ts imports nothing else of
 * the extension): the snapshot the webview draws, and the two comlink endpoints over one webview message pipe: the webview calls the extension's `DashboardApi`
 * ('rpc' messages), and the extension calls the webview's `DashboardView` ('push' messages). Each logical
 * endpoint only sees its own tagged messages, so the two directions never mix up requests and replies.
 */
import type { FutureStatus } from '../scheduler';

/** One bar of the task stream. */
export interface StreamEntry {
  key: string;
  worker: string;
  start: number;
  /** Absent while it runs. */
  end?: number;
  status: FutureStatus;
}

/** One channel's progress, over the items the tree shows. */
export interface ChannelProgress {
  name: string;
  count: number;
  length: number;
  stopped: boolean;
  /** Futures among the newest shown items, by status; `values` counts plain values. */
  byStatus: Partial<Record<FutureStatus, number>>;
  values: number;
}

/** Everything the dashboard draws; plain JSON. */
export interface DashboardSnapshot {
  connection: { kind: 'local' | 'remote'; address: string } | null;
  /** Tasks the scheduler holds, by status. */
  counts: Record<FutureStatus, number>;
  /** Tasks seen finishing (or failing) since the dashboard's connection started. */
  finishedTotal: number;
  erroredTotal: number;
  workers: { id: string; threads: number; running: string[]; runningCount: number }[];
  channels: ChannelProgress[];
  /** Finished tasks per `bucketMs`, oldest first, the last bucket ending at `end`. */
  throughput: { bucketMs: number; end: number; finished: number[] };
  /** The newest task-stream entries, oldest first. */
  stream: StreamEntry[];
  now: number;
}

/** What the extension exposes to the dashboard webview. */
export interface DashboardApi {
  snapshot(): DashboardSnapshot;
  /** Runs one of the dashboard's buttons: refresh, or a channel command on a channel. */
  run(command: 'refresh' | 'stopChannel' | 'exportChannel', channel?: string): Promise<void>;
}

/** What the webview exposes to the extension. */
export interface DashboardView {
  update(snapshot: DashboardSnapshot): void;
}

/** Message tags: 'rpc' carries webview → extension calls and their replies; 'push' the other way. */
export type PipeTag = 'rpc' | 'push';

/** A message on the pipe. */
export interface PipeMessage {
  sf: PipeTag;
  data: unknown;
}

type Listener = (ev: { data: unknown }) => void;

/** A comlink Endpoint for one tag, over a raw `post` and a raw message subscription. */
export function taggedEndpoint(tag: PipeTag, post: (message: PipeMessage) => void, subscribe: (handler: (message: unknown) => void) => { dispose(): void }) {
  const listeners = new Map<Listener, { dispose(): void }>();
  return {
    postMessage(data: unknown): void {
      post({ sf: tag, data });
    },
    addEventListener(_type: string, listener: Listener): void {
      const sub = subscribe((message) => {
        if (typeof message === 'object' && message !== null && (message as PipeMessage).sf === tag) listener({ data: (message as PipeMessage).data });
      });
      listeners.set(listener, sub);
    },
    removeEventListener(_type: string, listener: Listener): void {
      listeners.get(listener)?.dispose();
      listeners.delete(listener);
    },
  };
}
