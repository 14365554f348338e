/**
 * The language engine of typed cells: one TypeScript LanguageService over a virtual notebook, serving
 * completions, quick info and diagnostics for cells given by id and offset. No `vscode` here: the VS Code
 * extension (diagnostics while typing), the kernel (type check before a cell runs) and a Jupyter kernel
 * (`complete_request`, `inspect_request`) all use it.
 *
 * How the kernel's rules are modelled. The kernel runs each cell in one persistent context where a cell's
 * top-level declarations become globals: later cells see them and may declare them again, and `await` works
 * at top level (kernel/transpile.ts). Here every cell is its own ES module file, so
 * - top-level `await` is legal (module ESNext, target ES2022);
 * - a declaration is local to its cell, so declaring a name again in a later cell is not a redeclaration;
 * - the names earlier cells declared reach a cell through a generated footer appended *after* the cell's
 *   text: `export { names this cell declares }` and, for every name the cell mentions but does not declare
 *   itself, `import { name } from './<the latest earlier cell declaring it>'` (the cell being completed
 *   imports every visible name, so completion offers them all). Imports are hoisted, so a footer
 *   sees no difference from a header, and the cell's text starts at offset 0 of its file: offsets and
 *   lines map to the cell unchanged, and a `// @ts-check` on the first line of a JavaScript cell is still
 *   the file's first comment. The footer starts with `;` on a new line so that an unfinished statement
 *   (`client.` while completing) ends before it.
 * Types flow as inferred (`const chan = client.channel<number>('a')` in cell 1 is a `Channel<number>` in
 * cell 5); an interface or type alias flows the same way. What the module model gets wrong is patched on the
 * diagnostics: assigning in a later cell to a `let`/`var` of an earlier one is legal in the kernel (the
 * name is a global there), so TypeScript's "cannot assign to an import" is dropped for those, and reworded
 * as a constant for a `const`. Diagnostics that fall in the footer (a cell that leaves a brace or a comment
 * open) are moved to the end of the cell's text.
 *
 * The prelude (`client`, `Client`, `display`, … see kernel/notebook-prelude.d.ts) and the runtime's own
 * declarations are real files under dist/types; libraries are ES2023 and @types/node, like the
 * kernel thread (no DOM: no `clientInformation`). One service lives as long as the engine; `setCells` bumps the
 * version of a file only when its text changed, so the service re-parses and re-checks only what it must.
 *
 * Its parts: engine-cells.ts (the cells' files and footers), engine-host.ts (the service's view of files and
 * disk), cell-declarations.ts (what a cell declares); this file holds the queries and the diagnostics' fixes.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import ts from 'typescript';
import { preferClientMembers, preferPreludeNames } from './completion-order';
import { CellFiles, type CellFile, type EngineCell } from './engine-cells';
import { defaultTypesDir, engineHost, nodeTypeRoot, PRELUDE_FILE } from './engine-host';

export type { EngineCell } from './engine-cells';
export { topLevelDeclarations } from './cell-declarations';

/** One completion entry. */
export interface EngineCompletion {
  name: string;
  kind: string;
  sortText: string;
  insertText?: string;
  detail?: string;
}

/** Completions at an offset; `start`..`end` (offsets in the cell's source) is what the chosen entry replaces. */
export interface EngineCompletions {
  entries: EngineCompletion[];
  start: number;
  end: number;
}

/** What hovering a name shows: its type (`text`) and its doc comment. */
export interface EngineQuickInfo {
  text: string;
  documentation: string;
  start: number;
  end: number;
}

/** A problem in a cell; `line`/`column` are 0-based within the cell. */
export interface EngineDiagnostic {
  cellId: string;
  start: number;
  end: number;
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
  message: string;
  category: 'error' | 'warning' | 'suggestion';
  code: number;
  /** `syntax` for what the parser found (editors show those already), `types` for the checker's. */
  kind: 'syntax' | 'types';
}

/** Options of the engine. */
export interface LanguageEngineOptions {
  /**
   * Folder holding the runtime's declarations (`scheduler/index.d.ts`) and `notebook-prelude.d.ts`: the
   * build's `dist/types`. Found beside this module by default.
   */
  typesDir?: string;
  /** Folder that `import`s in cells resolve from (the notebook's). Default: the current directory. */
  notebookDir?: string;
  /**
   * Where parsed library files are kept; by default one registry shared by every engine of the process, so
   * a second engine (another notebook, the kernel's check) does not parse lib and @types/node again.
   */
  documentRegistry?: ts.DocumentRegistry;
}

let sharedRegistry: ts.DocumentRegistry | undefined;

/** Diagnostic codes of TypeScript the engine treats specially. */
const CANNOT_ASSIGN_TO_IMPORT = 2632;

/** A TypeScript language service over a notebook's cells, under the kernel's rules. */
export class LanguageEngine {
  private readonly typesDir: string;
  private readonly notebookDir: string;
  private readonly preludeFile: string;
  private readonly compilerOptions: ts.CompilerOptions;
  private readonly cells: CellFiles;
  private readonly service: ts.LanguageService;
  private readonly registry: ts.DocumentRegistry;
  /** Keeps each cell's diagnostics until an edit can change them (see `diagnostics`). */
  private builder: ts.SemanticDiagnosticsBuilderProgram | undefined;
  private builderProgram: ts.Program | undefined;
  private disposed = false;

