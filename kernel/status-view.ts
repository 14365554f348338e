/**
 * The `application/vnd.shared-futures+json` output: a JSON description of a Future, a list of futures or
 * a Channel, and the summary the notebook renderer draws from it. No Node or DOM APIs here: the
 * renderer bundle imports this file too, so its imports are type-only.
 */
import type { FutureStatus } from '../scheduler';

export type { FutureStatus };

/** The mime type of live future/channel outputs. */
export const STATUS_MIME = 'application/vnd.shared-futures+json';

/** One item: a future (key and status) or, in a channel, a plain value shown as a short preview. */
export type StatusItem = { key: string; status: FutureStatus } | { value: string };

/** The JSON carried by the mime type. */
export interface StatusView {
  version: 1;
  kind: 'future' | 'futures' | 'channel';
  /** For a channel: its name, appends ever seen, retained length and whether it was stopped. */
  channel?: { name: string; count: number; length: number; stopped: boolean };
  /** The newest items, oldest first, at most `ITEM_LIMIT`. */
  items: StatusItem[];
  /** Items left out of `items` (the oldest ones). */
  omitted: number;
  /** Futures by status, over every item, omitted ones included. */
  counts: Record<FutureStatus, number>;
  /** Number of futures (values excluded). */
  futures: number;
  /** True when nothing will change any more: every future settled (and a channel stopped). */
  done: boolean;
}

/** At most this many items are listed; counts still cover all. */
export const ITEM_LIMIT = 200;

const SETTLED: ReadonlySet<FutureStatus> = new Set<FutureStatus>(['finished', 'error', 'cancelled']);

/** Builds the view from items already reduced to keys/statuses or value previews. */
export function buildStatusView(
  kind: StatusView['kind'],
  items: readonly StatusItem[],
  channel?: StatusView['channel'],
): StatusView {
  const counts: Record<FutureStatus, number> = { pending: 0, processing: 0, finished: 0, error: 0, cancelled: 0, lost: 0 };
  let futures = 0;
  let settled = 0;
  for (const item of items) {
    if ('key' in item) {
      futures++;
      counts[item.status] = (counts[item.status] ?? 0) + 1;
      if (SETTLED.has(item.status)) {
        settled++;
      }
    }
  }
  const omitted = Math.max(0, items.length - ITEM_LIMIT);
  return {
    version: 1,
    kind,
    ...(channel ? { channel } : {}),
    items: omitted > 0 ? items.slice(omitted) : [...items],
    omitted,
    counts,
    futures,
    done: settled === futures && (channel ? channel.stopped : true),
  };
}

/** Progress in [0, 1]: settled futures over all futures (1 when there are none). */
export function progressOf(view: StatusView): number {
  if (view.futures === 0) {
    return view.done ? 1 : 0;
  }
  return (view.counts.finished + view.counts.error + view.counts.cancelled) / view.futures;
}

/** A one-line summary, the `text/plain` twin of the view. */
export function summarize(view: StatusView): string {
  const parts = (Object.keys(view.counts) as FutureStatus[])
    .filter((status) => view.counts[status] > 0)
    .map((status) => `${view.counts[status]} ${status}`);
  if (view.kind === 'future') {
    const item = view.items[0];
    return item && 'key' in item ? `<Future ${item.key}: ${item.status}>` : '<Future>';
  }
  if (view.kind === 'channel' && view.channel) {
    const c = view.channel;
    const values = view.items.length + view.omitted - view.futures;
    const detail = [...parts, ...(values > 0 ? [`${values} values`] : [])].join(', ');
    return `<Channel ${c.name}: ${c.length} items${c.count !== c.length ? ` (${c.count} appended)` : ''}${c.stopped ? ', stopped' : ''}${detail ? `; ${detail}` : ''}>`;
  }
  return `${view.futures} futures${parts.length > 0 ? `: ${parts.join(', ')}` : ''}`;
}

/** Icon (a single character) per status, as the renderer and the plain-text views show it. */
export const STATUS_ICONS: Record<FutureStatus, string> = {
  pending: '○',
  processing: '◐',
  finished: '●',
  error: '✖',
  cancelled: '⊘',
  lost: '?',
};
