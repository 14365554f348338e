/**
 * Commands on channels and futures, from the tree's context menus, its title bar and the palette: Stop,
 * Delete (after a modal confirm), Export Channel Snapshot (JSON chosen with a save dialog), Copy Key, Show
 * Result (a read-only document), Cancel Future and Refresh.
 */
import * as vscode from 'vscode';
import type { Client } from '../scheduler';
import { buildExport, errorText, serializable } from './channel-commands-export';
import type { ChannelNode, ItemNode, TreeNode, TreeViewModel } from './view-model';
import type { SchedulerFeed } from './view-model-feed';

/** Command ids contributed in package.json. */
export const CHANNEL_COMMANDS = {
  refresh: 'sharedFutures.refresh',
  stopChannel: 'sharedFutures.stopChannel',
  deleteChannel: 'sharedFutures.deleteChannel',
  exportChannel: 'sharedFutures.exportChannel',
  copyKey: 'sharedFutures.copyKey',
  showResult: 'sharedFutures.showResult',
  cancelFuture: 'sharedFutures.cancelFuture',
} as const;

/** Scheme of the read-only result documents. */
export const RESULT_SCHEME = 'shared-futures-result';

/** Registers the channel and future commands and the result documents. */
export function registerChannelCommands(
  subscriptions: vscode.Disposable[],
  feed: SchedulerFeed,
  client: () => Client | undefined,
  refreshTree: () => void,
  log: vscode.LogOutputChannel,
): void {
  const tree = feed.tree;
  const results = new ResultDocuments(client);
  subscriptions.push(
    vscode.workspace.registerTextDocumentContentProvider(RESULT_SCHEME, results),
    vscode.commands.registerCommand(CHANNEL_COMMANDS.refresh, async () => {
      refreshTree();
      await feed.reload();
    }),
    vscode.commands.registerCommand(CHANNEL_COMMANDS.stopChannel, async (node?: TreeNode) => {
      const channel = await pickChannel(tree, node, 'Channel to stop');
      const c = requireClient(client);
      if (channel === undefined || c === undefined) return;
      await withErrors(log, `stop channel ${channel.name}`, () => c.channel(channel.name, { create: false }).stop());
    }),
    vscode.commands.registerCommand(CHANNEL_COMMANDS.deleteChannel, async (node?: TreeNode) => {
      const channel = await pickChannel(tree, node, 'Channel to delete');
      const c = requireClient(client);
      if (channel === undefined || c === undefined) return;
      const answer = await vscode.window.showWarningMessage(
        `Delete channel '${channel.name}' for every client? Its ${channel.length} retained items are released.`,
        { modal: true },
        'Delete',
      );
      if (answer !== 'Delete') return;
      await withErrors(log, `delete channel ${channel.name}`, () => c.channel(channel.name, { create: false }).delete());
    }),
    vscode.commands.registerCommand(CHANNEL_COMMANDS.exportChannel, async (node?: TreeNode) => {
      const channel = await pickChannel(tree, node, 'Channel to export');
      if (channel === undefined || requireClient(client) === undefined) return;
      const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
      const fileName = `${channel.name.replace(/[^\w.-]+/g, '_')}.json`;
      const target = await vscode.window.showSaveDialog({
        title: `Export snapshot of channel '${channel.name}'`,
        defaultUri: folder === undefined ? undefined : vscode.Uri.joinPath(folder, fileName),
        filters: { JSON: ['json'] },
        saveLabel: 'Export',
      });
      if (target === undefined) return;
      await withErrors(log, `export channel ${channel.name}`, async () => {
        const snapshot = await vscode.window.withProgress(
          { location: vscode.ProgressLocation.Notification, title: `Exporting channel '${channel.name}'…` },
          () => feed.readAll(channel.name, (items, count) => buildExport(channel, items, count)),
        );
        await vscode.workspace.fs.writeFile(target, new TextEncoder().encode(`${JSON.stringify(snapshot, null, 2)}\n`));
        log.info(`exported ${snapshot.items.length} items of channel ${channel.name} to ${target.toString()}`);
        void vscode.window.showInformationMessage(`Exported ${snapshot.items.length} items of channel '${channel.name}' to ${vscode.workspace.asRelativePath(target)}.`);
      });
    }),
    vscode.commands.registerCommand(CHANNEL_COMMANDS.copyKey, async (node?: TreeNode) => {
      const item = await pickFuture(node);
      if (item === undefined) return;
      await vscode.env.clipboard.writeText(item);
      vscode.window.setStatusBarMessage(`Copied ${item}`, 3000);
    }),
    vscode.commands.registerCommand(CHANNEL_COMMANDS.showResult, async (node?: TreeNode) => {
      if (node?.kind === 'item' && node.key === undefined) {
        const doc = await vscode.workspace.openTextDocument({ content: JSON.stringify(node.value, null, 2) ?? String(node.value), language: 'json' });
        await vscode.window.showTextDocument(doc, { preview: true });
        return;
      }
      const key = await pickFuture(node);
      if (key === undefined || requireClient(client) === undefined) return;
      const uri = vscode.Uri.from({ scheme: RESULT_SCHEME, path: `/${key}.txt`, query: String(Date.now()) });
      const doc = await vscode.workspace.openTextDocument(uri);
      await vscode.window.showTextDocument(doc, { preview: true });
    }),
    vscode.commands.registerCommand(CHANNEL_COMMANDS.cancelFuture, async (node?: TreeNode) => {
      const key = await pickFuture(node);
      const c = requireClient(client);
      if (key === undefined || c === undefined) return;
      const f = c.future(key);
      // The sidebar holds no interest of its own worth dropping: Cancel Future cancels the task for everyone.
      await withErrors(log, `cancel ${key}`, () => f.cancel({ force: true })).finally(() => f.release());
    }),
  );
}

