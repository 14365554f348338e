/**
 * A minimal stand-in for the `vscode` module, for loading the bundled extension (dist/extension.js) in plain
 * Node: activation benchmarks and lifecycle tests without a VS Code. What the tests look at is real (commands,
 * configuration, notebook controllers and cell executions with their outputs); every other API answers with
 * an inert object whose members are no-op functions and disposables.
 */
import Module from 'node:module';

/** What a fake cell execution recorded. */
export interface RecordedExecution {
  executionOrder: number | undefined;
  started: boolean;
  success: boolean | undefined;
  /** The cell's output items as text, per output, as this execution last changed them. */
  outputs: { mime: string; text: string }[][];
}

/** A notebook controller created through the fake. */
export interface FakeController {
  readonly id: string;
  readonly notebookType: string;
  executeHandler?: (cells: unknown[], notebook: unknown, controller: unknown) => unknown;
  interruptHandler?: (notebook: unknown) => unknown;
  readonly executions: RecordedExecution[];
}

/** The installed fake and what the extension registered with it. */
export interface FakeVscode {
  readonly commands: Map<string, (...args: unknown[]) => unknown>;
  readonly controllers: FakeController[];
  readonly settings: Record<string, unknown>;
  /** Lines the extension logged to its output channels (and the messages it showed). */
  readonly logged: string[];
  /** What was last written to the clipboard. */
  readonly clipboard: { text: string | undefined };
  /** Picks the button of an information message (default: none, as when it is dismissed). */
  chooseInformationItem: (message: string, items: string[]) => string | undefined;
  /** A context for `activate`. */
  context(): { subscriptions: { dispose(): unknown }[]; [key: string]: unknown };
  /** A code cell of an untitled notebook, for a controller's executeHandler. */
  cell(source: string, notebookType?: string): { cell: unknown; notebook: unknown };
  /** Removes the fake from the module resolver. */
  uninstall(): void;
}

const FAKE_ID = '\0fake-vscode';

/** An object that has every member: functions returning more of the same, `dispose` doing nothing. */
function inert(): unknown {
  const cache = new Map<PropertyKey, unknown>();
  const target = function () {} as unknown as object;
  return new Proxy(target, {
    get(_t, prop) {
      if (prop === 'then' || typeof prop === 'symbol') {
        return undefined; // not a thenable, not iterable
      }
      if (prop === 'dispose') {
        return () => undefined;
      }
      if (!cache.has(prop)) {
        cache.set(prop, inert());
      }
      return cache.get(prop);
    },
    set(_t, prop, value) {
      cache.set(prop, value);
      return true;
    },
    apply: () => inert(),
    construct: () => inert() as object,
  });
}

/** Fills in `inert()` for everything `real` does not define. */
function withFallback<T extends object>(real: T): T {
  return new Proxy(real, {
    get(target, prop, receiver) {
      if (prop in target || typeof prop === 'symbol' || prop === 'then') {
        return Reflect.get(target, prop, receiver);
      }
      const value = inert();
      Reflect.set(target, prop, value);
      return value;
    },
  });
}

class EventEmitter<T> {
  private listeners = new Set<(value: T) => void>();
  readonly event = (listener: (value: T) => void): { dispose(): void } => {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  };
  fire(value: T): void {
    for (const listener of [...this.listeners]) listener(value);
  }
  dispose(): void {
    this.listeners.clear();
  }
}

class Disposable {
  constructor(private readonly onDispose: () => unknown) {}
  static from(...items: { dispose(): unknown }[]): Disposable {
    return new Disposable(() => items.forEach((i) => i.dispose()));
  }
  dispose(): void {
    this.onDispose();
  }
}

class NotebookCellOutputItem {
  constructor(
    readonly data: Uint8Array,
    readonly mime: string,
  ) {}
  static text(value: string, mime = 'text/plain'): NotebookCellOutputItem {
    return new NotebookCellOutputItem(new TextEncoder().encode(value), mime);
  }
  static stdout(value: string): NotebookCellOutputItem {
    return NotebookCellOutputItem.text(value, 'application/vnd.code.notebook.stdout');
  }
  static stderr(value: string): NotebookCellOutputItem {
    return NotebookCellOutputItem.text(value, 'application/vnd.code.notebook.stderr');
  }
  static error(err: Error): NotebookCellOutputItem {
    return NotebookCellOutputItem.text(JSON.stringify({ name: err.name, message: err.message, stack: err.stack }), 'application/vnd.code.notebook.error');
  }
  static json(value: unknown, mime = 'application/json'): NotebookCellOutputItem {
    return NotebookCellOutputItem.text(JSON.stringify(value), mime);
  }
}

