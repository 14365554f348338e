/**
 * The notebook kernel, main-thread side: transpiles and type-checks cells, runs them one at a time in the
 * kernel thread (a worker thread with one persistent context, kernel-worker.ts), streams their outputs,
 * interrupts and restarts. Its parts: kernel-types.ts (the API's types), cell-type-check.ts (the check before
 * a cell runs), kernel-thread.ts (starting the thread), thread/ (what runs inside it).
 *
 * No VS Code here: the extension's notebook controller and the headless runner both drive this class.
 */
import * as path from 'node:path';
import type { Worker } from 'node:worker_threads';
import type { Disposable } from '../scheduler';
import { CellTypeCheck } from './cell-type-check';
import { startKernelThread } from './kernel-thread';
import type { CellRun, CellStatus, ErrorOutput, ExecuteOptions, KernelOptions, KernelOutput, KernelStatus } from './kernel-types';
import { defaultRuntimeModule } from './runtime-types';
import type { FromKernelThread, ToKernelThread } from './thread/messages';
import { cellLanguage, transpileCell } from './transpile';

export {
  TYPE_CHECK_MODES,
  type CellRun,
  type CellStatus,
  type ErrorOutput,
  type ExecuteOptions,
  type KernelConnect,
  type KernelOptions,
  type KernelOutput,
  type KernelStatus,
  type MimeData,
  type TypeCheckMode,
} from './kernel-types';

interface RunningCell {
  execution: number;
  outputs: KernelOutput[];
  onOutput?: (output: KernelOutput) => void;
  resolve: (run: CellRun) => void;
  error?: ErrorOutput;
  graceTimer?: NodeJS.Timeout;
}

/** A TypeScript notebook kernel with one persistent context in a worker thread, the kernel thread. */
export class Kernel {
  private thread: Worker | undefined;
  private generation = 0;
  private executionCount = 0;
  /** Bumped by interrupt and restart: queued runs from an older epoch are aborted. */
  private epoch = 0;
  private queue: Promise<void> = Promise.resolve();
  private current: RunningCell | undefined;
  private ready: Promise<void> = Promise.resolve();
  private state: KernelStatus = 'starting';
  private readonly outputListeners = new Set<(output: KernelOutput) => void>();
  private readonly statusListeners = new Set<(status: KernelStatus) => void>();
  private readonly options: Required<Omit<KernelOptions, 'connect' | 'runtimeModule' | 'typesDir'>> &
    Pick<KernelOptions, 'connect' | 'typesDir'> & { runtimeModule: string | undefined };
  private readonly typeCheck: CellTypeCheck;
  private runtimeWarning: string | undefined;
  private flushCounter = 0;
  private readonly flushes = new Map<number, () => void>();

  private constructor(options: KernelOptions) {
    this.options = {
      notebookDir: path.resolve(options.notebookDir ?? process.cwd()),
      connect: options.connect,
      runtimeModule: options.runtimeModule === null ? undefined : (options.runtimeModule ?? defaultRuntimeModule(__dirname)),
      interruptGraceMs: options.interruptGraceMs ?? 2000,
      threadScript: options.threadScript ?? path.join(__dirname, 'kernel-worker.js'),
      typeCheck: options.typeCheck ?? 'warn',
      typesDir: options.typesDir,
    };
    this.typeCheck = new CellTypeCheck({ typesDir: this.options.typesDir, notebookDir: this.options.notebookDir });
  }

  /** Starts a kernel and waits until its thread is ready (and `client` connected, when asked). */
  static async start(options: KernelOptions = {}): Promise<Kernel> {
    const kernel = new Kernel(options);
    kernel.ready = kernel.startThread();
    try {
      await kernel.ready;
    } catch (err) {
      await kernel.dispose();
      throw err;
    }
    return kernel;
  }

  /** The kernel's state. */
  get status(): KernelStatus {
    return this.state;
  }

  /** Why the runtime prelude is missing, or why cells cannot be type-checked, when that is so. */
  get warning(): string | undefined {
    const unchecked = this.typeCheck.unavailable;
    return this.runtimeWarning ?? (unchecked ? `cells are not type-checked: ${unchecked}` : undefined);
  }

  /** Every output of every cell, including live updates and output that comes after a cell finished. */
  onOutput(listener: (output: KernelOutput) => void): Disposable {
    this.outputListeners.add(listener);
    return { dispose: () => this.outputListeners.delete(listener) };
  }

  /** Status changes: busy while a cell runs, restarting, and so on. */
  onStatus(listener: (status: KernelStatus) => void): Disposable {
    this.statusListeners.add(listener);
    return { dispose: () => this.statusListeners.delete(listener) };
  }

