/**
 * The notebook kernels of the extension: one `Kernel` (kernel/kernel.ts) per open notebook, started on its
 * first cell run with `client` connected to the extension's current scheduler (a MessagePort to the local
 * cluster, or the remote address and token), stopped when the notebook closes, when the scheduler changes
 * and on deactivate. How a running kernel shows its cells' outputs is notebook-kernel.ts.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ConnectionManager, LocalSchedulerOptions } from './connection';
import type { CellRunner } from './controller';
import { NotebookKernel } from './notebook-kernel';
import type { RuntimeConnection } from './runtime-connector';

/** How long an interrupted cell may take to stop before its kernel is restarted. */
const INTERRUPT_GRACE_MS = 3000;

/** The kernels of open notebooks; also the controller's `CellRunner`. */
export class NotebookKernels implements CellRunner, vscode.Disposable {
  private readonly kernels = new Map<string, Promise<NotebookKernel>>();
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor(
    private readonly connections: ConnectionManager<RuntimeConnection>,
    private readonly localOptions: () => LocalSchedulerOptions,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.subscriptions.push(
      vscode.workspace.onDidCloseNotebookDocument((notebook) => void this.stop(notebook, 'the notebook was closed')),
      new vscode.Disposable(
        connections.onDidChange(() => {
          // A kernel's `client` belongs to the scheduler it started with; the next run starts a new kernel.
          for (const [key, pending] of this.kernels) {
            void pending.then(
              (entry) => {
                if (entry.connection !== this.connections.current && this.kernels.get(key) === pending) {
                  this.kernels.delete(key);
                  this.log.info(`kernel of ${key} stopped: the scheduler changed`);
                  void entry.dispose();
                }
              },
              () => undefined,
            );
          }
        }).dispose,
      ),
    );
  }

  /** Runs `cell` with the kernel of its notebook, starting the scheduler and the kernel when needed. */
  async run(cell: vscode.NotebookCell, execution: vscode.NotebookCellExecution, controller: vscode.NotebookController): Promise<boolean> {
    const entry = await this.kernelFor(cell.notebook);
    return entry.run(cell, execution, controller);
  }

  /** Passes on how a run ended to the kernel that ran it. */
  ended(cell: vscode.NotebookCell, summary: { success: boolean; startTime: number; endTime: number }): void {
    void this.kernels.get(cell.notebook.uri.toString())?.then(
      (entry) => entry.ended(cell, summary),
      () => undefined,
    );
  }

  /** Interrupts the running cell of `notebook` (and aborts its queued ones). */
  interrupt(notebook: vscode.NotebookDocument): void {
    const pending = this.kernels.get(notebook.uri.toString());
    void pending?.then((entry) => {
      this.log.info(`interrupting the kernel of ${notebook.uri.toString()}`);
      return entry.kernel.interrupt();
    });
  }

  /** Restarts the kernel of `notebook`; false when it has none running. */
  async restart(notebook: vscode.NotebookDocument): Promise<boolean> {
    const pending = this.kernels.get(notebook.uri.toString());
    if (pending === undefined) {
      return false;
    }
    const entry = await pending;
    this.log.info(`restarting the kernel of ${notebook.uri.toString()}`);
    await entry.kernel.restart();
    return true;
  }

  /** Stops every kernel (deactivate). */
  async disposeAll(): Promise<void> {
    const all = [...this.kernels.values()];
    this.kernels.clear();
    await Promise.all(all.map((pending) => pending.then((entry) => entry.dispose(), () => undefined)));
  }

  dispose(): void {
    for (const subscription of this.subscriptions) {
      subscription.dispose();
    }
    void this.disposeAll();
  }

  private async stop(notebook: vscode.NotebookDocument, why: string): Promise<void> {
    const key = notebook.uri.toString();
    const pending = this.kernels.get(key);
    if (pending === undefined) {
      return;
    }
    this.kernels.delete(key);
    const entry = await pending.catch(() => undefined);
    if (entry !== undefined) {
      this.log.info(`kernel of ${key} stopped: ${why}`);
      await entry.dispose();
    }
  }

  private kernelFor(notebook: vscode.NotebookDocument): Promise<NotebookKernel> {
    const key = notebook.uri.toString();
    let pending = this.kernels.get(key);
    if (pending === undefined) {
      pending = this.startKernel(notebook);
      this.kernels.set(key, pending);
      const started = pending;
      // A kernel that could not start is forgotten, so the next run tries again.
      started.catch(() => {
        if (this.kernels.get(key) === started) {
          this.kernels.delete(key);
        }
      });
    }
    return pending;
  }

  private async startKernel(notebook: vscode.NotebookDocument): Promise<NotebookKernel> {
    const connection = await this.connections.ensureConnected(this.localOptions());
    const { Kernel } = await import('../kernel/kernel');
    const where = connection.kind === 'local' ? 'the local scheduler' : connection.address;
    this.log.info(`starting a kernel for ${notebook.uri.toString()} connected to ${where}`);
    const kernel = await Kernel.start({
      notebookDir: notebookDir(notebook),
      connect: connection.kernelConnect(),
      interruptGraceMs: INTERRUPT_GRACE_MS,
    });
    if (kernel.warning !== undefined) {
      this.log.warn(`kernel for ${notebook.uri.toString()}: ${kernel.warning}`);
    }
    return new NotebookKernel(kernel, connection, this.log);
  }
}

/** Where `require` in cells resolves from: the notebook's folder, else the first workspace folder. */
function notebookDir(notebook: vscode.NotebookDocument): string | undefined {
  if (notebook.uri.scheme === 'file') {
    return path.dirname(notebook.uri.fsPath);
  }
  return vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
}
