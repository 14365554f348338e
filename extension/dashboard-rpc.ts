/**
 * The two comlink endpoints over one webview message pipe: the webview calls the extension's `DashboardApi`
 * ('rpc' messages), and the extension calls the webview's `DashboardView` ('push' messages). Each logical
 * endpoint only sees its own tagged messages, so the two directions never mix up requests and replies.
 */
import type { DashboardSnapshot } from './view-model-dashboard';

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