let outputCounter = 0;
class NotebookCellOutput {
  readonly id = `fake-output-${++outputCounter}`;
  constructor(
    public items: NotebookCellOutputItem[],
    public metadata?: Record<string, unknown>,
  ) {}
}

/** Installs the fake as the `vscode` module until `uninstall()`. */
export function installFakeVscode(settings: Record<string, unknown> = {}): FakeVscode {
  const commands = new Map<string, (...args: unknown[]) => unknown>();
  const controllers: FakeController[] = [];
  const logged: string[] = [];
  const decoder = new TextDecoder();
  const clipboard: { text: string | undefined } = { text: undefined };
  const fake = { chooseInformationItem: (_message: string, _items: string[]): string | undefined => undefined };
  const notebookOpen = new EventEmitter<unknown>();
  const notebookClose = new EventEmitter<unknown>();

  const log = (level: string) => (message: unknown, ...rest: unknown[]) => logged.push(`[${level}] ${String(message)}${rest.length ? ` ${rest.map(String).join(' ')}` : ''}`);
  const outputChannel = () =>
    withFallback({ info: log('info'), warn: log('warn'), error: log('error'), debug: log('debug'), trace: log('trace'), appendLine: log('info'), dispose: () => undefined });

  // Outputs belong to the cell: an execution created later (a live update) changes the same ones.
  const cellOutputs = new WeakMap<object, NotebookCellOutput[]>();
  const createExecution = (controller: FakeController, cell: object) => {
    const record: RecordedExecution = { executionOrder: undefined, started: false, success: undefined, outputs: [] };
    controller.executions.push(record);
    const outputs = cellOutputs.get(cell) ?? [];
    cellOutputs.set(cell, outputs);
    const sync = () => {
      record.outputs = outputs.map((o) => o.items.map((i) => ({ mime: i.mime, text: decoder.decode(i.data) })));
    };
    return {
      get executionOrder() {
        return record.executionOrder;
      },
      set executionOrder(n: number | undefined) {
        record.executionOrder = n;
      },
      token: { isCancellationRequested: false, onCancellationRequested: () => ({ dispose: () => undefined }) },
      start: () => {
        record.started = true;
      },
      end: (success: boolean | undefined) => {
        record.success = success;
      },
      clearOutput: async () => {
        outputs.length = 0;
        sync();
      },
      replaceOutput: async (out: NotebookCellOutput | NotebookCellOutput[]) => {
        outputs.splice(0, outputs.length, ...(Array.isArray(out) ? out : [out]));
        sync();
      },
      appendOutput: async (out: NotebookCellOutput | NotebookCellOutput[]) => {
        outputs.push(...(Array.isArray(out) ? out : [out]));
        sync();
      },
      replaceOutputItems: async (items: NotebookCellOutputItem | NotebookCellOutputItem[], output: NotebookCellOutput) => {
        const found = outputs.find((o) => o.id === output.id);
        if (found) found.items = Array.isArray(items) ? items : [items];
        sync();
      },
      appendOutputItems: async (items: NotebookCellOutputItem | NotebookCellOutputItem[], output: NotebookCellOutput) => {
        const found = outputs.find((o) => o.id === output.id);
        if (found && found !== output) found.items.push(...(Array.isArray(items) ? items : [items]));
        sync();
      },
    };
  };

  const vscode = withFallback({
    version: '1.90.0-fake',
    EventEmitter,
    Disposable,
    NotebookCellOutput,
    NotebookCellOutputItem,
    NotebookControllerAffinity: { Default: 1, Preferred: 2 },
    TreeItemCollapsibleState: { None: 0, Collapsed: 1, Expanded: 2 },
    StatusBarAlignment: { Left: 1, Right: 2 },
    InputBoxValidationSeverity: { Info: 1, Warning: 2, Error: 3 },
    ViewColumn: { Active: -1, Beside: -2, One: 1 },
    commands: withFallback({
      registerCommand: (id: string, handler: (...args: unknown[]) => unknown) => {
        commands.set(id, handler);
        return { dispose: () => commands.delete(id) };
      },
      executeCommand: async (id: string, ...args: unknown[]) => commands.get(id)?.(...args),
    }),
    window: withFallback({
      createOutputChannel: outputChannel,
      showInformationMessage: async (message: string, ...items: unknown[]) => {
        logged.push(`[message] ${message}`);
        return fake.chooseInformationItem(message, items.filter((i): i is string => typeof i === 'string'));
      },
      showErrorMessage: async (message: string) => {
        logged.push(`[error message] ${message}`);
        return undefined;
      },
      activeNotebookEditor: undefined,
    }),
    workspace: withFallback({
      getConfiguration: (section?: string) => ({
        get: <T>(key: string, fallback?: T): T | undefined => {
          const full = section ? `${section}.${key}` : key;
          return (full in settings ? settings[full] : fallback) as T | undefined;
        },
        has: (key: string) => (section ? `${section}.${key}` : key) in settings,
        update: async () => undefined,
      }),
      notebookDocuments: [] as unknown[],
      workspaceFolders: undefined,
      onDidOpenNotebookDocument: notebookOpen.event,
      onDidCloseNotebookDocument: notebookClose.event,
    }),
    env: withFallback({
      clipboard: {
        writeText: async (text: string) => {
          clipboard.text = text;
        },
        readText: async () => clipboard.text ?? '',
      },
    }),
    notebooks: withFallback({
      createNotebookController: (id: string, notebookType: string) => {
        const controller: FakeController & Record<string, unknown> = {
          id,
          notebookType,
          executions: [],
          createNotebookCellExecution: (cell: object) => createExecution(controller, cell),
          updateNotebookAffinity: () => undefined,
          onDidChangeSelectedNotebooks: new EventEmitter<{ notebook: object; selected: boolean }>().event,
          dispose: () => undefined,
        };
        controllers.push(controller);
        return controller;
      },
    }),
  });

  const moduleInternals = Module as unknown as {
    _resolveFilename: (request: string, ...rest: unknown[]) => string;
  };
  const original = moduleInternals._resolveFilename;
  moduleInternals._resolveFilename = function (request: string, ...rest: unknown[]) {
    return request === 'vscode' ? FAKE_ID : original.call(this, request, ...rest);
  };
  const cached = new Module(FAKE_ID);
  cached.exports = vscode;
  cached.loaded = true;
  require.cache[FAKE_ID] = cached;

  let cells = 0;
  return {
    commands,
    controllers,
    settings,
    logged,
    clipboard,
    get chooseInformationItem() {
      return fake.chooseInformationItem;
    },
    set chooseInformationItem(choose) {
      fake.chooseInformationItem = choose;
    },
    context: () =>
      withFallback({
        subscriptions: [] as { dispose(): unknown }[],
        extension: { packageJSON: { version: '0.0.0-fake' } },
        extensionPath: process.cwd(),
        globalState: { get: () => undefined, update: async () => undefined, keys: () => [] },
        workspaceState: { get: () => undefined, update: async () => undefined, keys: () => [] },
        secrets: { get: async () => undefined, store: async () => undefined, delete: async () => undefined, onDidChange: () => ({ dispose: () => undefined }) },
      }),
    cell: (source, notebookType = 'shared-futures-notebook') => {
      const n = ++cells;
      const uri = (text: string) => ({ scheme: 'untitled', fsPath: text, toString: () => text });
      const notebook = { uri: uri(`untitled:fake-${n}.sfnb`), notebookType, cellCount: 1 };
      const cell = {
        index: 0,
        kind: 2,
        notebook,
        document: { uri: uri(`vscode-notebook-cell:fake-${n}#0`), languageId: 'typescript', getText: () => source },
        executionSummary: undefined,
        outputs: [],
      };
      return { cell, notebook };
    },
    uninstall: () => {
      moduleInternals._resolveFilename = original;
      delete require.cache[FAKE_ID];
    },
  };
}
