/**
 * The dashboard webview panel: a strict CSP with a nonce, only the bundled `dist/dashboard.js` and
 * `media/dashboard.css`, and comlink over the webview's message pipe. The webview pulls a snapshot on load
 * (and again after being shown); the extension pushes snapshots at the dashboard model's bounded rate while the
 * panel is visible, skipping one while the previous push is unanswered. The context is retained when hidden.
 */
import { randomBytes } from 'node:crypto';
import * as Comlink from 'comlink';
import * as vscode from 'vscode';
import { taggedEndpoint, type DashboardApi, type DashboardView, type PipeMessage } from './dashboard-rpc';
import type { DashboardModel } from './view-model-dashboard';

/** Webview panel type (also its serializer's id). */
export const DASHBOARD_VIEW_TYPE = 'sharedFutures.dashboard';

/** The HTML of the dashboard page. */
export function dashboardHtml(webview: { cspSource: string; asWebviewUri(uri: vscode.Uri): vscode.Uri }, extensionUri: vscode.Uri, nonce: string): string {
  const script = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'dashboard.js'));
  const style = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'media', 'dashboard.css'));
  const csp = [
    "default-src 'none'",
    `img-src ${webview.cspSource} data:`,
    `style-src ${webview.cspSource}`,
    `script-src 'nonce-${nonce}'`,
    `font-src ${webview.cspSource}`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${style.toString()}">
<title>Shared Futures Dashboard</title>
</head>
<body>
<main id="app"><p class="muted">Loading…</p></main>
<script nonce="${nonce}" src="${script.toString()}"></script>
</body>
</html>`;
}

/** Opens (or reveals) the one dashboard panel. */
export class Dashboard implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  private disposables: vscode.Disposable[] = [];
  private view: Comlink.Remote<DashboardView> | undefined;
  private pushing = false;
  private again = false;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly model: DashboardModel,
    private readonly run: DashboardApi['run'],
  ) {}

  /** Shows the dashboard, creating it the first time. */
  open(): void {
    if (this.panel !== undefined) {
      this.panel.reveal(undefined, false);
      return;
    }
    const panel = vscode.window.createWebviewPanel(DASHBOARD_VIEW_TYPE, 'Shared Futures Dashboard', vscode.ViewColumn.Active, {
      enableScripts: true,
      retainContextWhenHidden: true,
      localResourceRoots: [vscode.Uri.joinPath(this.extensionUri, 'dist'), vscode.Uri.joinPath(this.extensionUri, 'media')],
    });
    panel.iconPath = vscode.Uri.joinPath(this.extensionUri, 'media', 'icons', 'shared-futures.svg');
    this.attach(panel);
  }

  /** Takes over a panel (a new one, or one VS Code restored after a reload). */
  attach(panel: vscode.WebviewPanel): void {
    this.panel = panel;
    const nonce = randomBytes(16).toString('base64');
    panel.webview.options = {
      enableScripts: true,
      localResourceRoots: [vscode.Uri.joinPath(this.extensionUri, 'dist'), vscode.Uri.joinPath(this.extensionUri, 'media')],
    };
    panel.webview.html = dashboardHtml(panel.webview, this.extensionUri, nonce);
    const post = (message: PipeMessage) => void panel.webview.postMessage(message);
    const subscribe = (handler: (message: unknown) => void) => panel.webview.onDidReceiveMessage(handler);
    const api: DashboardApi = {
      snapshot: () => this.model.snapshot(),
      run: (command, channel) => this.run(command, channel),
    };
    Comlink.expose(api, taggedEndpoint('rpc', post, subscribe) as unknown as Comlink.Endpoint);
    this.view = Comlink.wrap<DashboardView>(taggedEndpoint('push', post, subscribe) as unknown as Comlink.Endpoint);
    this.disposables.push(
      this.model.onDidChange(() => this.push()),
      panel.onDidChangeViewState(() => {
        if (panel.visible) this.push();
      }),
      panel.onDidDispose(() => this.detach()),
    );
  }

  dispose(): void {
    this.panel?.dispose();
    this.detach();
  }

  private detach(): void {
    for (const d of this.disposables) d.dispose();
    this.disposables = [];
    this.panel = undefined;
    this.view = undefined;
  }

  /** Sends a snapshot unless hidden; one at a time, coalescing what comes meanwhile. */
  private push(): void {
    const view = this.view;
    if (view === undefined || this.panel?.visible !== true) return;
    if (this.pushing) {
      this.again = true;
      return;
    }
    this.pushing = true;
    const done = () => {
      this.pushing = false;
      if (this.again) {
        this.again = false;
        this.push();
      }
    };
    // A webview that is reloading never answers: do not wait on it for ever.
    const timeout = new Promise<void>((resolve) => setTimeout(resolve, 2000).unref());
    void Promise.race([view.update(this.model.snapshot()), timeout]).then(done, done);
  }
}

/** Registers the Open Dashboard command and the panel serializer; returns the dashboard. */
export function registerDashboard(
  subscriptions: vscode.Disposable[],
  extensionUri: vscode.Uri,
  model: DashboardModel,
  openCommand: string,
  run: DashboardApi['run'],
): Dashboard {
  const dashboard = new Dashboard(extensionUri, model, run);
  subscriptions.push(
    dashboard,
    vscode.commands.registerCommand(openCommand, () => dashboard.open()),
    vscode.window.registerWebviewPanelSerializer(DASHBOARD_VIEW_TYPE, {
      async deserializeWebviewPanel(panel) {
        dashboard.attach(panel);
      },
    }),
  );
  return dashboard;
}
