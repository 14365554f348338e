/**
 * The status-bar item: the connection (local, remote address, disconnected) and live counts of processing and
 * finished tasks from the dashboard model; a click opens the dashboard.
 */
import * as vscode from 'vscode';
import type { DashboardModel } from './view-model-dashboard';

/** The text the item shows for a connection and counts. */
export function statusBarText(connection: { kind: 'local' | 'remote'; address: string } | undefined, counts: { processing: number; finished: number }): string {
  if (connection === undefined) return '$(debug-disconnect) Shared Futures: disconnected';
  const where = connection.kind === 'local' ? 'local' : connection.address;
  return `$(vm-running) SF ${where} $(sync) ${counts.processing} $(pass) ${counts.finished}`;
}

/** Creates the item and keeps it current; pushes its disposables into `subscriptions`. */
export function registerStatusBar(subscriptions: vscode.Disposable[], model: DashboardModel, openDashboardCommand: string): vscode.StatusBarItem {
  const item = vscode.window.createStatusBarItem('sharedFutures.status', vscode.StatusBarAlignment.Left, 50);
  item.name = 'Shared Futures';
  item.command = openDashboardCommand;
  const update = () => {
    const connection = model.currentConnection;
    const counts = model.liveCounts;
    item.text = statusBarText(connection, counts);
    item.tooltip = connection === undefined
      ? 'Shared Futures is not connected to a scheduler. Click to open the dashboard.'
      : `Shared Futures: ${connection.kind === 'local' ? 'local scheduler' : connection.address}\n${counts.processing} processing, ${counts.finished} finished\nClick to open the dashboard.`;
  };
  update();
  item.show();
  const listener = model.onDidChange(update);
  subscriptions.push(item, listener);
  return item;
}