  /** Queues a cell; resolves when it finished, failed, was interrupted or aborted. */
  execute(source: string, options: ExecuteOptions = {}): Promise<CellRun> {
    const epoch = this.epoch;
    const run = this.queue.then(() => this.runCell(source, options, epoch));
    this.queue = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /**
   * Interrupts the running cell and aborts queued ones. A cell that waits stops at once with the state
   * kept; one that does not yield within the grace period is ended by restarting the kernel thread.
   */
  async interrupt(): Promise<void> {
    this.epoch++;
    const cell = this.current;
    if (!cell || !this.thread) {
      return;
    }
    const finished = new Promise<void>((resolve) => {
      const original = cell.resolve;
      cell.resolve = (run) => {
        original(run);
        resolve();
      };
    });
    this.send({ t: 'interrupt', exec: cell.execution });
    cell.graceTimer ??= setTimeout(() => {
      if (this.current !== cell) {
        return;
      }
      const seconds = this.options.interruptGraceMs / 1000;
      this.finishWithError(cell, 'interrupted', {
        ename: 'KernelRestarted',
        evalue: `the cell did not stop within ${seconds}s of the interrupt (a loop that never yields?), so the kernel was restarted: all variables and imports were lost`,
        traceback: [
          `KernelRestarted: the cell did not stop within ${seconds}s of the interrupt (a loop that never yields?), so the kernel was restarted: all variables and imports were lost`,
        ],
      });
      void this.replaceThread();
    }, this.options.interruptGraceMs);
    await finished;
  }

  /** Re-renders every live output now, so that their latest state has been emitted when this resolves. */
  async flushLiveOutputs(): Promise<void> {
    await this.ready;
    if (!this.thread) {
      return;
    }
    const req = ++this.flushCounter;
    await new Promise<void>((resolve) => {
      this.flushes.set(req, resolve);
      this.send({ t: 'flush', req });
    });
  }

  /** Clears all state: a fresh kernel thread, a fresh `client`, execution count back to 0. */
  async restart(): Promise<void> {
    this.epoch++;
    const cell = this.current;
    if (cell) {
      this.finishWithError(cell, 'aborted', {
        ename: 'KernelRestarted',
        evalue: 'the kernel was restarted while this cell ran: all state was lost',
        traceback: ['KernelRestarted: the kernel was restarted while this cell ran: all state was lost'],
      });
    }
    await this.replaceThread();
  }

  /** Stops the kernel thread for good. */
  async dispose(): Promise<void> {
    if (this.state === 'disposed') {
      return;
    }
    this.epoch++;
    const cell = this.current;
    if (cell) {
      this.finishWithError(cell, 'aborted', {
        ename: 'KernelDisposed',
        evalue: 'the kernel was shut down while this cell ran',
        traceback: ['KernelDisposed: the kernel was shut down while this cell ran'],
      });
    }
    this.setStatus('disposed');
    this.releaseFlushes();
    this.typeCheck.dispose();
    const thread = this.thread;
    this.thread = undefined;
    this.generation++;
    await thread?.terminate();
  }

  // ---- internals -------------------------------------------------------------------------------

  private async replaceThread(): Promise<void> {
    if (this.state === 'disposed') {
      return;
    }
    this.setStatus('restarting');
    const old = this.thread;
    this.thread = undefined;
    this.generation++;
    this.executionCount = 0;
    this.typeCheck.reset(); // a fresh context: nothing declared yet
    this.releaseFlushes();
    const terminated = old?.terminate();
    this.ready = this.startThread();
    await terminated;
    await this.ready;
  }

  /** Live outputs of a kernel thread that is gone will not change again: nothing to wait for. */
  private releaseFlushes(): void {
    for (const resolve of this.flushes.values()) {
      resolve();
    }
    this.flushes.clear();
  }

  private async runCell(source: string, options: ExecuteOptions, epoch: number): Promise<CellRun> {
    if (epoch !== this.epoch || this.state === 'disposed') {
      return { execution: 0, status: 'aborted', outputs: [] };
    }
    await this.ready;
    if (epoch !== this.epoch || !this.thread) {
      return { execution: 0, status: 'aborted', outputs: [] };
    }
    const execution = ++this.executionCount;
    const label = options.label ?? `In [${execution}]`;
    const fileName = `sf-cell-${this.generation}-${execution}`;
    const language = cellLanguage(options.language);
    const cell: RunningCell = { execution, outputs: [], onOutput: options.onOutput, resolve: () => undefined };
    const done = new Promise<CellRun>((resolve) => {
      cell.resolve = resolve;
    });
    this.current = cell;
    this.setStatus('busy');
    const transpiled = transpileCell(source, language, fileName);
    if (transpiled.diagnostics.length > 0) {
      const first = transpiled.diagnostics[0];
      this.finishWithError(cell, 'error', {
        ename: 'SyntaxError',
        evalue: first.message,
        traceback: [
          `SyntaxError: ${first.message}`,
          ...transpiled.diagnostics.map((d) => `    at ${label}:${d.line}:${d.column}${d === first ? '' : ` (${d.message})`}`),
        ],
        location: { cell: label, line: first.line, column: first.column },
      });
      return done;
    }
    const verdict = this.typeCheck.verdict(source, language, options.typeCheck ?? this.options.typeCheck, label, options.cellId);
    if (verdict.notice !== undefined) {
      this.emit({ type: 'stream', execution, name: 'stderr', text: verdict.notice });
    }
    if (verdict.blocked !== undefined) {
      this.finishWithError(cell, 'error', verdict.blocked);
      return done;
    }
    if (verdict.warning !== undefined) {
      this.emit({ type: 'stream', execution, name: 'stderr', text: verdict.warning });
    }
    this.send({ t: 'execute', exec: execution, code: transpiled.code, sourceMap: transpiled.sourceMap, fileName, label });
    return done;
  }

  private finishWithError(cell: RunningCell, status: CellStatus, error: ErrorOutput): void {
    this.emit({ type: 'error', execution: cell.execution, ...error });
    this.finish(cell, status);
  }

  private finish(cell: RunningCell, status: CellStatus): void {
    if (this.current !== cell) {
      return;
    }
    clearTimeout(cell.graceTimer);
    this.current = undefined;
    if (this.state === 'busy') {
      this.setStatus('idle');
    }
    cell.resolve({ execution: cell.execution, status, outputs: cell.outputs, error: cell.error });
  }

  private emit(output: KernelOutput): void {
    const cell = this.current;
    if (cell && cell.execution === output.execution) {
      if (output.type === 'error') {
        cell.error ??= { ename: output.ename, evalue: output.evalue, traceback: output.traceback, location: output.location };
      }
      cell.outputs.push(output);
      cell.onOutput?.(output);
    }
    for (const listener of this.outputListeners) {
      listener(output);
    }
  }

  private setStatus(status: KernelStatus): void {
    if (this.state === status || this.state === 'disposed') {
      return;
    }
    this.state = status;
    for (const listener of this.statusListeners) {
      listener(status);
    }
  }

  private send(message: ToKernelThread): void {
    this.thread?.postMessage(message);
  }

  private async startThread(): Promise<void> {
    const generation = this.generation;
    const { warning } = await startKernelThread(
      this.options.threadScript,
      { notebookDir: this.options.notebookDir, runtimeModule: this.options.runtimeModule, connect: this.options.connect },
      (thread) => {
        this.thread = thread;
      },
      {
        message: (message) => {
          if (generation === this.generation) {
            this.onThreadMessage(message);
          }
        },
        exit: (code) => {
          if (generation === this.generation) {
            this.onThreadDied(code);
          }
        },
      },
    );
    if (generation === this.generation) {
      this.runtimeWarning = warning;
      this.setStatus('idle');
    }
  }

  private onThreadMessage(message: FromKernelThread): void {
    switch (message.t) {
      case 'stream':
        this.emit({ type: 'stream', execution: message.exec, name: message.name, text: message.text });
        break;
      case 'display':
        this.emit({
          type: 'display',
          execution: message.exec,
          outputId: message.outputId,
          data: message.data,
          update: message.update,
          result: message.result,
        });
        break;
      case 'error': {
        const { exec, ...error } = message;
        delete (error as { t?: string }).t;
        this.emit({ type: 'error', execution: exec, ...(error as ErrorOutput) });
        break;
      }
      case 'flushed':
        this.flushes.get(message.req)?.();
        this.flushes.delete(message.req);
        break;
      case 'done': {
        const cell = this.current;
        if (cell && cell.execution === message.exec) {
          this.finish(cell, message.status);
        }
        break;
      }
      default:
        break;
    }
  }

  /** The kernel thread ended on its own (`process.exit` in a cell, out of memory): report and start anew. */
  private onThreadDied(code: number): void {
    this.thread = undefined;
    const cell = this.current;
    const evalue = `the kernel thread exited (code ${code}); it was restarted and all state was lost`;
    if (cell) {
      this.finishWithError(cell, 'error', { ename: 'KernelDied', evalue, traceback: [`KernelDied: ${evalue}`] });
    }
    void this.replaceThread().catch(() => this.setStatus('disposed'));
  }
}
