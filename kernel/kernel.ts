/**
 * The notebook kernel, main-thread side: transpiles cells, runs them one at a time in the kernel worker
 * (one persistent context), streams their outputs, interrupts and restarts.
 *
 * No VS Code here: the extension's notebook controller and the headless runner both drive this class.
 */
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { Worker, type MessagePort } from 'node:worker_threads';
import type { MimeData } from './display';
import { LanguageEngine, topLevelDeclarations, type EngineCell, type EngineDiagnostic } from './language-engine';
import type { ErrorOutput, FromWorker, KernelWorkerData, ToWorker, WorkerConnect } from './messages';
import type { Disposable } from '../scheduler';
import { defaultRuntimeModule, loadRuntime } from './runtime-types';
import { transpileCell, type CellLanguage } from './transpile';

export type { ErrorOutput } from './messages';
export type { MimeData } from './display';

/**
 * Where cells' `client` connects: a function giving a MessagePort to an in-process scheduler (called
 * again on every restart), or a remote scheduler's `ws://` address and token.
 */
export type KernelConnect = (() => MessagePort | Promise<MessagePort>) | { address: string; token?: string };

/** Options of `Kernel.start`. */
export interface KernelOptions {
  /** Folder that `require`/`import` in cells resolve from: the notebook's. Defaults to the current directory. */
  notebookDir?: string;
  /** The scheduler for `client`; without it `client` is undefined (the rest of the kernel works). */
  connect?: KernelConnect;
  /** The runtime module for the prelude (`Client`, `Future`, `Channel`, `zip`); `null` runs without it. */
  runtimeModule?: string | null;
  /** How long an interrupted cell may take to stop before the worker is restarted. Default 2000 ms. */
  interruptGraceMs?: number;
  /** The worker entry; defaults to `kernel-worker.js` beside this file. */
  workerScript?: string;
  /** Type check of each cell before it runs (default `warn`); `ExecuteOptions.typeCheck` overrides it. */
  typeCheck?: TypeCheckMode;
  /** Where the runtime's declarations and the notebook prelude are (LanguageEngineOptions.typesDir). */
  typesDir?: string;
}

/**
 * What the kernel does with a cell's type errors before running it: `warn` runs it and shows the errors
 * first in its output, `block` refuses it (like tslab), `off` does not check.
 */
export type TypeCheckMode = 'warn' | 'block' | 'off';

/** The modes of `TypeCheckMode`, for settings and command lines. */
export const TYPE_CHECK_MODES: readonly TypeCheckMode[] = ['warn', 'block', 'off'];

/** One output of a cell, in the order the cell produced it. */
export type KernelOutput =
  | { type: 'stream'; execution: number; name: 'stdout' | 'stderr'; text: string }
  | {
      type: 'display';
      execution: number;
      /** Stable id: an output with `update: true` replaces the earlier output with the same id. */
      outputId: string;
      data: MimeData;
      update: boolean;
      /** True for the value of the cell's final expression (nbformat `execute_result`). */
      result: boolean;
    }
  | ({ type: 'error'; execution: number } & ErrorOutput);

/** How a cell run ended. `aborted`: it never ran (an interrupt or restart cleared the queue). */
export type CellStatus = 'ok' | 'error' | 'interrupted' | 'aborted';

/** The outcome of `execute`. */
export interface CellRun {
  /** The execution count (`In [n]`), 0 for an aborted run. */
  execution: number;
  status: CellStatus;
  /** Outputs produced until the cell finished (later live updates arrive through `onOutput`). */
  outputs: KernelOutput[];
  error?: ErrorOutput;
}

/** Options of one execution. */
export interface ExecuteOptions {
  /** 'typescript' (default) or 'javascript' (also 'ts', 'js'). */
  language?: string;
  /** How stack frames name this cell; default `In [n]`. */
  label?: string;
  /** Called with each output as it comes. */
  onOutput?: (output: KernelOutput) => void;
  /** Type check of this run; default: the kernel's `typeCheck`. */
  typeCheck?: TypeCheckMode;
  /**
   * The notebook cell this source is (any stable string): the type check sees the cells that ran before,
   * each with the source of its latest run, so a cell run again replaces its earlier run. Default: a new id.
   */
  cellId?: string;
}

export type KernelStatus = 'starting' | 'idle' | 'busy' | 'restarting' | 'disposed';

interface RunningCell {
  execution: number;
  outputs: KernelOutput[];
  onOutput?: (output: KernelOutput) => void;
  resolve: (run: CellRun) => void;
  error?: ErrorOutput;
  graceTimer?: NodeJS.Timeout;
}

/** A TypeScript notebook kernel with one persistent context in a worker thread. */
export class Kernel {
  private worker: Worker | undefined;
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
  /** The language engine of the type check (one per kernel, made on first use) and the cells that ran. */
  private engine: LanguageEngine | undefined;
  private engineFailure: string | undefined;
  private engineFailureShown = false;
  private ranCells: (EngineCell & { names: string[] })[] = [];
  private runtimeWarning: string | undefined;
  private flushCounter = 0;
  private readonly flushes = new Map<number, () => void>();

