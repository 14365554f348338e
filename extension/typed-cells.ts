/**
 * Type errors in notebook cells while typing. For each of our notebooks (every `.sfnb`, and each `.ipynb`
 * whose selected controller is ours) a language engine (kernel/language-engine.ts) sees the notebook as the
 * kernel will run it: the prelude, then the code cells in order. A change of a cell re-checks the notebook
 * after a short pause and the problems are published on the cells (so they are squiggled and listed in
 * Problems, at the cell's own lines). Only the checker's findings are published: VS Code's TypeScript
 * already shows syntax errors in cells, and would show them twice.
 *
 * It also tells the TypeScript server plugin (ts-plugin.ts) which `.ipynb` notebooks are ours.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { EngineCell, EngineDiagnostic, LanguageEngine } from '../kernel/language-engine';
import { NOTEBOOK_TYPE } from './notebook-serializer';
import { TS_PLUGIN_NAME, type TsPluginConfiguration } from './ts-plugin-config';

/** Pause after the last change before a notebook is checked again. */
const CHECK_DELAY_MS = 300;
const JUPYTER_NOTEBOOK_TYPE = 'jupyter-notebook';
const CELL_LANGUAGES = new Set(['typescript', 'javascript']);

/** The TypeScript extension's API that lets an extension configure its server plugin. */
interface TypeScriptExtensionApi {
  getAPI(version: 0): { configurePlugin(pluginId: string, configuration: unknown): void } | undefined;
}

/** Checks our notebooks' cells with the language engine and publishes their type errors. */
export class TypedCells implements vscode.Disposable {
  private readonly diagnostics = vscode.languages.createDiagnosticCollection('shared-futures');
  private readonly engines = new Map<string, LanguageEngine>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  /** Cells that have problems published, per notebook, so a fixed cell is cleared. */
  private readonly published = new Map<string, Set<string>>();
  /** `.ipynb` notebooks whose selected controller is ours. */
  private readonly selectedIpynb = new Set<string>();
  private readonly subscriptions: vscode.Disposable[] = [];
  private engineModule: Promise<typeof import('../kernel/language-engine')> | undefined;
  private failed = false;

  constructor(private readonly log: vscode.LogOutputChannel) {
    this.subscriptions.push(
      this.diagnostics,
      vscode.workspace.onDidOpenNotebookDocument((notebook) => this.schedule(notebook)),
      vscode.workspace.onDidCloseNotebookDocument((notebook) => this.forget(notebook)),
      vscode.workspace.onDidChangeNotebookDocument((event) => {
        if (event.contentChanges.length > 0 || event.cellChanges.some((change) => change.document !== undefined)) {
          this.schedule(event.notebook);
        }
      }),
      vscode.workspace.onDidChangeTextDocument((event) => {
        if (event.document.uri.scheme === 'vscode-notebook-cell' && event.contentChanges.length > 0) {
          const notebook = notebookOfCell(event.document.uri);
          if (notebook) {
            this.schedule(notebook);
          }
        }
      }),
      // A cell switched between TypeScript and JavaScript.
      vscode.workspace.onDidOpenTextDocument((document) => {
        if (document.uri.scheme === 'vscode-notebook-cell') {
          const notebook = notebookOfCell(document.uri);
          if (notebook) {
            this.schedule(notebook);
          }
        }
      }),
    );
    for (const notebook of vscode.workspace.notebookDocuments) {
      this.schedule(notebook);
    }
  }

  /** Told by the controllers when one of ours is selected for, or unselected from, a notebook. */
  controllerSelected(notebook: vscode.NotebookDocument, selected: boolean): void {
    if (notebook.notebookType !== JUPYTER_NOTEBOOK_TYPE) {
      return;
    }
    const key = notebook.uri.toString();
    if (selected === this.selectedIpynb.has(key)) {
      return;
    }
    if (selected) {
      this.selectedIpynb.add(key);
      this.schedule(notebook);
    } else {
      this.selectedIpynb.delete(key);
      this.forget(notebook);
    }
    this.configurePlugin();
  }