/** Read-only documents with a future's result, or its error and stack, and its story. */
class ResultDocuments implements vscode.TextDocumentContentProvider {
  constructor(private readonly client: () => Client | undefined) {}

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const key = decodeURIComponent(uri.path.replace(/^\//, '').replace(/\.txt$/, ''));
    const c = this.client();
    if (c === undefined) return `${key}\n\nNot connected to a scheduler.`;
    const f = c.future(key);
    try {
      await f.wait(30_000).catch(() => undefined);
      const lines = [`${key}: ${f.status}`, ''];
      if (f.status === 'finished') {
        const value = await f.result(30_000);
        const r = serializable(value);
        lines.push(r.ok ? JSON.stringify(r.value, null, 2) : String(value));
      } else if (f.status === 'error' || f.status === 'cancelled' || f.status === 'lost') {
        lines.push(errorText(await f.exception(30_000)));
      } else {
        lines.push(`Not done yet (${f.status}).`);
      }
      const story = await c.story(key);
      if (story.length > 0) {
        lines.push('', 'Story:', ...story.map((s) => `${new Date(s.time).toISOString()}  ${s.event}: ${s.from} → ${s.to}`));
      }
      return `${lines.join('\n')}\n`;
    } finally {
      f.release();
    }
  }
}

function requireClient(client: () => Client | undefined): Client | undefined {
  const c = client();
  if (c === undefined) void vscode.window.showInformationMessage('Shared Futures is not connected to a scheduler.');
  return c;
}

async function pickChannel(tree: TreeViewModel, node: TreeNode | undefined, title: string): Promise<ChannelNode | undefined> {
  if (node?.kind === 'channel') return node;
  const channels = tree.children(tree.root).filter((n): n is ChannelNode => n.kind === 'channel');
  if (channels.length === 0) {
    void vscode.window.showInformationMessage('There are no channels.');
    return undefined;
  }
  const pick = await vscode.window.showQuickPick(
    channels.map((c) => ({ label: c.name, description: `${c.count} items${c.stopped ? ', stopped' : ''}`, channel: c })),
    { title },
  );
  return pick?.channel;
}

async function pickFuture(node: TreeNode | undefined): Promise<string | undefined> {
  if (node?.kind === 'item') return node.key;
  const key = await vscode.window.showInputBox({ title: 'Future key', prompt: 'The key of a future', validateInput: (v) => (v.trim() === '' ? 'Enter a key' : undefined) });
  return key?.trim();
}

async function withErrors(log: vscode.LogOutputChannel, what: string, work: () => Promise<unknown>): Promise<void> {
  try {
    await work();
  } catch (err) {
    log.error(`could not ${what}`, err);
    void vscode.window.showErrorMessage(`Could not ${what}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

export type { ItemNode };
export { errorText };
