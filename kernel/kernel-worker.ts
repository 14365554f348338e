/**
 * The kernel's worker thread: one persistent JavaScript context in which cells run.
 *
 * Cells arrive already transpiled (see transpile.ts) and run with `vm.runInThisContext`, so their
 * top-level names become globals of this thread and survive until the worker is replaced (restart).
 * `console.*` and `process.stdout/stderr` are redirected into messages tagged with the execution that
 * caused them (tracked across callbacks with AsyncLocalStorage), so late output lands in the right cell.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { Console } from 'node:console';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { inspect } from 'node:util';
import { pathToFileURL } from 'node:url';
import * as vm from 'node:vm';
import { parentPort, workerData } from 'node:worker_threads';
import { liveBundle, renderValue, type LiveSource } from './display';
import type { ErrorOutput, FromWorker, KernelWorkerData, ToWorker } from './messages';
import { loadRuntime, type ClientLike, type Disposable, type RuntimeModule } from './runtime-types';
import { CellSourceMaps } from './stack';
import { KERNEL_HELPERS } from './transpile';

const port = parentPort;
if (!port) {
  throw new Error('kernel-worker.ts runs as a worker thread of the kernel');
}
const data = workerData as KernelWorkerData;
const post = (message: FromWorker) => port.postMessage(message);

const execContext = new AsyncLocalStorage<number>();
let lastExec = 0;
let running: { exec: number; interrupt: () => void } | undefined;
const currentExec = () => execContext.getStore() ?? running?.exec ?? lastExec;

// ---- streams -------------------------------------------------------------------------------------

function streamTo(name: 'stdout' | 'stderr'): Writable {
  return new Writable({
    decodeStrings: false,
    write(chunk: unknown, _encoding, callback) {
      post({ t: 'stream', exec: currentExec(), name, text: String(chunk) });
      callback();
    },
  });
}

const stdout = streamTo('stdout');
const stderr = streamTo('stderr');
globalThis.console = new Console({ stdout, stderr, colorMode: false });
for (const [name, stream] of [['stdout', process.stdout], ['stderr', process.stderr]] as const) {
  // Writes go straight to the kernel, synchronously, so they keep their order with console output.
  (stream as unknown as { write: (chunk: unknown, ...rest: unknown[]) => boolean }).write = (chunk: unknown, ...rest: unknown[]) => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
    post({ t: 'stream', exec: currentExec(), name, text });
    const callback = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined;
    callback?.();
    return true;
  };
}

// ---- stacks --------------------------------------------------------------------------------------

const sourceMaps = new CellSourceMaps();
const kernelDir = __dirname;
// The WebSocket library is the runtime's too: an error the scheduler answered with is raised in its receive
// loop, and those frames say nothing about the cell.
const wireLibrary = /[\\/]node_modules[\\/]ws[\\/]/;
const isInternal = (fileName: string) =>
  fileName.startsWith('node:') || (path.isAbsolute(fileName) && path.dirname(fileName) === kernelDir) || wireLibrary.test(fileName);
Error.stackTraceLimit = 50;
Error.prepareStackTrace = sourceMaps.stackFormatter(isInternal);

function describeError(err: unknown): ErrorOutput {
  if (typeof err === 'object' && err !== null && 'message' in err) {
    const error = err as Error;
    const stack = typeof error.stack === 'string' ? error.stack : `${error.name}: ${error.message}`;
    return {
      ename: String(error.name ?? 'Error'),
      evalue: String(error.message ?? ''),
      traceback: stack.split('\n'),
      location: sourceMaps.locationOf(error),
    };
  }
  const shown = inspect(err, { depth: 2, colors: false });
  return { ename: 'Uncaught', evalue: shown, traceback: [`Uncaught ${shown}`] };
}

function reportUncaught(kind: string, err: unknown): void {
  const { traceback } = describeError(err);
  post({ t: 'stream', exec: currentExec(), name: 'stderr', text: `${kind} ${traceback.join('\n')}\n` });
}
process.on('uncaughtException', (err) => reportUncaught('Uncaught', err));
process.on('unhandledRejection', (reason) => reportUncaught('Unhandled rejection:', reason));

// ---- module loading ------------------------------------------------------------------------------

const notebookRequire = createRequire(path.join(data.notebookDir, '__notebook__.js'));
// A real `import()`: TypeScript's CommonJS output would turn a literal one into `require`.
const nativeImport = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<unknown>;

/** `import()` from a cell: resolved from the notebook's folder. */
async function dynamicImport(specifier: string): Promise<unknown> {
  if (specifier.startsWith('node:') || /^[a-z]+:\/\//i.test(specifier)) {
    return nativeImport(specifier);
  }
  let resolved: string | undefined;
  try {
    resolved = notebookRequire.resolve(specifier);
  } catch {
    resolved = undefined;
  }
  if (resolved === undefined || !path.isAbsolute(resolved)) {
    return nativeImport(resolved ?? specifier);
  }
  return nativeImport(pathToFileURL(resolved).href);
}

