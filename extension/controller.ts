/**
 * The notebook controller "Shared Futures (TypeScript)": execution order, timing and success of each cell
 * run, with the running itself delegated to a `CellRunner` (the kernel, once it is wired in).
 */
import * as vscode from 'vscode';
import { NOTEBOOK_TYPE } from './notebook-serializer';

/** Label of the controller in the kernel picker. */
export const CONTROLLER_LABEL = 'Shared Futures (TypeScript)';
/** Notebook types the controller serves; `jupyter-notebook` only matters where the Jupyter extension is. */
export const CONTROLLER_NOTEBOOK_TYPES = [NOTEBOOK_TYPE, 'jupyter-notebook'] as const;

/** Runs one cell and fills its outputs; resolves true on success. */
export interface CellRunner {
  run(cell: vscode.NotebookCell, execution: vscode.NotebookCellExecution): Promise<boolean>;
  /** Stops the running cell of `notebook`, if any. */
  interrupt(notebook: vscode.NotebookDocument): void;
}

/** The runner used until the kernel is wired in: every cell fails, saying why. */
export const kernelNotBundledRunner: CellRunner = {
  async run(_cell, execution) {
    await execution.replaceOutput(
      new vscode.NotebookCellOutput([
        vscode.NotebookCellOutputItem.error(new Error('The Shared Futures kernel is not part of this build yet.')),
      ]),
    );
    return false;
  },
  interrupt() {},
};

/** Creates one controller per notebook type; each pushes its disposables into `subscriptions`. */
export function registerControllers(subscriptions: vscode.Disposable[], runner: CellRunner, log: vscode.LogOutputChannel): void {
  for (const notebookType of CONTROLLER_NOTEBOOK_TYPES) {
    const controller = vscode.notebooks.createNotebookController(
      `shared-futures-kernel/${notebookType}`,
      notebookType,
      CONTROLLER_LABEL,
    );
    controller.supportedLanguages = ['typescript', 'javascript'];
    controller.supportsExecutionOrder = true;
    controller.description = 'Cells run with a client of the current Shared Futures scheduler';
    // Execution order counts per notebook, like Jupyter's In [n].
    const order = new WeakMap<vscode.NotebookDocument, number>();
    controller.executeHandler = async (cells, notebook) => {
      for (const cell of cells) {
        const execution = controller.createNotebookCellExecution(cell);
        const next = (order.get(notebook) ?? 0) + 1;
        order.set(notebook, next);
        execution.executionOrder = next;
        execution.start(Date.now());
        let ok = false;
        try {
          await execution.clearOutput();
          ok = await runner.run(cell, execution);
        } catch (err) {
          log.error(`cell ${cell.index + 1} of ${notebook.uri.toString()} failed to run`, err);
          await execution.replaceOutput(
            new vscode.NotebookCellOutput([vscode.NotebookCellOutputItem.error(toError(err))]),
          );
        } finally {
          execution.end(ok, Date.now());
        }
        if (!ok) {
          break; // like Jupyter's Run All: stop at the first failing cell
        }
      }
    };
    controller.interruptHandler = (notebook) => runner.interrupt(notebook);
    subscriptions.push(controller);
  }
}

function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
