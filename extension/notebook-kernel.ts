/**
 * A running notebook kernel in VS Code: it runs cells in their executions and keeps their outputs following
 * the kernel's outputs, live updates included, also after a cell finished (through short-lived executions
 * that keep the run's summary). kernel-session.ts decides which notebook has which kernel.
 */
import { randomUUID } from 'node:crypto';
import * as vscode from 'vscode';
import type { Kernel, KernelOutput, TypeCheckMode } from '../kernel/kernel';
import { CellOutputTracker, coalesce, type OutputChange } from './kernel-outputs';
import type { OutputItemShape } from './notebook-data';
import type { RuntimeConnection } from './runtime-connector';

/** Outputs of one cell run, while it runs and afterwards (live outputs keep changing). */
interface CellRunState {
  readonly cell: vscode.NotebookCell;
  readonly controller: vscode.NotebookController;
  readonly tracker: CellOutputTracker;
  readonly outputs: Map<string, vscode.NotebookCellOutput>;
  /** The execution while the cell runs; afterwards changes go through short-lived executions. */
  execution: vscode.NotebookCellExecution | undefined;
  /** The kernel finished the run (its execution may still be applying the last changes). */
  finished: boolean;
  /** The execution order shown for the run (the kernel's count). */
  order: number | undefined;
  /** How the run ended, restored by every short-lived execution that updates outputs afterwards. */
  summary: { success: boolean; startTime: number; endTime: number } | undefined;
  /** Changes are applied one after the other. */
  applying: Promise<void>;
  /** Changes that arrived after the run, waiting for the next short-lived execution. */
  late: OutputChange[];
  lateFlush: Promise<void> | undefined;
}

/** A running kernel of one notebook and the runs whose outputs it may still update. */
export class NotebookKernel {
  /** Runs by the kernel's execution number (reset by a restart). */
  readonly runs = new Map<number, CellRunState>();
  /** The newest run of each cell: outputs of an older run of a cell are no longer on screen. */
  readonly newest = new Map<string, CellRunState>();
  private readonly subscriptions: { dispose(): void }[] = [];
  readonly id = randomUUID().slice(0, 8);

  constructor(
    readonly kernel: Kernel,
    readonly connection: RuntimeConnection,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.subscriptions.push(
      kernel.onOutput((output) => this.onLateOutput(output)),
      kernel.onStatus((status) => {
        if (status === 'restarting') {
          this.runs.clear(); // execution numbers start again at 1
        }
      }),
    );
  }

  async dispose(): Promise<void> {
    for (const subscription of this.subscriptions) {
      subscription.dispose();
    }
    this.runs.clear();
    this.newest.clear();
    await this.kernel.dispose();
  }

  /** Runs one cell in `execution`; true when it succeeded. */
  async run(cell: vscode.NotebookCell, execution: vscode.NotebookCellExecution, controller: vscode.NotebookController): Promise<boolean> {
    const state: CellRunState = {
      cell,
      controller,
      tracker: new CellOutputTracker(`${this.id}/${randomUUID().slice(0, 8)}`),
      outputs: new Map(),
      execution,
      finished: false,
      order: undefined,
      summary: undefined,
      applying: Promise.resolve(),
      late: [],
      lateFlush: undefined,
    };
    this.newest.set(cell.document.uri.toString(), state);
    let registered = 0;
    const register = (n: number): void => {
      if (n > 0 && registered !== n) {
        registered = n;
        this.runs.set(n, state);
        state.order = n;
        execution.executionOrder = n; // the kernel's count, as its stacks say `In [n]`
      }
    };
    const run = await this.kernel.execute(cell.document.getText(), {
      language: cell.document.languageId,
      typeCheck: typeCheckSetting(),
      cellId: cell.document.uri.toString(),
      onOutput: (output) => {
        register(output.execution);
        const change = state.tracker.apply(output);
        if (change !== undefined) {
          enqueue(state, execution, change);
        }
      },
    });
    register(run.execution);
    state.finished = true;
    // Live updates that come while the last changes are applied join the same execution.
    let applied: Promise<void>;
    do {
      applied = state.applying;
      await applied;
    } while (applied !== state.applying);
    state.execution = undefined;
    if (run.status === 'aborted' && run.outputs.length === 0) {
      await execution.replaceOutput(
        new vscode.NotebookCellOutput([vscode.NotebookCellOutputItem.stderr('Not run: an interrupt or restart cleared the queue.\n')]),
      );
    }
    return run.status === 'ok';
  }