  /** Checks `notebook` now (tests and the run path call it; typing goes through the debounce). */
  async check(notebook: vscode.NotebookDocument): Promise<void> {
    const key = notebook.uri.toString();
    clearTimeout(this.timers.get(key));
    this.timers.delete(key);
    if (!this.owns(notebook) || notebook.isClosed || this.failed) {
      return;
    }
    const cells = notebook.getCells().filter((cell) => cell.kind === vscode.NotebookCellKind.Code && CELL_LANGUAGES.has(cell.document.languageId));
    const engine = await this.engineFor(notebook);
    if (!engine || notebook.isClosed) {
      return;
    }
    const engineCells: EngineCell[] = cells.map((cell) => ({
      id: cell.document.uri.toString(),
      source: cell.document.getText(),
      language: cell.document.languageId === 'javascript' ? 'javascript' : 'typescript',
    }));
    const started = Date.now();
    engine.setCells(engineCells);
    const found = engine.diagnostics().filter((d) => d.kind === 'types');
    const byCell = new Map<string, vscode.Diagnostic[]>();
    for (const d of found) {
      const list = byCell.get(d.cellId) ?? [];
      list.push(toVscodeDiagnostic(d));
      byCell.set(d.cellId, list);
    }
    const before = this.published.get(key) ?? new Set<string>();
    for (const cell of cells) {
      const id = cell.document.uri.toString();
      const list = byCell.get(id);
      if (list) {
        this.diagnostics.set(cell.document.uri, list);
      } else if (before.has(id)) {
        this.diagnostics.delete(cell.document.uri);
      }
    }
    for (const id of before) {
      if (!engineCells.some((cell) => cell.id === id)) {
        this.diagnostics.delete(vscode.Uri.parse(id)); // a deleted cell, or one that is no longer code
      }
    }
    this.published.set(key, new Set(byCell.keys()));
    this.log.trace(`typed cells: ${notebook.uri.path}: ${found.length} problems in ${cells.length} cells, ${Date.now() - started} ms`);
  }

  dispose(): void {
    for (const timer of this.timers.values()) {
      clearTimeout(timer);
    }
    this.timers.clear();
    for (const engine of this.engines.values()) {
      engine.dispose();
    }
    this.engines.clear();
    for (const subscription of this.subscriptions) {
      subscription.dispose();
    }
  }

  private owns(notebook: vscode.NotebookDocument): boolean {
    return notebook.notebookType === NOTEBOOK_TYPE || (notebook.notebookType === JUPYTER_NOTEBOOK_TYPE && this.selectedIpynb.has(notebook.uri.toString()));
  }

  private schedule(notebook: vscode.NotebookDocument): void {
    if (!this.owns(notebook)) {
      return;
    }
    const key = notebook.uri.toString();
    clearTimeout(this.timers.get(key));
    this.timers.set(
      key,
      setTimeout(() => {
        this.check(notebook).catch((err: unknown) => this.log.error(`typed cells: checking ${notebook.uri.toString()} failed`, err));
      }, CHECK_DELAY_MS),
    );
  }

  private forget(notebook: vscode.NotebookDocument): void {
    const key = notebook.uri.toString();
    clearTimeout(this.timers.get(key));
    this.timers.delete(key);
    this.engines.get(key)?.dispose();
    this.engines.delete(key);
    for (const id of this.published.get(key) ?? []) {
      this.diagnostics.delete(vscode.Uri.parse(id));
    }
    this.published.delete(key);
  }

  private async engineFor(notebook: vscode.NotebookDocument): Promise<LanguageEngine | undefined> {
    const key = notebook.uri.toString();
    const existing = this.engines.get(key);
    if (existing) {
      return existing;
    }
    this.engineModule ??= import('../kernel/language-engine');
    const { LanguageEngine: Engine } = await this.engineModule;
    if (this.engines.has(key)) {
      return this.engines.get(key);
    }
    try {
      const engine = new Engine({ notebookDir: notebookDir(notebook) });
      this.engines.set(key, engine);
      return engine;
    } catch (err) {
      this.failed = true;
      this.log.error(`typed cells are off: ${err instanceof Error ? err.message : String(err)}`);
      return undefined;
    }
  }

  private configurePlugin(): void {
    const extension = vscode.extensions.getExtension<TypeScriptExtensionApi>('vscode.typescript-language-features');
    if (!extension) {
      return;
    }
    const configuration: TsPluginConfiguration = {
      notebooks: vscode.workspace.notebookDocuments.filter((n) => this.selectedIpynb.has(n.uri.toString())).map((n) => n.uri.path),
    };
    extension.activate().then(
      (api) => api?.getAPI(0)?.configurePlugin(TS_PLUGIN_NAME, configuration),
      (err: unknown) => this.log.warn(`the TypeScript extension did not activate: ${err instanceof Error ? err.message : String(err)}`),
    );
  }
}

function toVscodeDiagnostic(d: EngineDiagnostic): vscode.Diagnostic {
  const severity =
    d.category === 'error' ? vscode.DiagnosticSeverity.Error : d.category === 'warning' ? vscode.DiagnosticSeverity.Warning : vscode.DiagnosticSeverity.Hint;
  const diagnostic = new vscode.Diagnostic(new vscode.Range(d.line, d.column, d.endLine, d.endColumn), d.message, severity);
  diagnostic.source = 'ts (Shared Futures)';
  diagnostic.code = d.code;
  return diagnostic;
}

/** The notebook of a cell: a cell's URI is its notebook's with the `vscode-notebook-cell` scheme and a fragment. */
function notebookOfCell(uri: vscode.Uri): vscode.NotebookDocument | undefined {
  return vscode.workspace.notebookDocuments.find((notebook) => notebook.uri.path === uri.path && notebook.uri.authority === uri.authority);
}

function notebookDir(notebook: vscode.NotebookDocument): string | undefined {
  if (notebook.uri.scheme === 'file') {
    return path.dirname(notebook.uri.fsPath);
  }
  return vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
}
