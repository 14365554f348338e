/**
 * Entry point of the Shared Futures extension. `activate` only registers things (every disposable goes into
 * `context.subscriptions`); nothing starts until a command, a notebook or the view needs it.
 */
import { availableParallelism } from 'node:os';
import * as vscode from 'vscode';
import type { SharedFuturesApi } from './api';
import { RecentAddresses, runConnectFlow, SchedulerTokens, validateSchedulerAddress } from './connect-input';
import { vscodeConnectPrompts } from './connect-prompts';
import { ConnectionManager, type LocalSchedulerOptions } from './connection';
import { registerControllers } from './controller';
import { NotebookKernels } from './kernel-session';
import { NOTEBOOK_TYPE, SfnbSerializer } from './notebook-serializer';
import { runtimeConnector, type RuntimeConnection } from './runtime-connector';
import { registerLiveUi } from './tree-ui';
import { TypedCells } from './typed-cells';

/** Command ids contributed in package.json. */
export const COMMANDS = {
  connect: 'sharedFutures.connect',
  startLocal: 'sharedFutures.startLocal',
  disconnect: 'sharedFutures.disconnect',
  restartKernel: 'sharedFutures.restartKernel',
  openDashboard: 'sharedFutures.openDashboard',
} as const;

let connections: ConnectionManager<RuntimeConnection> | undefined;
let kernels: NotebookKernels | undefined;

/** Registers the serializer, controllers, view and commands; returns the extension's API. */
export function activate(context: vscode.ExtensionContext): SharedFuturesApi {
  const log = vscode.window.createOutputChannel('Shared Futures', { log: true });
  context.subscriptions.push(log);

  const manager = new ConnectionManager(runtimeConnector);
  connections = manager;
  context.subscriptions.push(manager.onDidChange((connection) => announce(connection, log)));

  context.subscriptions.push(
    vscode.workspace.registerNotebookSerializer(NOTEBOOK_TYPE, new SfnbSerializer(), { transientOutputs: false }),
  );
  const notebookKernels = new NotebookKernels(manager, () => localSchedulerOptions(log), log);
  kernels = notebookKernels;
  context.subscriptions.push(notebookKernels);
  // Type errors in cells while typing (the engine loads on the first notebook of ours, not here).
  const typedCells = new TypedCells(log);
  context.subscriptions.push(typedCells);
  registerControllers(context.subscriptions, notebookKernels, log, (notebook, selected) => typedCells.controllerSelected(notebook, selected));

  // The Channels tree, dashboard, status bar and channel commands (also registers COMMANDS.openDashboard).
  registerLiveUi(context, manager, log, COMMANDS.openDashboard);
  // `npm start`'s profile turns this on: its first screen shows the Channels view beside the example notebook.
  if (vscode.workspace.getConfiguration('sharedFutures').get<boolean>('showViewOnStartup', false)) {
    void vscode.commands.executeCommand('workbench.view.extension.sharedFutures');
  }

  const recent = new RecentAddresses(context.globalState);
  const tokens = new SchedulerTokens(context.secrets);
  context.subscriptions.push(
    vscode.commands.registerCommand(COMMANDS.connect, async () => {
      const outcome = await runConnectFlow(vscodeConnectPrompts, recent, tokens, async (address, token) => {
        log.info(`connecting to ${address}${token === undefined ? ' without a token' : ' with a token'}`);
        await manager.connectRemote(address, token);
      });
      if (outcome.kind === 'connected') {
        void vscode.window.showInformationMessage(`Connected to the Shared Futures scheduler at ${outcome.address}.`);
      }
      if (outcome.kind === 'failed') {
        const previous = manager.current;
        const still = previous === undefined ? '' : ` Still connected to ${previous.kind === 'local' ? 'the local scheduler' : previous.address}.`;
        log.error(`could not connect to ${outcome.address}`, outcome.error);
        void vscode.window.showErrorMessage(`Could not connect to ${outcome.address}: ${messageOf(outcome.error)}${still}`);
      }
    }),
    vscode.commands.registerCommand(COMMANDS.startLocal, async () => {
      const options = localSchedulerOptions(log);
      log.info(`starting the local scheduler with ${options.threads} threads${options.listen ? ` listening on 127.0.0.1:${options.listen.port}` : ''}`);
      try {
        await manager.startLocal(options);
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
    vscode.commands.registerCommand(COMMANDS.restartKernel, async (target?: unknown) => {
      // From the notebook toolbar the argument says which notebook; from the palette it is the active one.
      const notebook = notebookOf(target) ?? vscode.window.activeNotebookEditor?.notebook;
      if (notebook === undefined || !(await notebookKernels.restart(notebook))) {
        void vscode.window.showInformationMessage('No Shared Futures kernel is running for this notebook.');
        return;
      }
      void vscode.window.showInformationMessage('Kernel restarted: all variables were cleared.');
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
  const running = kernels;
  connections = undefined;
  kernels = undefined;
  await running?.disposeAll();
  await manager?.dispose();
}

/** The local scheduler's settings: `sharedFutures.localThreads` (0: one less than the CPUs, at least one), `listen`, `listenPort`. */
function localSchedulerOptions(log: vscode.LogOutputChannel): LocalSchedulerOptions {
  const settings = vscode.workspace.getConfiguration('sharedFutures');
  const configured = settings.get<number>('localThreads', 0);
  const threads = configured > 0 ? Math.floor(configured) : Math.max(1, availableParallelism() - 1);
  const listen = settings.get<boolean>('listen', false);
  // The scheduler's own events (remote workers joining or lost, reconnects) go to the log too.
  const schedulerLog = (level: 'info' | 'warn', message: string): void => log[level](`scheduler: ${message}`);
  return listen ? { threads, listen: { port: settings.get<number>('listenPort', 8786) }, log: schedulerLog } : { threads, log: schedulerLog };
}

/** Logs a connection change; a listening local scheduler also gets its address (and Copy token) shown. */
function announce(connection: RuntimeConnection | undefined, log: vscode.LogOutputChannel): void {
  if (connection === undefined) {
    log.info('disconnected');
    return;
  }
  if (connection.kind === 'remote') {
    log.info(`connected to ${connection.address}`);
    return;
  }
  const threads = connection.cluster?.threads ?? 0;
  const listening = connection.listening;
  if (listening === undefined) {
    log.info(`local scheduler running with ${threads} threads`);
    return;
  }
  // The token is never logged: it is only copied on request.
  log.info(`local scheduler running with ${threads} threads, listening at ${listening.address}`);
  void vscode.window
    .showInformationMessage(`The local Shared Futures scheduler listens at ${listening.address}.`, 'Copy token', 'Copy address')
    .then(async (choice) => {
      if (choice === 'Copy token') {
        await vscode.env.clipboard.writeText(listening.token);
      } else if (choice === 'Copy address') {
        await vscode.env.clipboard.writeText(listening.address);
      }
    });
}

function notebookOf(target: unknown): vscode.NotebookDocument | undefined {
  if (typeof target !== 'object' || target === null) {
    return undefined;
  }
  const candidate = target as { notebookEditor?: { notebookUri?: vscode.Uri }; notebook?: vscode.NotebookDocument };
  if (candidate.notebook !== undefined) {
    return candidate.notebook;
  }
  const uri = candidate.notebookEditor?.notebookUri;
  return uri === undefined ? undefined : vscode.workspace.notebookDocuments.find((n) => n.uri.toString() === uri.toString());
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