/** A cell's static `import`: CommonJS `require` first, ES modules through `import()`. */
async function load(specifier: string): Promise<unknown> {
  try {
    return notebookRequire(specifier);
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_REQUIRE_ESM') {
      return dynamicImport(specifier);
    }
    throw err;
  }
}

function interopDefault(module: unknown): unknown {
  if (module !== null && (typeof module === 'object' || typeof module === 'function')) {
    const record = module as { __esModule?: boolean; default?: unknown; [Symbol.toStringTag]?: string };
    if (record.__esModule || record[Symbol.toStringTag] === 'Module') {
      return record.default;
    }
  }
  return module;
}

// ---- live outputs --------------------------------------------------------------------------------

interface LiveEntry {
  exec: number;
  source: LiveSource;
  last: string;
  /**
   * Status subscriptions by key, for the futures shown now. Keyed, not holding the handles: a live view must
   * not keep alive what a channel has evicted (every handle owns its key).
   */
  watched: Map<string, Disposable>;
  pending: boolean;
}

const LIVE_THROTTLE_MS = 100;
const LIVE_POLL_MS = 250;
const live = new Map<string, LiveEntry>();
let livePoll: NodeJS.Timeout | undefined;

function addLive(outputId: string, exec: number, source: LiveSource, initial: string): void {
  const entry: LiveEntry = { exec, source, last: initial, watched: new Map(), pending: false };
  live.set(outputId, entry);
  refreshLive(outputId, entry);
  if (live.has(outputId) && !livePoll) {
    // Channels grow without a status change of an item already shown: poll them too.
    livePoll = setInterval(() => {
      for (const [id, item] of live) {
        refreshLive(id, item);
      }
    }, LIVE_POLL_MS);
    livePoll.unref();
  }
}

function scheduleLive(outputId: string, entry: LiveEntry): void {
  if (entry.pending) {
    return;
  }
  entry.pending = true;
  setTimeout(() => {
    entry.pending = false;
    refreshLive(outputId, entry);
  }, LIVE_THROTTLE_MS).unref();
}

function refreshLive(outputId: string, entry: LiveEntry): void {
  if (!live.has(outputId)) {
    return;
  }
  let view;
  try {
    view = entry.source.render();
    const shown = new Set<string>();
    for (const future of entry.source.futures()) {
      shown.add(future.key);
      if (!entry.watched.has(future.key)) entry.watched.set(future.key, future.onStatus(() => scheduleLive(outputId, entry)));
    }
    for (const [key, subscription] of entry.watched) {
      if (shown.has(key)) continue;
      subscription.dispose();
      entry.watched.delete(key);
    }
  } catch {
    stopLive(outputId, entry);
    return;
  }
  const text = JSON.stringify(view);
  if (text !== entry.last) {
    entry.last = text;
    post({ t: 'display', exec: entry.exec, outputId, data: liveBundle(view), update: true, result: false });
  }
  if (view.done) {
    stopLive(outputId, entry);
  }
}

function stopLive(outputId: string, entry: LiveEntry): void {
  live.delete(outputId);
  for (const subscription of entry.watched.values()) {
    subscription.dispose();
  }
  entry.watched.clear();
  if (live.size === 0 && livePoll) {
    clearInterval(livePoll);
    livePoll = undefined;
  }
}

let outputCounter = 0;

