/**
 * The `text/html` twin of a live status view, for front-ends without our renderer (JupyterLab, classic
 * Notebook, nbconvert): a table with a progress bar, styled inline, no scripts and no classes to depend on.
 */
import { progressOf, STATUS_ICONS, summarize, type FutureStatus, type StatusView } from './status-view';

/** Rows listed; the rest are counted in a last row. */
const SHOWN_ITEMS = 20;

const COLORS: Record<FutureStatus, string> = {
  pending: '#808080',
  processing: '#2f7fd8',
  finished: '#2e9d4a',
  error: '#d43c3c',
  cancelled: '#b8920b',
  lost: '#d17a16',
};

const BAR_ORDER: FutureStatus[] = ['finished', 'error', 'cancelled', 'processing'];

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

const CELL = 'padding:2px 8px;text-align:left;border:none;';

/** Renders a status view as a self-contained HTML fragment. */
export function statusHtml(view: StatusView): string {
  const parts: string[] = [];
  parts.push(`<div style="font-family:monospace;font-size:13px;line-height:1.4;">`);
  parts.push(`<div style="font-weight:bold;margin-bottom:4px;">${escapeHtml(summarize(view))}</div>`);
  if (view.futures > 0) {
    const percent = Math.round(progressOf(view) * 100);
    parts.push(
      `<div title="${percent}% settled" style="display:flex;width:320px;height:8px;background:#8884;border-radius:4px;overflow:hidden;margin:4px 0;">`,
    );
    for (const status of BAR_ORDER) {
      if (view.counts[status] > 0) {
        const width = ((100 * view.counts[status]) / view.futures).toFixed(2);
        parts.push(`<span style="display:block;height:100%;width:${width}%;background:${COLORS[status]};"></span>`);
      }
    }
    parts.push(`</div>`);
    const chips = (Object.keys(view.counts) as FutureStatus[])
      .filter((status) => view.counts[status] > 0)
      .map((status) => `<span style="color:${COLORS[status]};margin-right:12px;">${STATUS_ICONS[status]} ${view.counts[status]} ${status}</span>`);
    parts.push(`<div>${chips.join('')}<span style="color:#808080;">${percent}% settled</span></div>`);
  }
  if (view.items.length > 0) {
    parts.push(`<table style="border-collapse:collapse;margin-top:4px;">`);
    parts.push(`<thead><tr><th style="${CELL}"></th><th style="${CELL}">${view.kind === 'channel' ? 'item' : 'key'}</th><th style="${CELL}">status</th></tr></thead><tbody>`);
    const shown = view.items.slice(-SHOWN_ITEMS);
    const hidden = view.omitted + view.items.length - shown.length;
    if (hidden > 0) {
      parts.push(`<tr><td style="${CELL}color:#808080;" colspan="3">… ${hidden} earlier item${hidden === 1 ? '' : 's'}</td></tr>`);
    }
    for (const item of shown) {
      if ('key' in item) {
        const color = COLORS[item.status];
        parts.push(
          `<tr><td style="${CELL}color:${color};">${STATUS_ICONS[item.status]}</td><td style="${CELL}">${escapeHtml(item.key)}</td><td style="${CELL}color:${color};">${item.status}</td></tr>`,
        );
      } else {
        parts.push(`<tr><td style="${CELL}"></td><td style="${CELL}">${escapeHtml(item.value)}</td><td style="${CELL}color:#808080;">value</td></tr>`);
      }
    }
    parts.push(`</tbody></table>`);
  }
  parts.push(`</div>`);
  return parts.join('');
}