  constructor(options: LanguageEngineOptions = {}) {
    this.typesDir = path.resolve(options.typesDir ?? defaultTypesDir());
    this.notebookDir = path.resolve(options.notebookDir ?? process.cwd());
    this.preludeFile = path.join(this.typesDir, PRELUDE_FILE);
    if (!fs.existsSync(this.preludeFile)) {
      throw new Error(`the notebook prelude ${this.preludeFile} is missing: run \`npm run build\` (it writes dist/types)`);
    }
    this.compilerOptions = {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ESNext,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      moduleDetection: ts.ModuleDetectionKind.Force,
      lib: ['lib.es2023.d.ts'],
      types: ['node'],
      typeRoots: [nodeTypeRoot(this.typesDir)],
      strict: true,
      allowJs: true,
      checkJs: false,
      esModuleInterop: true,
      allowSyntheticDefaultImports: true,
      resolveJsonModule: true,
      skipLibCheck: true,
      noEmit: true,
      allowUnreachableCode: true,
    };
    this.registry = options.documentRegistry ?? (sharedRegistry ??= ts.createDocumentRegistry());
    this.cells = new CellFiles(this.notebookDir);
    this.service = ts.createLanguageService(
      engineHost(this.cells, { preludeFile: this.preludeFile, notebookDir: this.notebookDir, compilerOptions: this.compilerOptions }),
      this.registry,
    );
  }

  /** The whole notebook's code cells, in the order the kernel runs them. Cheap when little changed. */
  setCells(cells: EngineCell[]): void {
    this.checkOpen();
    this.cells.set(cells);
  }

  /** Completions at `offset` of the cell's source. */
  completions(cellId: string, offset: number): EngineCompletions {
    const file = this.file(cellId);
    if (this.cells.completing !== file) {
      // Completion offers every name of earlier cells, not only those the cell mentions already.
      this.cells.completing = file;
      this.cells.refreshFooters();
    }
    const at = clamp(offset, file.cell.source.length);
    const info = this.service.getCompletionsAtPosition(file.fileName, at, {
      includeCompletionsWithInsertText: true,
      includeCompletionsForModuleExports: false,
      includeAutomaticOptionalChainCompletions: true,
    });
    const word = wordAround(file.cell.source, at);
    if (!info) {
      return { entries: [], start: word.start, end: word.end };
    }
    const span = info.optionalReplacementSpan;
    const start = span ? span.start : word.start;
    const end = span ? span.start + span.length : word.end;
    const order = info.isMemberCompletion ? (list: EngineCompletion[]) => preferClientMembers(list, true) : preferPreludeNames;
    const entries = order(
      info.entries.map((entry): EngineCompletion => {
        const out: EngineCompletion = { name: entry.name, kind: entry.kind, sortText: entry.sortText };
        if (entry.insertText !== undefined) {
          out.insertText = entry.insertText;
        }
        if (entry.labelDetails?.description) {
          out.detail = entry.labelDetails.description;
        }
        return out;
      }),
    );
    return { entries, start: clamp(start, file.cell.source.length), end: clamp(end, file.cell.source.length) };
  }

  /** Type and doc comment of the name at `offset`, or undefined where there is none. */
  quickInfo(cellId: string, offset: number): EngineQuickInfo | undefined {
    const file = this.file(cellId);
    const info = this.service.getQuickInfoAtPosition(file.fileName, clamp(offset, file.cell.source.length));
    if (!info || info.textSpan.start >= file.cell.source.length) {
      return undefined;
    }
    const tags = (info.tags ?? []).map((tag) => `@${tag.name}${tag.text ? ` ${ts.displayPartsToString(tag.text)}` : ''}`);
    let text = ts.displayPartsToString(info.displayParts);
    const name = file.cell.source.slice(info.textSpan.start, info.textSpan.start + info.textSpan.length);
    if (info.kind === ts.ScriptElementKind.alias && !file.declared.has(name) && this.cells.declarerBefore(file, name)) {
      // A name of an earlier cell reaches this one through the footer's import: show it as declared.
      text = text.replace(/^\(alias\) /, '').replace(new RegExp(`\\nimport ${name}$`), '');
    }
    return {
      text,
      documentation: [ts.displayPartsToString(info.documentation), ...tags].filter((s) => s.length > 0).join('\n\n'),
      start: info.textSpan.start,
      end: info.textSpan.start + info.textSpan.length,
    };
  }

