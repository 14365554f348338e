/**
 * Notebook renderer for `application/vnd.shared-futures+json`: a Future, a list of futures or a Channel
 * with a status icon per item, counts by status and a progress bar. Runs in the notebook webview (no
 * Node APIs); bundled by webpack to dist/renderer.js as an ES module.
 */
/// <reference lib="dom" />
import { progressOf, STATUS_ICONS, summarize, type FutureStatus, type StatusView } from '../kernel/status-view';

/** The parts of VS Code's renderer API used here (vscode-notebook-renderer). */
interface OutputItem {
  readonly id: string;
  readonly mime: string;
  json(): unknown;
}

interface RendererApi {
  renderOutputItem(outputItem: OutputItem, element: HTMLElement): void;
  disposeOutputItem?(id?: string): void;
}

const SHOWN_ITEMS = 50;

const COLORS: Record<FutureStatus, string> = {
  pending: 'var(--vscode-descriptionForeground, #888)',
  processing: 'var(--vscode-charts-blue, #3794ff)',
  finished: 'var(--vscode-charts-green, #89d185)',
  error: 'var(--vscode-errorForeground, #f14c4c)',
  cancelled: 'var(--vscode-charts-yellow, #cca700)',
  lost: 'var(--vscode-charts-orange, #d18616)',
};

const STYLE = `
.sf-status { font-family: var(--vscode-editor-font-family, monospace); font-size: var(--vscode-editor-font-size, 13px); }
.sf-status .sf-title { margin-bottom: 4px; }
.sf-status .sf-bar { height: 6px; background: var(--vscode-editorWidget-border, #4443); border-radius: 3px; overflow: hidden; margin: 4px 0; max-width: 480px; display: flex; }
.sf-status .sf-bar > span { display: block; height: 100%; }
.sf-status .sf-counts span { margin-right: 12px; }
.sf-status ul { list-style: none; padding-left: 0; margin: 4px 0; }
.sf-status li { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.sf-status .sf-icon { display: inline-block; width: 1.4em; }
.sf-status .sf-more { color: var(--vscode-descriptionForeground, #888); }
`;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function isStatusView(value: unknown): value is StatusView {
  const v = value as Partial<StatusView> | null;
  return !!v && v.version === 1 && Array.isArray(v.items) && typeof v.counts === 'object';
}

/** Draws a status view into `element`, replacing what was there (updates re-render in place). */
export function renderStatus(view: StatusView, element: HTMLElement): void {
  const root = el('div', 'sf-status');
  const style = el('style');
  style.textContent = STYLE;
  root.append(style, el('div', 'sf-title', summarize(view)));

  if (view.kind !== 'future' && view.futures > 0) {
    const bar = el('div', 'sf-bar');
    bar.title = `${Math.round(progressOf(view) * 100)}% settled`;
    for (const status of ['finished', 'error', 'cancelled', 'processing'] as FutureStatus[]) {
      if (view.counts[status] > 0) {
        const part = el('span');
        part.style.width = `${(100 * view.counts[status]) / view.futures}%`;
        part.style.background = COLORS[status];
        bar.append(part);
      }
    }
    const counts = el('div', 'sf-counts');
    for (const status of Object.keys(view.counts) as FutureStatus[]) {
      if (view.counts[status] > 0) {
        const chip = el('span', undefined, `${STATUS_ICONS[status]} ${view.counts[status]} ${status}`);
        chip.style.color = COLORS[status];
        counts.append(chip);
      }
    }
    root.append(bar, counts);
  }

  const list = el('ul');
  const items = view.items.slice(-SHOWN_ITEMS);
  const hidden = view.omitted + view.items.length - items.length;
  if (hidden > 0) {
    list.append(el('li', 'sf-more', `… ${hidden} earlier items`));
  }
  for (const item of items) {
    const row = el('li');
    if ('key' in item) {
      const icon = el('span', 'sf-icon', STATUS_ICONS[item.status] ?? '?');
      icon.style.color = COLORS[item.status];
      icon.title = item.status;
      row.append(icon, document.createTextNode(`${item.key}  ${item.status}`));
    } else {
      row.append(el('span', 'sf-icon', '·'), document.createTextNode(item.value));
    }
    list.append(row);
  }
  if (view.kind !== 'future' || view.items.length === 0) {
    root.append(list);
  } else {
    const only = view.items[0];
    if ('key' in only) {
      const icon = el('span', 'sf-icon', STATUS_ICONS[only.status]);
      icon.style.color = COLORS[only.status];
      root.firstChild?.nextSibling?.replaceWith(el('div', 'sf-title'));
      const title = root.querySelector('.sf-title');
      title?.append(icon, document.createTextNode(summarize(view)));
    }
  }
  element.replaceChildren(root);
}

/** Entry point VS Code calls when it loads the renderer. */
export function activate(): RendererApi {
  return {
    renderOutputItem(outputItem, element) {
      const value = outputItem.json();
      if (isStatusView(value)) {
        renderStatus(value, element);
      } else {
        element.textContent = JSON.stringify(value);
      }
    },
  };
}
