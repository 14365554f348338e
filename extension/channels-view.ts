/**
 * The "Channels" tree in the Shared Futures activity-bar container. For now its root is the scheduler node
 * (not connected / local / remote address); channels and their items hang under it once the runtime is in.
 */
import * as vscode from 'vscode';
import type { ConnectionSource, SchedulerConnection } from './connection';

/** View id contributed in package.json. */
export const CHANNELS_VIEW_ID = 'sharedFutures.channels';

/** A node of the tree. */
export interface ChannelsNode {
  readonly kind: 'scheduler';
  readonly connection: SchedulerConnection | undefined;
}

/** Supplies the tree from the connection manager and refreshes it when the connection changes. */
export class ChannelsTreeProvider implements vscode.TreeDataProvider<ChannelsNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<ChannelsNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly subscription: { dispose(): void };

  constructor(private readonly connections: ConnectionSource) {
    this.subscription = connections.onDidChange(() => this.changed.fire(undefined));
  }

  getChildren(node?: ChannelsNode): ChannelsNode[] {
    return node === undefined ? [{ kind: 'scheduler', connection: this.connections.current }] : [];
  }

  getTreeItem(node: ChannelsNode): vscode.TreeItem {
    const connection = node.connection;
    const item = new vscode.TreeItem('Scheduler', vscode.TreeItemCollapsibleState.None);
    if (connection === undefined) {
      item.description = 'not connected';
      item.iconPath = new vscode.ThemeIcon('debug-disconnect');
      item.tooltip = 'Run "Shared Futures: Connect to Scheduler…" or "Start Local Scheduler"';
      item.command = { command: 'sharedFutures.connect', title: 'Connect to Scheduler…' };
    } else {
      item.description = connection.kind === 'local' ? 'local' : connection.address;
      item.iconPath = new vscode.ThemeIcon('vm-running');
      item.tooltip = `Connected to ${connection.kind === 'local' ? 'the local scheduler' : connection.address}`;
    }
    item.contextValue = 'scheduler';
    return item;
  }

  dispose(): void {
    this.subscription.dispose();
    this.changed.dispose();
  }
}