  /** Problems of the given cells (default: every cell), in notebook order, syntax and types. */
  diagnostics(cellIds?: string[]): EngineDiagnostic[] {
    this.checkOpen();
    const wanted = cellIds ? cellIds.map((id) => this.file(id)) : this.cells.order;
    const builder = this.diagnosticsBuilder();
    const out: EngineDiagnostic[] = [];
    for (const file of wanted) {
      const syntactic = this.service.getSyntacticDiagnostics(file.fileName);
      const sourceFile = builder.getSourceFile(file.fileName);
      const raw = [...syntactic, ...(sourceFile ? builder.getSemanticDiagnostics(sourceFile) : [])];
      let footerReported = false;
      for (const [index, diagnostic] of raw.entries()) {
        const mapped = this.mapDiagnostic(file, diagnostic, index < syntactic.length ? 'syntax' : 'types');
        if (!mapped) {
          continue;
        }
        if (mapped.start === file.cell.source.length && diagnostic.start !== undefined && diagnostic.start > file.cell.source.length) {
          // Only the first problem the footer meets is about the cell (an unclosed brace, say).
          if (footerReported) {
            continue;
          }
          footerReported = true;
        }
        out.push(mapped);
      }
    }
    return out;
  }

  /** Size of the current program: source files (libraries included), cells, and the project version. */
  stats(): { files: number; cells: number; projectVersion: number } {
    const program = this.service.getProgram();
    return { files: program?.getSourceFiles().length ?? 0, cells: this.cells.order.length, projectVersion: this.cells.projectVersion };
  }

  /** Frees the language service. */
  dispose(): void {
    if (this.disposed) {
      return;
    }
    this.disposed = true;
    this.builder = undefined;
    this.builderProgram = undefined;
    this.service.dispose();
    this.cells.clear();
  }

  // ---- internals -------------------------------------------------------------------------------

  /**
   * The checker's diagnostics through TypeScript's incremental builder (what `tsc --watch` uses): after an
   * edit it re-checks the edited cell, and the cells that import from it only when the declarations it
   * exports changed shape. A keystroke inside a function body re-checks one cell, not the notebook.
   */
  private diagnosticsBuilder(): ts.SemanticDiagnosticsBuilderProgram {
    const program = this.service.getProgram();
    if (!program) {
      throw new Error('the language service has no program');
    }
    if (!this.builder || this.builderProgram !== program) {
      this.builder = ts.createSemanticDiagnosticsBuilderProgram(program, {}, this.builder);
      this.builderProgram = program;
      // Walk the files the edit affects: this is where a changed export shape invalidates its importers
      // (asking for one file's diagnostics alone would return a stale cache for them).
      while (this.builder.getSemanticDiagnosticsOfNextAffectedFile()) {
        // each step checks one affected file and caches its diagnostics
      }
    }
    return this.builder;
  }

  private mapDiagnostic(file: CellFile, diagnostic: ts.Diagnostic, kind: EngineDiagnostic['kind']): EngineDiagnostic | undefined {
    const source = file.cell.source;
    let start = diagnostic.start ?? 0;
    let end = start + (diagnostic.length ?? 0);
    let message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
    if (diagnostic.code === CANNOT_ASSIGN_TO_IMPORT && start < source.length) {
      const name = source.slice(start, end);
      const declarer = this.cells.declarerBefore(file, name);
      if (declarer) {
        if (declarer.declared.get(name)) {
          return undefined; // a let or var of an earlier cell: a global the kernel lets you assign
        }
        message = `Cannot assign to '${name}' because it is a constant (declared in an earlier cell).`;
      }
    }
    if (start > source.length) {
      if (diagnostic.category !== ts.DiagnosticCategory.Error || !isSyntactic(diagnostic)) {
        return undefined; // about the generated footer only
      }
      start = source.length;
      end = source.length;
    }
    end = clamp(end, source.length);
    const from = lineAndColumn(source, start);
    const to = lineAndColumn(source, end);
    return {
      cellId: file.cell.id,
      start,
      end,
      line: from.line,
      column: from.column,
      endLine: to.line,
      endColumn: to.column,
      message,
      category: categoryOf(diagnostic.category),
      code: diagnostic.code,
      kind,
    };
  }

  private file(cellId: string): CellFile {
    this.checkOpen();
    return this.cells.get(cellId);
  }

  private checkOpen(): void {
    if (this.disposed) {
      throw new Error('the language engine was disposed');
    }
  }
}

function isSyntactic(diagnostic: ts.Diagnostic): boolean {
  // TypeScript's syntax errors are numbered 1000–1999.
  return diagnostic.code >= 1000 && diagnostic.code < 2000;
}

function categoryOf(category: ts.DiagnosticCategory): EngineDiagnostic['category'] {
  switch (category) {
    case ts.DiagnosticCategory.Warning:
      return 'warning';
    case ts.DiagnosticCategory.Error:
      return 'error';
    default:
      return 'suggestion';
  }
}

function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  let line = 0;
  let lineStart = 0;
  for (let i = 0; i < offset; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart };
}

function clamp(offset: number, length: number): number {
  return Math.max(0, Math.min(offset, length));
}

/** The identifier around `offset` (empty at `offset` when there is none). */
function wordAround(text: string, offset: number): { start: number; end: number } {
  const isWord = (code: number) => (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || code === 95 || code === 36;
  let start = offset;
  while (start > 0 && isWord(text.charCodeAt(start - 1))) {
    start--;
  }
  let end = offset;
  while (end < text.length && isWord(text.charCodeAt(end))) {
    end++;
  }
  return { start, end };
}
