/**
 * Wires the live UI to the connection manager: one feed (events, channel windows, info polls) drives the
 * Channels tree, the dashboard and the status-bar item; the channel commands act through the current client.
 * `registerLiveUi` only registers; the models read nothing until a scheduler is connected.
 */
import * as vscode from 'vscode';
import type { Client } from '../scheduler';
import { CHANNEL_COMMANDS, errorText, registerChannelCommands } from './channel-commands';
import type { ConnectionSource, SchedulerConnection } from './connection';
import { registerDashboard } from './dashboard';
import { registerStatusBar } from './status-bar';
import { CHANNELS_TREE_VIEW_ID, ChannelsTree, type TooltipSource } from './tree';
import { previewOf } from './view-model-batch';
import { TreeViewModel } from './view-model';
import { DashboardModel } from './view-model-dashboard';
import { SchedulerFeed } from './view-model-feed';

/** A connection that may carry a runtime client (the extension's RuntimeConnection does). */
type MaybeClientConnection = SchedulerConnection & { readonly client?: Client };

/** Registers the tree, dashboard, status bar and channel commands; returns the models (tests, the API). */
export function registerLiveUi(
  context: vscode.ExtensionContext,
  connections: ConnectionSource,
  log: vscode.LogOutputChannel,
  openDashboardCommand: string,
): { feed: SchedulerFeed } {
  const subs = context.subscriptions;
  const tree = new TreeViewModel();
  const dashboard = new DashboardModel(tree);
  const feed = new SchedulerFeed(tree, dashboard, { onError: (what, err) => log.warn(`${what} failed`, err) });
  subs.push(feed, tree, dashboard);

  const client = (): Client | undefined => (connections.current as MaybeClientConnection | undefined)?.client;
  const follow = (connection: SchedulerConnection | undefined) => {
    const c = (connection as MaybeClientConnection | undefined)?.client;
    feed.follow(c, connection === undefined ? undefined : { kind: connection.kind, address: connection.address });
  };
  follow(connections.current);
  subs.push(connections.onDidChange(follow));

  const tooltips: TooltipSource = {
    async resultPreview(key) {
      const c = client();
      if (c === undefined) return undefined;
      const f = c.future(key);
      try {
        return previewOf(await f.result(2000), 400);
      } finally {
        f.release();
      }
    },
    async errorText(key) {
      const c = client();
      if (c === undefined) return undefined;
      const f = c.future(key);
      try {
        return errorText(await f.exception(2000));
      } finally {
        f.release();
      }
    },
    async story(key) {
      const c = client();
      if (c === undefined) return [];
      return (await c.story(key)).slice(-12).map((s) => `${new Date(s.time).toISOString().slice(11, 23)} ${s.event}: ${s.from} → ${s.to}`);
    },
  };
  const provider = new ChannelsTree(tree, tooltips);
  const view = vscode.window.createTreeView(CHANNELS_TREE_VIEW_ID, { treeDataProvider: provider, showCollapseAll: true });
  subs.push(provider, view);

  registerChannelCommands(subs, feed, client, () => provider.refreshAll(), log);
  registerDashboard(subs, context.extensionUri, dashboard, openDashboardCommand, async (command, channel) => {
    const node = channel === undefined ? undefined : tree.channel(channel);
    if (command === 'refresh') await vscode.commands.executeCommand(CHANNEL_COMMANDS.refresh);
    else await vscode.commands.executeCommand(CHANNEL_COMMANDS[command], node);
  });
  registerStatusBar(subs, dashboard, openDashboardCommand);
  return { feed };
}
