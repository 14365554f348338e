/**
 * Runs a notebook's code cells in order with the kernel, without VS Code: what
 * `shared-futures run notebook.sfnb` does. Stops at the first failing cell.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Kernel, type ErrorOutput, type KernelConnect, type KernelOutput, type TypeCheckMode } from './kernel';
import { startLocalCluster } from './runtime-types';
import { CellOutputCollector } from './outputs';
import { parseNotebook, serializeNotebook, type Notebook } from './serializer';

/** Options of `runNotebook`. */
export interface RunNotebookOptions {
  /** A remote scheduler (`ws://host:port`); without it an in-process LocalCluster is started. */
  scheduler?: string;
  /** Token for the remote scheduler. */
  token?: string;
  /** Where to write the executed notebook (with outputs); nothing is written without it. */
  out?: string;
  /** Per-cell time limit in seconds; a cell over it is interrupted and fails. */
  timeoutSec?: number;
  /** Threads of the in-process LocalCluster. */
  threads?: number;
  /** Every output as it comes, with the 0-based index of its cell in the notebook. */
  onOutput?: (output: KernelOutput, cellIndex: number) => void;
  /** Called before each code cell runs. */
  onCellStart?: (cellIndex: number, source: string) => void;
  /** Overrides the scheduler connection (tests); `scheduler`/`token` are then ignored. */
  connect?: KernelConnect | null;
  /** The runtime module (see KernelOptions.runtimeModule). */
  runtimeModule?: string | null;
  /** Type check of each cell before it runs: `warn` (default), `block` or `off` (see KernelOptions.typeCheck). */
  typeCheck?: TypeCheckMode;
}

/** What `runNotebook` reports. */
export interface RunNotebookResult {
  ok: boolean;
  /** Code cells that ran (the failing one included). */
  executed: number;
  /** 0-based index of the failing cell. */
  failedCell?: number;
  error?: ErrorOutput;
  /** The notebook with the new outputs. */
  notebook: Notebook;
}

/** Runs the notebook at `file`. Throws SfnbFormatError for a file that is not a notebook. */
export async function runNotebook(file: string, options: RunNotebookOptions = {}): Promise<RunNotebookResult> {
  const notebook = parseNotebook(fs.readFileSync(file, 'utf8'));
  let closeCluster: (() => Promise<void>) | undefined;
  let connect: KernelConnect | undefined;
  if (options.connect !== undefined) {
    connect = options.connect ?? undefined;
  } else if (options.scheduler) {
    connect = { address: options.scheduler, token: options.token };
  } else {
    const cluster = await startLocalCluster({ threads: options.threads, runtimeModule: options.runtimeModule ?? undefined });
    connect = cluster.connect;
    closeCluster = cluster.close;
  }

  const collectors = new Map<number, CellOutputCollector>();
  const cellOfExecution = new Map<number, number>();
  let kernel: Kernel | undefined;
  const result: RunNotebookResult = { ok: true, executed: 0, notebook };
  try {
    kernel = await Kernel.start({
      notebookDir: path.dirname(path.resolve(file)),
      connect,
      runtimeModule: options.runtimeModule,
      typeCheck: options.typeCheck,
    });
    kernel.onOutput((output) => {
      const cellIndex = cellOfExecution.get(output.execution);
      if (cellIndex === undefined) {
        return;
      }
      collectors.get(cellIndex)?.add(output);
      options.onOutput?.(output, cellIndex);
    });
    for (const [index, cell] of notebook.cells.entries()) {
      if (cell.kind !== 'code' || cell.source.trim() === '') {
        continue;
      }
      options.onCellStart?.(index, cell.source);
      const collector = new CellOutputCollector();
      collectors.set(index, collector);
      const execution = kernel.execute(cell.source, { language: cell.language, label: `Cell ${index + 1}`, cellId: `cell-${index}` });
      // Outputs of this execution belong to this cell from its first one on.
      cellOfExecution.set(nextExecution(cellOfExecution), index);
      const run = await withTimeout(kernel, execution, options.timeoutSec, index);
      result.executed++;
      cell.executionCount = run.execution;
      if (run.timedOut) {
        const output: KernelOutput = { type: 'error', execution: run.execution, ...run.timedOut };
        collector.add(output);
        options.onOutput?.(output, index);
      }
      if (run.status !== 'ok') {
        result.ok = false;
        result.failedCell = index;
        result.error = run.timedOut ?? run.error ?? { ename: 'Error', evalue: `cell ${index + 1} ended: ${run.status}`, traceback: [] };
        break;
      }
    }
    await kernel.flushLiveOutputs();
    for (const [index, collector] of collectors) {
      notebook.cells[index].outputs = collector.toJson();
    }
    if (options.out) {
      writeAtomically(options.out, serializeNotebook(notebook));
    }
    return result;
  } finally {
    await kernel?.dispose();
    await closeCluster?.();
  }
}

/** Execution counts start at 1 and grow by one per run cell (the runner never restarts the kernel). */
function nextExecution(cellOfExecution: Map<number, number>): number {
  return cellOfExecution.size + 1;
}

async function withTimeout(
  kernel: Kernel,
  execution: ReturnType<Kernel['execute']>,
  timeoutSec: number | undefined,
  index: number,
): Promise<Awaited<ReturnType<Kernel['execute']>> & { timedOut?: ErrorOutput }> {
  if (!timeoutSec || timeoutSec <= 0) {
    return execution;
  }
  let timedOut: ErrorOutput | undefined;
  const timer = setTimeout(() => {
    const message = `cell ${index + 1} did not finish within ${timeoutSec}s (--timeout)`;
    timedOut = { ename: 'TimeoutError', evalue: message, traceback: [`TimeoutError: ${message}`] };
    void kernel.interrupt();
  }, timeoutSec * 1000);
  try {
    const run = await execution;
    return timedOut ? { ...run, status: 'error', timedOut } : run;
  } finally {
    clearTimeout(timer);
  }
}

/** Writes through a temporary file so that a crash never leaves a half-written notebook. */
function writeAtomically(file: string, text: string): void {
  const temp = path.join(path.dirname(path.resolve(file)), `.${path.basename(file)}.${process.pid}.tmp`);
  fs.writeFileSync(temp, text);
  fs.renameSync(temp, file);
}