/** Sends a value as a display output (or as the cell's result). */
function show(value: unknown, mime: string | undefined, result: boolean, exec = currentExec()): void {
  const rendered = renderValue(value, mime);
  const outputId = `out-${process.pid}-${exec}-${++outputCounter}`;
  post({ t: 'display', exec, outputId, data: rendered.data, update: false, result });
  if (rendered.live) {
    addLive(outputId, exec, rendered.live, JSON.stringify(rendered.data['application/vnd.shared-futures+json']));
  }
}

// ---- prelude -------------------------------------------------------------------------------------

const globals = globalThis as unknown as Record<string, unknown>;
globals[KERNEL_HELPERS] = { load, dynamicImport, interopDefault };
globals.require = notebookRequire;
globals.__dirname = data.notebookDir;
globals.__filename = path.join(data.notebookDir, '__notebook__.js');
globals.display = (value: unknown, mime?: string): void => show(value, mime, false);
globals.sleep = (ms: number): Promise<void> => delay(ms);

async function connect(): Promise<FromWorker> {
  let runtime: RuntimeModule | undefined;
  let warning: string | undefined;
  if (data.runtimeModule) {
    try {
      runtime = loadRuntime(data.runtimeModule);
    } catch (err) {
      if (data.connect.kind !== 'none') {
        throw err;
      }
      warning = (err as Error).message;
    }
  }
  if (runtime) {
    globals.Client = runtime.Client;
    globals.Future = runtime.Future;
    globals.Channel = runtime.Channel;
    globals.zip = runtime.zip;
  }
  let client: ClientLike | undefined;
  if (runtime && data.connect.kind === 'port') {
    client = await runtime.Client.connect(data.connect.port);
  } else if (runtime && data.connect.kind === 'remote') {
    client = await runtime.Client.connect(data.connect.address, { token: data.connect.token });
  }
  globals.client = client;
  return { t: 'ready', client: client !== undefined, runtime: runtime !== undefined, warning };
}

// ---- execution -----------------------------------------------------------------------------------

const INTERRUPTED = Symbol('interrupted');

async function execute(message: Extract<ToWorker, { t: 'execute' }>): Promise<void> {
  const { exec } = message;
  lastExec = exec;
  sourceMaps.register(message.fileName, message.label, message.sourceMap, message.code);
  let interrupt: () => void = () => undefined;
  const interrupted = new Promise<typeof INTERRUPTED>((resolve) => {
    interrupt = () => resolve(INTERRUPTED);
  });
  running = { exec, interrupt };
  let status: 'ok' | 'error' | 'interrupted' = 'ok';
  try {
    const completion = execContext.run(exec, () => vm.runInThisContext(message.code, { filename: message.fileName }) as unknown);
    const cell = Promise.resolve(completion);
    // An interrupted cell goes on in the background; its failure must not crash the worker.
    cell.catch(() => undefined);
    const outcome = await Promise.race([cell, interrupted]);
    if (outcome === INTERRUPTED) {
      status = 'interrupted';
      post({
        t: 'error',
        exec,
        ename: 'Interrupted',
        evalue: 'the cell was interrupted while it was waiting; the kernel state is kept',
        traceback: ['Interrupted: the cell was interrupted while it was waiting; the kernel state is kept'],
      });
    } else if (typeof outcome === 'object' && outcome !== null && 'v' in outcome) {
      const value = (outcome as { v: unknown }).v;
      if (value !== undefined) {
        show(value, undefined, true, exec);
      }
    }
  } catch (err) {
    status = 'error';
    post({ t: 'error', exec, ...describeError(err) });
  } finally {
    running = undefined;
  }
  post({ t: 'done', exec, status });
}

port.on('message', (message: ToWorker) => {
  if (message.t === 'execute') {
    void execute(message);
  } else if (message.t === 'interrupt' && running?.exec === message.exec) {
    running.interrupt();
  } else if (message.t === 'flush') {
    for (const [id, entry] of [...live]) {
      refreshLive(id, entry);
    }
    post({ t: 'flushed', req: message.req });
  }
});

connect().then(post, (err: unknown) => post({ t: 'failed', message: err instanceof Error ? err.message : String(err) }));
