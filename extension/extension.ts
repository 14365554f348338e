/**
 * Entry point of the Shared Futures extension. `activate` only registers things (every disposable goes into
 * `context.subscriptions`); nothing starts until a command, a notebook or the view needs it.
 */
import { availableParallelism } from 'node:os';
import * as vscode from 'vscode';
import type { SharedFuturesApi } from './api';
import { RecentAddresses, runConnectFlow, SchedulerTokens, validateSchedulerAddress } from './connect-input';
import { vscodeConnectPrompts } from './connect-prompts';
import { ConnectionManager } from './connection';
import { kernelNotBundledRunner, registerControllers } from './controller';
import { NOTEBOOK_TYPE, SfnbSerializer } from './notebook-serializer';
import { runtimeConnector, type RuntimeConnection } from './runtime-connector';
import { registerLiveUi } from './tree-ui';

/** Command ids contributed in package.json. */
export const COMMANDS = {
  connect: 'sharedFutures.connect',
  startLocal: 'sharedFutures.startLocal',
  disconnect: 'sharedFutures.disconnect',
  restartKernel: 'sharedFutures.restartKernel',
  openDashboard: 'sharedFutures.openDashboard',
} as const;

let connections: ConnectionManager<RuntimeConnection> | undefined;

/** Registers the serializer, controllers, view and commands; returns the extension's API. */
export function activate(context: vscode.ExtensionContext): SharedFuturesApi {
  const log = vscode.window.createOutputChannel('Shared Futures', { log: true });
  context.subscriptions.push(log);

  const manager = new ConnectionManager(runtimeConnector);
  connections = manager;
  context.subscriptions.push(
    manager.onDidChange((connection) =>
      log.info(connection === undefined ? 'disconnected' : `connected to ${connection.kind === 'local' ? 'the local scheduler' : connection.address}`),
    ),
  );

  context.subscriptions.push(
    vscode.workspace.registerNotebookSerializer(NOTEBOOK_TYPE, new SfnbSerializer(), { transientOutputs: false }),
  );
  registerControllers(context.subscriptions, kernelNotBundledRunner, log);

  // The Channels tree, dashboard, status bar and channel commands (also registers COMMANDS.openDashboard).
  registerLiveUi(context, manager, log, COMMANDS.openDashboard);

  const recent = new RecentAddresses(context.globalState);
  const tokens = new SchedulerTokens(context.secrets);
  context.subscriptions.push(
    vscode.commands.registerCommand(COMMANDS.connect, async () => {
      const outcome = await runConnectFlow(vscodeConnectPrompts, recent, tokens, async (address, token) => {
        log.info(`connecting to ${address}`);
        await manager.connectRemote(address, token);
      });
      if (outcome.kind === 'failed') {
        const previous = manager.current;
        const still = previous === undefined ? '' : ` Still connected to ${previous.kind === 'local' ? 'the local scheduler' : previous.address}.`;
        log.error(`could not connect to ${outcome.address}`, outcome.error);
        void vscode.window.showErrorMessage(`Could not connect to ${outcome.address}: ${messageOf(outcome.error)}${still}`);
      }
    }),
    vscode.commands.registerCommand(COMMANDS.startLocal, async () => {
      const threads = localThreads();
      log.info(`starting the local scheduler with ${threads} threads`);
      try {
        await manager.startLocal(threads);
        log.info(`local scheduler running with ${threads} threads`);
      } catch (err) {
        log.error('could not start the local scheduler', err);
        void vscode.window.showErrorMessage(`Could not start the local scheduler: ${messageOf(err)}`);
      }
    }),
    vscode.commands.registerCommand(COMMANDS.disconnect, async () => {
      if (manager.current === undefined) {
        void vscode.window.showInformationMessage('Shared Futures is not connected to a scheduler.');
        return;
      }
      await manager.disconnect();
    }),
    vscode.commands.registerCommand(COMMANDS.restartKernel, () => {
      void vscode.window.showInformationMessage('No Shared Futures kernel is running.');
    }),
  );
  const version = String((context.extension.packageJSON as { version?: unknown }).version);
  log.info(`activated (extension ${version}, VS Code ${vscode.version})`);
  return {
    version,
    validateSchedulerAddress,
    get connection() {
      const current = manager.current;
      return current === undefined ? undefined : { address: current.address, kind: current.kind };
    },
  };
}

/** Closes the scheduler connection (and a local scheduler's threads) before the extension host goes. */
export async function deactivate(): Promise<void> {
  const manager = connections;
  connections = undefined;
  await manager?.dispose();
}

/** `sharedFutures.localThreads`, where 0 means one less than the CPUs (at least one). */
function localThreads(): number {
  const configured = vscode.workspace.getConfiguration('sharedFutures').get<number>('localThreads', 0);
  return configured > 0 ? Math.floor(configured) : Math.max(1, availableParallelism() - 1);
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