  /** Records how the newest run of `cell` ended, and shows the output changes that waited for it. */
  ended(cell: vscode.NotebookCell, summary: { success: boolean; startTime: number; endTime: number }): void {
    const state = this.newest.get(cell.document.uri.toString());
    if (state === undefined || state.summary !== undefined) {
      return;
    }
    state.summary = summary;
    this.scheduleLateFlush(state);
  }

  private scheduleLateFlush(state: CellRunState): void {
    if (state.late.length === 0) {
      return;
    }
    state.lateFlush ??= this.flushLate(state).finally(() => {
      state.lateFlush = undefined;
    });
  }

  /** Live updates after a run finished: applied with a short-lived execution that keeps the cell's summary. */
  private onLateOutput(output: KernelOutput): void {
    const state = this.runs.get(output.execution);
    if (state === undefined || (state.execution !== undefined && !state.finished)) {
      return; // unknown, or still running (its own onOutput handles it)
    }
    if (this.newest.get(state.cell.document.uri.toString()) !== state || state.cell.index < 0) {
      return; // the cell ran again or was deleted: these outputs are gone
    }
    const change = state.tracker.apply(output);
    if (change === undefined) {
      return;
    }
    if (state.execution !== undefined) {
      enqueue(state, state.execution, change);
      return;
    }
    coalesce(state.late, change);
    this.scheduleLateFlush(state);
  }

  private async flushLate(state: CellRunState): Promise<void> {
    while (state.late.length > 0 && state.execution === undefined && this.newest.get(state.cell.document.uri.toString()) === state) {
      // The cell's own executionSummary lags behind (it is updated from the window), so the run's is used.
      const summary = state.summary;
      if (summary === undefined) {
        return; // the controller has not ended the run yet; its end calls ended(), which flushes
      }
      const changes = state.late.splice(0);
      let execution: vscode.NotebookCellExecution;
      try {
        execution = state.controller.createNotebookCellExecution(state.cell);
      } catch (err) {
        // The cell is queued or running again: its new run owns the outputs now.
        this.log.debug(`live output update skipped: ${String(err)}`);
        return;
      }
      execution.executionOrder = state.order;
      execution.start(summary.startTime);
      try {
        for (const change of changes) {
          enqueue(state, execution, change);
        }
        await state.applying;
      } catch (err) {
        this.log.warn(`live output update failed: ${String(err)}`);
      } finally {
        execution.end(summary.success, summary.endTime);
      }
    }
  }
}

/** Applies `change` after the changes before it. */
function enqueue(state: CellRunState, execution: vscode.NotebookCellExecution, change: OutputChange): void {
  state.applying = state.applying
    .then(() => applyChange(state, execution, change))
    .catch(() => undefined); // a cell deleted meanwhile: nothing to show it in
}

async function applyChange(state: CellRunState, execution: vscode.NotebookCellExecution, change: OutputChange): Promise<void> {
  switch (change.op) {
    case 'append': {
      const output = new vscode.NotebookCellOutput(change.output.items.map(toItem), change.output.metadata);
      state.outputs.set(change.output.id, output);
      await execution.appendOutput(output);
      break;
    }
    case 'appendItems':
    case 'replaceItems': {
      const output = state.outputs.get(change.id);
      if (output === undefined) {
        return;
      }
      const items = change.items.map(toItem);
      if (change.op === 'appendItems') {
        output.items.push(...items);
        await execution.appendOutputItems(items, output);
      } else {
        output.items = items;
        await execution.replaceOutputItems(items, output);
      }
      break;
    }
  }
}

function toItem(item: OutputItemShape): vscode.NotebookCellOutputItem {
  return new vscode.NotebookCellOutputItem(item.data, item.mime);
}

/** `sharedFutures.typeCheck`, read at each run so a change applies to the next cell. */
function typeCheckSetting(): TypeCheckMode {
  const value = vscode.workspace.getConfiguration('sharedFutures').get<string>('typeCheck', 'warn');
  return value === 'block' || value === 'off' ? value : 'warn';
}