  private constructor(options: KernelOptions) {
    this.options = {
      notebookDir: path.resolve(options.notebookDir ?? process.cwd()),
      connect: options.connect,
      runtimeModule: options.runtimeModule === null ? undefined : (options.runtimeModule ?? defaultRuntimeModule(__dirname)),
      interruptGraceMs: options.interruptGraceMs ?? 2000,
      workerScript: options.workerScript ?? path.join(__dirname, 'kernel-worker.js'),
      typeCheck: options.typeCheck ?? 'warn',
      typesDir: options.typesDir,
    };
  }

  /** Starts a kernel and waits until its worker is ready (and `client` connected, when asked). */
  static async start(options: KernelOptions = {}): Promise<Kernel> {
    const kernel = new Kernel(options);
    kernel.ready = kernel.startWorker();
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
    return this.runtimeWarning ?? (this.engineFailure ? `cells are not type-checked: ${this.engineFailure}` : undefined);
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
   * kept; one that does not yield within the grace period is ended by restarting the worker.
   */
  async interrupt(): Promise<void> {
    this.epoch++;
    const cell = this.current;
    const worker = this.worker;
    if (!cell || !worker) {
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
      void this.replaceWorker();
    }, this.options.interruptGraceMs);
    await finished;
  }

  /** Re-renders every live output now, so that their latest state has been emitted when this resolves. */
  async flushLiveOutputs(): Promise<void> {
    await this.ready;
    if (!this.worker) {
      return;
    }
    const req = ++this.flushCounter;
    await new Promise<void>((resolve) => {
      this.flushes.set(req, resolve);
      this.send({ t: 'flush', req });
    });
  }

