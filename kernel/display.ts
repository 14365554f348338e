/**
 * Turns values into notebook mime bundles: what `display(value, mime?)` and a cell's final expression
 * show. Futures, lists of futures and Channels (recognised by shape, see runtime-types) become live
 * `application/vnd.shared-futures+json` outputs.
 */
import { inspect } from 'node:util';
import { isChannelLike, isFutureLike, type ChannelLike, type FutureLike } from './runtime-types';
import { buildStatusView, STATUS_MIME, summarize, type StatusItem, type StatusView } from './status-view';

/** mime type → value: strings for text and base64 images, JSON for `application/json` and `+json`. */
export type MimeData = Record<string, unknown>;

/** Something whose view changes over time: the kernel re-renders it until `done`. */
export interface LiveSource {
  render(): StatusView;
  /** Futures to watch for status changes (the kernel also polls, for channels that grow). */
  futures(): FutureLike[];
}

/** A mime bundle, plus the live source when the value's view changes over time. */
export interface Rendered {
  data: MimeData;
  live?: LiveSource;
}

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47];
const TEXT_MIMES = new Set(['text/plain', 'text/html', 'text/markdown', 'image/svg+xml', 'text/latex', 'application/javascript']);

/** Renders a value for display; `mime` forces the output type. */
export function renderValue(value: unknown, mime?: string): Rendered {
  if (mime !== undefined) {
    return { data: forcedMime(value, mime) };
  }
  const live = liveSourceOf(value);
  if (live) {
    return { data: liveBundle(live.render()), live };
  }
  if (value instanceof Uint8Array && PNG_MAGIC.every((byte, i) => value[i] === byte)) {
    return { data: { 'image/png': Buffer.from(value).toString('base64'), 'text/plain': `<PNG image, ${value.length} bytes>` } };
  }
  return { data: { 'text/plain': plainText(value) } };
}

/** The bundle for one state of a live value. */
export function liveBundle(view: StatusView): MimeData {
  return { [STATUS_MIME]: view, 'text/plain': summarize(view) };
}

/** The text/plain form: what Node's REPL would print, without colours. */
export function plainText(value: unknown): string {
  if (isFutureLike(value) || isChannelLike(value)) {
    return String(value);
  }
  return inspect(value, { depth: 4, colors: false, maxArrayLength: 100, maxStringLength: 10_000, breakLength: 100 });
}

function forcedMime(value: unknown, mime: string): MimeData {
  if (mime === 'image/png' || mime === 'image/jpeg' || mime === 'image/gif') {
    return { [mime]: toBase64(value, mime), 'text/plain': `<${mime} image>` };
  }
  if (mime === 'application/json' || mime.endsWith('+json')) {
    return { [mime]: toJson(value), 'text/plain': plainText(value) };
  }
  if (TEXT_MIMES.has(mime) || mime.startsWith('text/')) {
    const text = typeof value === 'string' ? value : plainText(value);
    return mime === 'text/plain' ? { 'text/plain': text } : { [mime]: text, 'text/plain': mime === 'text/html' ? stripTags(text) : `<${mime}>` };
  }
  if (value instanceof Uint8Array || typeof value === 'string') {
    return { [mime]: toBase64(value, mime) };
  }
  throw new TypeError(`display: cannot show a ${typeof value} as ${mime}; pass a string, a Uint8Array or JSON`);
}

function toBase64(value: unknown, mime: string): string {
  if (value instanceof Uint8Array) {
    return Buffer.from(value).toString('base64');
  }
  if (typeof value === 'string') {
    // Accept a data: URL as well as plain base64.
    return value.replace(/^data:[^;,]+;base64,/, '');
  }
  throw new TypeError(`display: ${mime} needs a Uint8Array/Buffer or a base64 string, got ${typeof value}`);
}

function toJson(value: unknown): unknown {
  const text = JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  return text === undefined ? null : JSON.parse(text);
}

function stripTags(html: string): string {
  return html.replace(/<[^>]*>/g, '').trim() || '<HTML>';
}

/** A live source for a Future, a non-empty array of Futures, or a Channel; undefined otherwise. */
export function liveSourceOf(value: unknown): LiveSource | undefined {
  if (isFutureLike(value)) {
    return {
      render: () => buildStatusView('future', [futureItem(value)]),
      futures: () => [value],
    };
  }
  if (Array.isArray(value) && value.length > 0 && value.every(isFutureLike)) {
    const futures = value as FutureLike[];
    return {
      render: () => buildStatusView('futures', futures.map(futureItem)),
      futures: () => futures,
    };
  }
  if (isChannelLike(value)) {
    const channel: ChannelLike = value;
    // A live view reads keys and statuses without taking handles (every handle owns its key: holding them
    // would keep alive what the channel evicts); the kernel's polling follows their changes.
    const items = (): StatusItem[] => (channel.snapshot ? channel.snapshot().map((i) => ('key' in i ? { key: i.key, status: i.status } : channelItem(i.value))) : channel.futures.map(channelItem));
    return {
      render: () => buildStatusView('channel', items(), { name: channel.name, count: channel.count, length: channel.length, stopped: channel.stopped }),
      futures: () => (channel.snapshot ? [] : channel.futures.filter(isFutureLike)),
    };
  }
  return undefined;
}

function futureItem(future: FutureLike): StatusItem {
  return { key: future.key, status: future.status };
}

function channelItem(item: unknown): StatusItem {
  if (isFutureLike(item)) {
    return futureItem(item);
  }
  const preview = inspect(item, { depth: 1, colors: false, breakLength: Infinity, maxStringLength: 60, maxArrayLength: 5 });
  return { value: preview.length > 80 ? `${preview.slice(0, 79)}…` : preview };
}
