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
      for (const cell of cells) {
        const execution = controller.createNotebookCellExecution(cell);
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
          break; // like Jupyter's Run All: stop at the first failing cell
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