  /** Clears all state: a fresh worker, a fresh `client`, execution count back to 0. */
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
    await this.replaceWorker();
  }

  /** Stops the worker for good. */
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
    this.engine?.dispose();
    this.engine = undefined;
    const worker = this.worker;
    this.worker = undefined;
    this.generation++;
    await worker?.terminate();
  }

  // ---- internals -------------------------------------------------------------------------------

  private async replaceWorker(): Promise<void> {
    if (this.state === 'disposed') {
      return;
    }
    this.setStatus('restarting');
    const old = this.worker;
    this.worker = undefined;
    this.generation++;
    this.executionCount = 0;
    this.ranCells = []; // a fresh context: nothing declared yet
    this.releaseFlushes();
    const terminated = old?.terminate();
    this.ready = this.startWorker();
    await terminated;
    await this.ready;
  }

  /** Live outputs of a worker that is gone will not change again: nothing to wait for. */
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
    if (epoch !== this.epoch || !this.worker) {
      return { execution: 0, status: 'aborted', outputs: [] };
    }
    const execution = ++this.executionCount;
    const label = options.label ?? `In [${execution}]`;
    const fileName = `sf-cell-${this.generation}-${execution}`;
    const language = normalizeLanguage(options.language);
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
    const typeErrors = this.typeCheck(source, language, options);
    if (this.engineFailure !== undefined && !this.engineFailureShown) {
      this.engineFailureShown = true;
      this.emit({ type: 'stream', execution, name: 'stderr', text: `Cells are not type-checked: ${this.engineFailure}\n` });
    }
    if (typeErrors.length > 0) {
      const mode = options.typeCheck ?? this.options.typeCheck;
      const lines = typeErrors.map((d) => `    at ${label}:${d.line + 1}:${d.column + 1} ${d.message} (TS${d.code})`);
      const count = typeErrors.length === 1 ? 'a type error' : `${typeErrors.length} type errors`;
      if (mode === 'block') {
        const first = typeErrors[0];
        this.finishWithError(cell, 'error', {
          ename: 'TypeError',
          evalue: `the cell was not run: it has ${count} (type check: block). ${first.message}`,
          traceback: [`TypeError: the cell was not run: it has ${count} (type check: block)`, ...lines],
          location: { cell: label, line: first.line + 1, column: first.column + 1 },
        });
        return done;
      }
      this.emit({
        type: 'stream',
        execution,
        name: 'stderr',
        text: `The cell has ${count}; it runs anyway (type check: warn):\n${lines.join('\n')}\n`,
      });
    }
    this.send({ t: 'execute', exec: execution, code: transpiled.code, sourceMap: transpiled.sourceMap, fileName, label });
    return done;
  }

  /**
   * Keeps `cell` as the newest run for later checks. Only what later cells can see matters: a cell that
   * declares nothing (`1 + 1`, `await f.result()`) is not kept, nor one whose every name a later cell declared
   * again, so the history stays as small as the notebook's state, however many cells run.
   */
  private remember(history: (EngineCell & { names: string[] })[], cell: EngineCell): void {
    const names = [...topLevelDeclarations(cell.source, cell.language).keys()];
    const kept = names.length > 0 ? [...history, { ...cell, names }] : history;
    const later = new Set<string>();
    const pruned: typeof kept = [];
    for (let i = kept.length - 1; i >= 0; i--) {
      if (kept[i].names.some((name) => !later.has(name))) {
        pruned.unshift(kept[i]);
      }
      for (const name of kept[i].names) {
        later.add(name);
      }
    }
    this.ranCells = pruned;
  }

  /**
   * Type errors of the cell about to run, seen after the cells that ran before (each with its latest
   * source), under the same rules as while typing. A cell with errors still joins the history when it runs.
   */
  private typeCheck(source: string, language: CellLanguage, options: ExecuteOptions): EngineDiagnostic[] {
    const mode = options.typeCheck ?? this.options.typeCheck;
    // A front-end that sends no cell id (classic Notebook, a script): the same text is taken as the same cell
    // run again, so re-running it replaces its earlier run instead of growing the checked history.
    const id = options.cellId ?? `anonymous-${createHash('sha1').update(source).digest('hex').slice(0, 16)}`;
    const cell: EngineCell = { id, source, language };
    const history = this.ranCells.filter((c) => c.id !== id);
    if (mode !== 'block') {
      this.remember(history, cell);
    }
    if (mode === 'off' || this.engineFailure !== undefined) {
      return [];
    }
    try {
      this.engine ??= new LanguageEngine({ typesDir: this.options.typesDir, notebookDir: this.options.notebookDir });
      this.engine.setCells([...history, cell]);
      const errors = this.engine.diagnostics([id]).filter((d) => d.category === 'error');
      if (mode === 'block' && errors.length === 0) {
        this.remember(history, cell);
      }
      return errors;
    } catch (err) {
      // Without the declarations (a build without dist/types) cells still run, unchecked: said once.
      this.engineFailure = err instanceof Error ? err.message : String(err);
      this.engine?.dispose();
      this.engine = undefined;
      return [];
    }
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

  private send(message: ToWorker): void {
    this.worker?.postMessage(message);
  }

  private async workerConnect(): Promise<{ connect: WorkerConnect; transfer: MessagePort[] }> {
    const connect = this.options.connect;
    if (connect === undefined) {
      return { connect: { kind: 'none' }, transfer: [] };
    }
    if (typeof connect === 'function') {
      const port = await connect();
      return { connect: { kind: 'port', port }, transfer: [port] };
    }
    return { connect: { kind: 'remote', address: connect.address, token: connect.token }, transfer: [] };
  }

  private async startWorker(): Promise<void> {
    const generation = this.generation;
    const { connect, transfer } = await this.workerConnect();
    const data: KernelWorkerData = { notebookDir: this.options.notebookDir, runtimeModule: this.options.runtimeModule, connect };
    const worker = new Worker(this.options.workerScript, { workerData: data, transferList: transfer, stdout: false, stderr: false });
    this.worker = worker;
    await new Promise<void>((resolve, reject) => {
      let started = false;
      worker.on('message', (message: FromWorker) => {
        if (generation !== this.generation) {
          return;
        }
        if (message.t === 'ready') {
          started = true;
          this.runtimeWarning = message.warning;
          this.setStatus('idle');
          resolve();
        } else if (message.t === 'failed') {
          reject(new Error(`the kernel could not start: ${message.message}`));
          void worker.terminate();
        } else {
          this.onWorkerMessage(message);
        }
      });
      worker.on('error', (err) => {
        if (!started) {
          reject(err);
        }
      });
      worker.on('exit', (code) => {
        if (!started) {
          reject(new Error(`the kernel worker exited with code ${code} before it was ready`));
          return;
        }
        if (generation === this.generation) {
          this.onWorkerDied(code);
        }
      });
    });
  }

  private onWorkerMessage(message: FromWorker): void {
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

  /** The worker ended on its own (`process.exit` in a cell, out of memory): report and start anew. */
  private onWorkerDied(code: number): void {
    this.worker = undefined;
    const cell = this.current;
    const evalue = `the kernel worker exited (code ${code}); it was restarted and all state was lost`;
    if (cell) {
      this.finishWithError(cell, 'error', { ename: 'KernelDied', evalue, traceback: [`KernelDied: ${evalue}`] });
    }
    void this.replaceWorker().catch(() => this.setStatus('disposed'));
  }
}

function normalizeLanguage(language: string | undefined): CellLanguage {
  switch ((language ?? 'typescript').toLowerCase()) {
    case 'javascript':
    case 'js':
      return 'javascript';
    default:
      return 'typescript';
  }
}

/**
 * Starts an in-process LocalCluster from the runtime and returns a `connect` for `Kernel.start`, plus
 * `close` to stop the cluster. The runtime is loaded here, in the main thread, only when called.
 */
export async function startLocalCluster(
  options: { threads?: number; runtimeModule?: string } = {},
): Promise<{ connect: KernelConnect; close: () => Promise<void> }> {
  const runtime = loadRuntime(options.runtimeModule ?? defaultRuntimeModule(__dirname));
  const cluster = await runtime.LocalCluster.start({ threads: options.threads });
  return { connect: () => cluster.createPort(), close: () => cluster.close() };
}
