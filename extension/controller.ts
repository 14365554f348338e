/**
 * The notebook controller "Shared Futures (TypeScript)": timing and success of each cell run, with the
 * running itself (outputs, execution order) delegated to a `CellRunner`, the notebook kernels.
 */
import * as vscode from 'vscode';
import { NOTEBOOK_TYPE } from './notebook-serializer';

/** Label of the controller in the kernel picker. */
export const CONTROLLER_LABEL = 'Shared Futures (TypeScript)';
/** Notebook types the controller serves; `jupyter-notebook` only matters where the Jupyter extension is. */
export const CONTROLLER_NOTEBOOK_TYPES = [NOTEBOOK_TYPE, 'jupyter-notebook'] as const;

/** Runs one cell, filling its outputs and execution order; resolves true on success. */
export interface CellRunner {
  /** `controller` is the one running the cell: live outputs that change later update through it. */
  run(cell: vscode.NotebookCell, execution: vscode.NotebookCellExecution, controller: vscode.NotebookController): Promise<boolean>;
  /** Stops the running cell of `notebook`, if any. */
  interrupt(notebook: vscode.NotebookDocument): void;
  /** Told how a run ended, as the cell shows it (later output updates keep this summary). */
  ended?(cell: vscode.NotebookCell, summary: { success: boolean; startTime: number; endTime: number }): void;
}

/**
 * Creates one controller per notebook type; each pushes its disposables into `subscriptions`.
 * `onSelected` hears when a controller is selected for a notebook, or unselected.
 */
export function registerControllers(
  subscriptions: vscode.Disposable[],
  runner: CellRunner,
  log: vscode.LogOutputChannel,
  onSelected?: (notebook: vscode.NotebookDocument, selected: boolean) => void,
): void {
  for (const notebookType of CONTROLLER_NOTEBOOK_TYPES) {
    const controller = vscode.notebooks.createNotebookController(
      `shared-futures-kernel/${notebookType}`,
      notebookType,
      CONTROLLER_LABEL,
    );
    controller.supportedLanguages = ['typescript', 'javascript'];
    controller.supportsExecutionOrder = true;
    controller.description = 'Cells run with a client of the current Shared Futures scheduler';
    controller.executeHandler = async (cells, notebook) => {
      // Like VS Code's Jupyter: every cell of the run is queued at once (shown pending), and the run stops at
      // the first cell that fails or is interrupted. The cells after it did not run, so they must not look as
      // if they had: they end with no success mark and, our choice (Jupyter leaves them), their outputs are
      // cleared, since old outputs under a failed cell read as results of this run.
      const queued: [vscode.NotebookCell, vscode.NotebookCellExecution][] = [];
      for (const cell of cells) {
        try {
          queued.push([cell, controller.createNotebookCellExecution(cell)]);
        } catch (err) {
          log.warn(`cell ${cell.index + 1} of ${notebook.uri.toString()} is already queued or running`, err);
        }
      }
      for (const [position, [cell, execution]] of queued.entries()) {
        const startTime = Date.now();
        execution.start(startTime);
        let ok = false;
        try {
          await execution.clearOutput();
          ok = await runner.run(cell, execution, controller);
        } catch (err) {
          log.error(`cell ${cell.index + 1} of ${notebook.uri.toString()} failed to run`, err);
          await execution.replaceOutput(
            new vscode.NotebookCellOutput([vscode.NotebookCellOutputItem.error(toError(err))]),
          );
        } finally {
          const endTime = Date.now();
          execution.end(ok, endTime);
          runner.ended?.(cell, { success: ok, startTime, endTime });
        }
        if (!ok) {
          for (const [, notRun] of queued.slice(position + 1)) {
            notRun.start();
            try {
              await notRun.clearOutput();
            } finally {
              notRun.end(undefined);
            }
          }
          break;
        }
      }
    };
    controller.interruptHandler = (notebook) => runner.interrupt(notebook);
    subscriptions.push(controller);
    if (onSelected) {
      subscriptions.push(controller.onDidChangeSelectedNotebooks(({ notebook, selected }) => onSelected(notebook, selected)));
    }
    if (notebookType === NOTEBOOK_TYPE) {
      // The only kernel of .sfnb notebooks: offer it first, so Run All needs no pick.
      const prefer = (notebook: vscode.NotebookDocument): void => {
        if (notebook.notebookType === NOTEBOOK_TYPE) {
          controller.updateNotebookAffinity(notebook, vscode.NotebookControllerAffinity.Preferred);
        }
      };
      vscode.workspace.notebookDocuments.forEach(prefer);
      subscriptions.push(vscode.workspace.onDidOpenNotebookDocument(prefer));
    }
  }
}

function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
