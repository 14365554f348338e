/**
 * The Channels tree (view `sharedFutures.channels`) over the TreeViewModel: scheduler → channels → items,
 * a status icon and colour per status, tooltips with the result preview or the error and its task story,
 * and refreshes of only the nodes the model reports changed.
 */
import * as vscode from 'vscode';
import { ageOf, previewOf } from './view-model-batch';
import type { ChannelNode, ItemNode, TreeNode, TreeViewModel } from './view-model';
import type { FutureStatus } from '../scheduler';

/** View id contributed in package.json. */
export const CHANNELS_TREE_VIEW_ID = 'sharedFutures.channels';

/** What the tooltips need to look up lazily: a result preview and a task story. */
export interface TooltipSource {
  resultPreview(key: string): Promise<string | undefined>;
  errorText(key: string): Promise<string | undefined>;
  story(key: string): Promise<string[]>;
}

const STATUS_ICONS: Record<FutureStatus, [string, string | undefined]> = {
  pending: ['clock', 'testing.iconQueued'],
  processing: ['sync~spin', 'testing.iconUnset'],
  finished: ['pass', 'testing.iconPassed'],
  error: ['error', 'testing.iconFailed'],
  cancelled: ['circle-slash', 'testing.iconSkipped'],
  lost: ['warning', 'problemsWarningIcon.foreground'],
};

/** The icon of a future in `status`. */
export function statusIcon(status: FutureStatus): vscode.ThemeIcon {
  const [id, colour] = STATUS_ICONS[status];
  return new vscode.ThemeIcon(id, colour === undefined ? undefined : new vscode.ThemeColor(colour));
}

/** TreeDataProvider of the Channels view. */
export class ChannelsTree implements vscode.TreeDataProvider<TreeNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<TreeNode | TreeNode[] | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly subscription: { dispose(): void };

  constructor(
    private readonly model: TreeViewModel,
    private readonly tooltips: TooltipSource,
  ) {
    this.subscription = model.onDidChange((change) => this.changed.fire(change === 'all' ? undefined : [...change]));
  }

  /** Re-reads the whole tree. */
  refreshAll(): void {
    this.changed.fire(undefined);
  }

  getChildren(node?: TreeNode): TreeNode[] {
    return this.model.children(node);
  }

  getParent(node: TreeNode): TreeNode | undefined {
    return this.model.parent(node);
  }

  getTreeItem(node: TreeNode): vscode.TreeItem {
    switch (node.kind) {
      case 'scheduler': {
        const item = new vscode.TreeItem('Scheduler', vscode.TreeItemCollapsibleState.Expanded);
        item.id = node.id;
        const c = node.connection;
        if (c === undefined) {
          item.description = 'not connected';
          item.iconPath = new vscode.ThemeIcon('debug-disconnect');
          item.tooltip = 'Run "Shared Futures: Connect to Scheduler…" or "Start Local Scheduler"';
          item.command = { command: 'sharedFutures.connect', title: 'Connect to Scheduler…' };
          item.collapsibleState = vscode.TreeItemCollapsibleState.None;
          item.contextValue = 'scheduler';
          return item;
        }
        const where = c.kind === 'local' ? 'local' : c.address;
        item.description = `${where} · ${node.workers} worker${node.workers === 1 ? '' : 's'}, ${node.threads} thread${node.threads === 1 ? '' : 's'}`;
        item.iconPath = new vscode.ThemeIcon('vm-running', new vscode.ThemeColor('testing.iconPassed'));
        item.tooltip = `Connected to ${c.kind === 'local' ? 'the local scheduler' : c.address}${node.reportedAddress ? ` (${node.reportedAddress})` : ''}\n${node.workers} workers, ${node.threads} threads`;
        item.contextValue = 'scheduler.connected';
        return item;
      }
      case 'channel':
        return channelItem(node);
      case 'more': {
        const item = new vscode.TreeItem(`… ${node.hidden.toLocaleString('en-US')} more`, vscode.TreeItemCollapsibleState.None);
        item.id = node.id;
        item.description = 'older items';
        item.tooltip = 'The tree shows the newest items of a channel; export a snapshot to see all that are retained.';
        item.contextValue = 'more';
        return item;
      }
      case 'item':
        return itemTreeItem(node);
    }
  }

  async resolveTreeItem(item: vscode.TreeItem, node: TreeNode): Promise<vscode.TreeItem> {
    if (node.kind !== 'item' || node.key === undefined) return item;
    const md = new vscode.MarkdownString();
    md.appendMarkdown(`**${escapeMd(node.key)}** — ${node.status ?? ''}\n\n`);
    try {
      if (node.status === 'finished') {
        const preview = await this.tooltips.resultPreview(node.key);
        if (preview !== undefined) md.appendCodeblock(preview, 'json');
      } else if (node.status === 'error') {
        const text = await this.tooltips.errorText(node.key);
        if (text !== undefined) md.appendCodeblock(text, 'text');
      }
      const story = await this.tooltips.story(node.key);
      if (story.length > 0) {
        md.appendMarkdown('\n**Story**\n\n');
        md.appendCodeblock(story.join('\n'), 'text');
      }
    } catch (err) {
      md.appendMarkdown(`\n_${escapeMd(err instanceof Error ? err.message : String(err))}_`);
    }
    item.tooltip = md;
    return item;
  }

  dispose(): void {
    this.subscription.dispose();
    this.changed.dispose();
  }
}

function channelItem(node: ChannelNode): vscode.TreeItem {
  const item = new vscode.TreeItem(node.name, vscode.TreeItemCollapsibleState.Collapsed);
  item.id = node.id;
  const counts = node.length === node.count ? `${node.count}` : `${node.length}/${node.count}`;
  item.description = `${counts} item${node.count === 1 ? '' : 's'}${node.stopped ? ' · stopped' : ''}`;
  item.iconPath = new vscode.ThemeIcon(node.stopped ? 'debug-stop' : 'list-ordered');
  item.tooltip = `Channel ${node.name}: ${node.length} retained of ${node.count} appended${node.maxlen === null ? '' : ` (maxlen ${node.maxlen})`}${node.stopped ? ', stopped' : ''}`;
  item.contextValue = node.stopped ? 'channel.stopped' : 'channel';
  return item;
}

function itemTreeItem(node: ItemNode): vscode.TreeItem {
  const label = node.key ?? node.preview ?? '';
  const item = new vscode.TreeItem(label, vscode.TreeItemCollapsibleState.None);
  item.id = node.id;
  const age = ageOf(node.since, Date.now());
  if (node.key !== undefined && node.status !== undefined) {
    item.description = `${node.status} · ${age}`;
    item.iconPath = statusIcon(node.status);
    item.contextValue = node.status === 'pending' || node.status === 'processing' ? 'future.running' : 'future';
    item.command = { command: 'sharedFutures.showResult', title: 'Show Result', arguments: [node] };
  } else {
    item.description = `value · #${node.index}`;
    item.iconPath = new vscode.ThemeIcon('symbol-constant');
    item.tooltip = previewOf(node.value, 500);
    item.contextValue = 'value';
  }
  return item;
}

function escapeMd(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+\-.!|<>]/g, '\\$&');
}
