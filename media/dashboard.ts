/**
 * The dashboard webview: counts by status, per-channel progress, workers and what they run, a throughput
 * chart (canvas, drawn by hand) and the task stream. No Node APIs; it talks to the extension only through
 * comlink (`DashboardApi` to call, `DashboardView` exposed for pushed snapshots). Colours are theme variables.
 */
import * as Comlink from 'comlink';
import { taggedEndpoint, type DashboardApi, type DashboardSnapshot, type DashboardView, type PipeMessage, type StreamEntry } from '../extension/dashboard-rpc';

declare function acquireVsCodeApi(): { postMessage(message: unknown): void; setState(state: unknown): void; getState(): unknown };

const vscode = acquireVsCodeApi();
const post = (message: PipeMessage) => vscode.postMessage(message);
const subscribe = (handler: (message: unknown) => void) => {
  const listener = (ev: MessageEvent) => handler(ev.data);
  window.addEventListener('message', listener);
  return { dispose: () => window.removeEventListener('message', listener) };
};
const api = Comlink.wrap<DashboardApi>(taggedEndpoint('rpc', post, subscribe) as unknown as Comlink.Endpoint);

const STATUSES = ['pending', 'processing', 'finished', 'error', 'cancelled', 'lost'] as const;
const WORKER_COLOURS = ['--vscode-charts-blue', '--vscode-charts-green', '--vscode-charts-purple', '--vscode-charts-orange', '--vscode-charts-yellow', '--vscode-charts-red'];

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k !== 'style') e.setAttribute(k, v);
    // The CSP forbids style attributes; properties set through the CSSOM are allowed.
    else for (const decl of v.split(';')) {
      const at = decl.indexOf(':');
      if (at > 0) e.style.setProperty(decl.slice(0, at).trim(), decl.slice(at + 1).trim());
    }
  }
  for (const c of children) e.append(c);
  return e;
}

function css(name: string): string {
  return getComputedStyle(document.body).getPropertyValue(name).trim() || '#888';
}

function fmt(n: number): string {
  return n.toLocaleString('en-US');
}

function ago(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return s < 60 ? `${s}s ago` : `${Math.floor(s / 60)}m ${s % 60}s ago`;
}

function section(title: string, ...body: (Node | string)[]): HTMLElement {
  return el('section', {}, el('h2', {}, title), ...body);
}

function countsView(s: DashboardSnapshot): HTMLElement {
  const cards = STATUSES.map((st) => el('div', { class: `card status-${st}`, 'data-status': st }, el('div', { class: 'num' }, fmt(s.counts[st])), el('div', { class: 'lbl' }, st)));
  const totals = el('p', { class: 'muted' }, `${fmt(s.finishedTotal)} finished and ${fmt(s.erroredTotal)} failed since the dashboard connected`);
  return section('Tasks by status', el('div', { class: 'cards' }, ...cards), totals);
}

function channelsView(s: DashboardSnapshot): HTMLElement {
  if (s.channels.length === 0) return section('Channels', el('p', { class: 'muted' }, 'No channels yet.'));
  const rows = s.channels.map((c) => {
    const futures = STATUSES.reduce((n, st) => n + (c.byStatus[st] ?? 0), 0);
    const bar = el('div', { class: 'bar', title: `${futures} futures and ${c.values} values among the newest items` });
    for (const st of STATUSES) {
      const n = c.byStatus[st] ?? 0;
      if (n > 0) bar.append(el('span', { class: `seg status-${st}`, style: `width:${(100 * n) / Math.max(1, futures + c.values)}%` }));
    }
    if (c.values > 0) bar.append(el('span', { class: 'seg value', style: `width:${(100 * c.values) / Math.max(1, futures + c.values)}%` }));
    const done = (c.byStatus.finished ?? 0) + (c.byStatus.error ?? 0) + (c.byStatus.cancelled ?? 0) + (c.byStatus.lost ?? 0);
    const text = futures > 0 ? `${fmt(done)}/${fmt(futures)} done` : `${fmt(c.values)} values`;
    return el('div', { class: 'chan' },
      el('div', { class: 'chan-head' }, el('span', { class: 'name' }, c.name), el('span', { class: 'muted' }, `${fmt(c.length)} retained / ${fmt(c.count)} appended${c.stopped ? ' · stopped' : ''} · ${text}`)),
      bar);
  });
  return section('Channels', ...rows);
}

