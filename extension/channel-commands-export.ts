/**
 * What Export Channel Snapshot writes, without `vscode`: every retained item of a channel with its key and
 * status, the result when it survives JSON, and the error as text.
 */
import type { FutureStatus } from '../scheduler';
import { isFuture } from '../scheduler/client/future-brand';
import type { ChannelNode } from './view-model';

/** One item of an exported snapshot. */
export type ExportedItem =
  | { index: number; key: string; status: FutureStatus; result?: unknown; error?: string; note?: string }
  | { index: number; value: unknown };

/** What Export Channel Snapshot writes. */
export interface ChannelExport {
  name: string;
  count: number;
  length: number;
  stopped: boolean;
  exportedAt: string;
  items: ExportedItem[];
}

interface FutureLike {
  key: string;
  status: FutureStatus;
  result(timeoutMs?: number): Promise<unknown>;
  exception(timeoutMs?: number): Promise<Error | undefined>;
}

function isFutureLike(item: unknown): item is FutureLike {
  return isFuture(item);
}

/** The error of a failed task as text: name, message and stack. */
export function errorText(err: Error | undefined): string {
  if (err === undefined) return '';
  const stack = err.stack ?? '';
  return stack.includes(err.message) ? stack : `${err.name}: ${err.message}\n${stack}`;
}

/** JSON of `value` when it survives a round trip; undefined otherwise. */
export function serializable(value: unknown): { ok: true; value: unknown } | { ok: false } {
  try {
    const text = JSON.stringify(value);
    return text === undefined ? { ok: false } : { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}

/** Builds the export of `items` (the retained items of a channel, oldest first). */
export async function buildExport(node: ChannelNode, items: readonly unknown[], count: number): Promise<ChannelExport> {
  const first = count - items.length;
  const out: ExportedItem[] = [];
  const CHUNK = 500;
  for (let start = 0; start < items.length; start += CHUNK) {
    const chunk = items.slice(start, start + CHUNK);
    const done = await Promise.all(
      chunk.map(async (item, i): Promise<ExportedItem> => {
        const index = first + start + i;
        if (!isFutureLike(item)) return { index, value: item };
        if (item.status === 'finished') {
          const r = serializable(await item.result(10_000).catch(() => undefined));
          return r.ok ? { index, key: item.key, status: item.status, result: r.value } : { index, key: item.key, status: item.status, note: 'result is not JSON-serializable' };
        }
        if (item.status === 'error') return { index, key: item.key, status: item.status, error: errorText(await item.exception(10_000).catch(() => undefined)) };
        return { index, key: item.key, status: item.status };
      }),
    );
    out.push(...done);
  }
  return { name: node.name, count, length: items.length, stopped: node.stopped, exportedAt: new Date().toISOString(), items: out };
}