function workersView(s: DashboardSnapshot): HTMLElement {
  if (s.workers.length === 0) return section('Workers', el('p', { class: 'muted' }, 'No workers.'));
  const rows = s.workers.map((w) =>
    el('tr', {},
      el('td', {}, w.id),
      el('td', {}, `${w.threads} threads`),
      el('td', {}, `${w.runningCount} running`),
      el('td', { class: 'keys' }, w.running.join(', ') + (w.runningCount > w.running.length ? ` … +${w.runningCount - w.running.length}` : ''))));
  return section('Workers', el('table', {}, ...rows));
}

function throughputView(s: DashboardSnapshot): HTMLElement {
  const canvas = el('canvas', { width: '900', height: '140', class: 'chart' });
  const ctx = canvas.getContext('2d');
  const data = s.throughput.finished;
  const max = Math.max(1, ...data);
  if (ctx) {
    const w = canvas.width;
    const h = canvas.height;
    ctx.strokeStyle = css('--vscode-panel-border');
    ctx.beginPath();
    ctx.moveTo(0, h - 0.5);
    ctx.lineTo(w, h - 0.5);
    ctx.stroke();
    ctx.fillStyle = css('--vscode-charts-green');
    const bw = w / data.length;
    data.forEach((v, i) => {
      const bh = (v / max) * (h - 16);
      ctx.fillRect(i * bw, h - bh, Math.max(1, bw - 0.5), bh);
    });
    ctx.fillStyle = css('--vscode-foreground');
    ctx.font = `11px ${css('--vscode-font-family')}`;
    ctx.fillText(`${fmt(max)}/s`, 4, 11);
  }
  const last = data.slice(-5).reduce((a, b) => a + b, 0) / 5;
  return section(`Throughput (finished tasks per second, last ${Math.round((data.length * s.throughput.bucketMs) / 60000)} minutes)`, canvas, el('p', { class: 'muted' }, `${fmt(Math.round(last))}/s over the last 5 s`));
}

function streamView(s: DashboardSnapshot): HTMLElement {
  const entries = s.stream;
  if (entries.length === 0) return section('Task stream', el('p', { class: 'muted' }, 'No tasks have run since the dashboard connected.'));
  const workers = [...new Set(entries.map((e) => e.worker))].sort();
  const t0 = Math.min(...entries.map((e) => e.start));
  const t1 = Math.max(s.now, ...entries.map((e) => e.end ?? e.start));
  const span = Math.max(1, t1 - t0);
  const lanes = workers.map((wk, i) => {
    const lane = el('div', { class: 'lane' });
    for (const e of entries.filter((x) => x.worker === wk)) {
      const left = (100 * (e.start - t0)) / span;
      const width = Math.max(0.3, (100 * ((e.end ?? s.now) - e.start)) / span);
      lane.append(el('span', { class: `task status-${e.status}`, style: `left:${left}%;width:${width}%;background:var(${WORKER_COLOURS[i % WORKER_COLOURS.length]})`, title: `${e.key} on ${wk}: ${e.status}` }));
    }
    return el('div', { class: 'lane-row' }, el('span', { class: 'lane-name' }, wk), lane);
  });
  const recent = [...entries].reverse().slice(0, 12).map((e: StreamEntry) =>
    el('tr', { class: 'stream-entry' },
      el('td', { class: 'key' }, e.key),
      el('td', {}, e.worker),
      el('td', { class: `status-text-${e.status}` }, e.status),
      el('td', { class: 'muted' }, e.end === undefined ? `running for ${ago(s.now - e.start).replace(' ago', '')}` : `${fmt(e.end - e.start)} ms, ${ago(s.now - e.end)}`)));
  return section('Task stream', el('div', { class: 'lanes' }, ...lanes), el('table', { class: 'stream' }, ...recent));
}

function render(s: DashboardSnapshot): void {
  const app = document.getElementById('app');
  if (!app) return;
  const where = s.connection === null ? 'disconnected' : s.connection.kind === 'local' ? 'local scheduler' : s.connection.address;
  const refresh = el('button', {}, 'Refresh');
  refresh.addEventListener('click', () => void api.run('refresh'));
  const header = el('header', {}, el('h1', {}, 'Shared Futures'), el('span', { class: `conn ${s.connection === null ? 'off' : 'on'}` }, where), refresh);
  app.replaceChildren(header, countsView(s), el('div', { class: 'two' }, channelsView(s), workersView(s)), throughputView(s), streamView(s));
  vscode.setState({ snapshot: s });
}

const view: DashboardView = {
  update(s) {
    render(s);
  },
};
Comlink.expose(view, taggedEndpoint('push', post, subscribe) as unknown as Comlink.Endpoint);

// A state saved before a reload shows at once; the live snapshot follows.
const saved = vscode.getState() as { snapshot?: DashboardSnapshot } | undefined;
if (saved?.snapshot) render(saved.snapshot);
void api.snapshot().then(render);
