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
 * declarations are real files under dist/types; libraries are ES2023 and @types/node, like the kernel's
 * Node worker (no DOM: no `clientInformation`). One service lives as long as the engine; `setCells` bumps the
 * version of a file only when its text changed, so the service re-parses and re-checks only what it must.
 */
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import ts from 'typescript';
import { preferClientMembers, preferPreludeNames } from './completion-order';
import { bindingNames } from './transpile';

/** A code cell of the notebook. */
export interface EngineCell {
  id: string;
  source: string;
  language: 'typescript' | 'javascript';
}

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
/**
 * Numbers of cell files, unique in the process: engines share one document registry, which keys files by
 * name and version, so two engines over the same folder must never both have a `__sfnb_cell_1.ts`.
 */
let cellFileCounter = 0;

/** Diagnostic codes of TypeScript the engine treats specially. */
const CANNOT_ASSIGN_TO_IMPORT = 2632;
const FOOTER_MARK = '\n;\n';
/** How long a file or folder found (or not) on disk is taken as such: a package installed meanwhile shows up after it. */
const DISK_CACHE_MS = 5000;
const PRELUDE_FILE = 'notebook-prelude.d.ts';

interface CellFile {
  /** The cell as last given. */
  cell: EngineCell;
  fileName: string;
  /** Module specifier of the file for other cells' footers. */
  specifier: string;
  /** Top-level names the cell declares, and whether each may be assigned again (let/var). */
  declared: Map<string, boolean>;
  /** Every identifier-like word of the source: the names of earlier cells the footer must import. */
  used: Set<string>;
  /** The source these names were computed from. */
  parsedSource: string;
  parsedLanguage: EngineCell['language'];
  /** The file's text: the source, then the footer. */
  text: string;
  version: number;
  snapshot: ts.IScriptSnapshot;
}

/** Where the runtime's declarations are, from this module's place in build/ or dist/. */
export function defaultTypesDir(fromDir: string = __dirname): string {
  const candidates = [
    path.join(fromDir, 'types'), // dist/extension.js, dist/cli.js: dist/types
    path.join(fromDir, '..', '..', 'dist', 'types'), // build/kernel/language-engine.js
    path.join(fromDir, '..', 'dist', 'types'), // kernel/ run from sources
  ];
  return candidates.find((dir) => fs.existsSync(path.join(dir, PRELUDE_FILE))) ?? candidates[0];
}

/** A TypeScript language service over a notebook's cells, under the kernel's rules. */
export class LanguageEngine {
  private readonly typesDir: string;
  private readonly notebookDir: string;
  private readonly preludeFile: string;
  private readonly compilerOptions: ts.CompilerOptions;
  private readonly files = new Map<string, CellFile>();
  private readonly byFileName = new Map<string, CellFile>();
  private order: CellFile[] = [];
  private projectVersion = 0;
  private readonly service: ts.LanguageService;
  private readonly registry: ts.DocumentRegistry;
  /** The cell completions were last asked for: its footer imports every visible name, not only the used ones. */
  private completing: CellFile | undefined;
  private readonly diskSnapshots = new Map<string, ts.IScriptSnapshot | undefined>();
  /** What module resolution found on disk, for a few seconds: every new program asks again. */
  private readonly existingFiles = new Map<string, { exists: boolean; until: number }>();
  private readonly existingDirectories = new Map<string, { exists: boolean; until: number }>();
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
    this.service = ts.createLanguageService(this.host(), this.registry);
  }

  /** The whole notebook's code cells, in the order the kernel runs them. Cheap when little changed. */
  setCells(cells: EngineCell[]): void {
    this.checkOpen();
    const seen = new Set<string>();
    const order: CellFile[] = [];
    for (const cell of cells) {
      if (seen.has(cell.id)) {
        throw new Error(`setCells: cell id '${cell.id}' appears twice`);
      }
      seen.add(cell.id);
      order.push(this.cellFile(cell));
    }
    for (const [id, file] of this.files) {
      if (!seen.has(id)) {
        this.files.delete(id);
        this.byFileName.delete(file.fileName);
        this.projectVersion++;
      }
    }
    if (order.length !== this.order.length || order.some((file, i) => file !== this.order[i])) {
      this.projectVersion++;
    }
    this.order = order;
    if (this.completing && !this.files.has(this.completing.cell.id)) {
      this.completing = undefined;
    }
    this.refreshFooters();
  }

  /** Sets each cell's footer from the latest earlier cell declaring each name, as the kernel's globals hold it. */
  private refreshFooters(): void {
    const latest = new Map<string, CellFile>();
    for (const file of this.order) {
      const text = file.cell.source + this.footer(file, latest);
      if (text !== file.text) {
        file.text = text;
        file.version++;
        file.snapshot = ts.ScriptSnapshot.fromString(text);
        this.projectVersion++;
      }
      for (const name of file.declared.keys()) {
        latest.set(name, file);
      }
    }
  }

  /** Completions at `offset` of the cell's source. */
  completions(cellId: string, offset: number): EngineCompletions {
    const file = this.file(cellId);
    if (this.completing !== file) {
      // Completion offers every name of earlier cells, not only those the cell mentions already.
      this.completing = file;
      this.refreshFooters();
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
    if (info.kind === ts.ScriptElementKind.alias && !file.declared.has(name) && this.declarerBefore(file, name)) {
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
    const wanted = cellIds ? cellIds.map((id) => this.file(id)) : this.order;
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

  /** Names declared at top level by a cell, as later cells see them. */
  declaredNames(cellId: string): string[] {
    return [...this.file(cellId).declared.keys()];
  }

  /** Size of the current program: source files (libraries included), cells, and the project version. */
  stats(): { files: number; cells: number; projectVersion: number } {
    const program = this.service.getProgram();
    return { files: program?.getSourceFiles().length ?? 0, cells: this.order.length, projectVersion: this.projectVersion };
  }

  /** The underlying service, for hosts that need more than this class offers (signature help, definitions). */
  get languageService(): ts.LanguageService {
    this.checkOpen();
    return this.service;
  }

  /** The virtual file name of a cell (for results of `languageService`). */
  fileNameOf(cellId: string): string {
    return this.file(cellId).fileName;
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
    this.files.clear();
    this.byFileName.clear();
    this.order = [];
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

  private host(): ts.LanguageServiceHost {
    const readFile = (fileName: string): string | undefined => this.byFileName.get(path.resolve(fileName))?.text ?? ts.sys.readFile(fileName);
    return {
      getProjectVersion: () => String(this.projectVersion),
      getScriptFileNames: () => [this.preludeFile, ...this.order.map((file) => file.fileName)],
      getScriptVersion: (fileName) => String(this.byFileName.get(path.resolve(fileName))?.version ?? 0),
      getScriptSnapshot: (fileName) => {
        const file = this.byFileName.get(path.resolve(fileName));
        if (file) {
          return file.snapshot;
        }
        // Libraries, @types and the runtime's declarations do not change while the engine lives: read once.
        const key = path.resolve(fileName);
        if (!this.diskSnapshots.has(key)) {
          const text = ts.sys.readFile(fileName);
          this.diskSnapshots.set(key, text === undefined ? undefined : ts.ScriptSnapshot.fromString(text));
        }
        return this.diskSnapshots.get(key);
      },
      getScriptKind: (fileName) => {
        const file = this.byFileName.get(path.resolve(fileName));
        if (file) {
          return file.cell.language === 'javascript' ? ts.ScriptKind.JS : ts.ScriptKind.TS;
        }
        return ts.ScriptKind.Unknown;
      },
      getCurrentDirectory: () => this.notebookDir,
      getCompilationSettings: () => this.compilerOptions,
      getDefaultLibFileName: (options) => ts.getDefaultLibFilePath(options),
      fileExists: (fileName) => this.byFileName.has(path.resolve(fileName)) || this.onDisk(this.existingFiles, fileName, ts.sys.fileExists),
      readFile,
      readDirectory: ts.sys.readDirectory,
      directoryExists: (dir) => this.onDisk(this.existingDirectories, dir, ts.sys.directoryExists),
      getDirectories: ts.sys.getDirectories,
      realpath: ts.sys.realpath,
      useCaseSensitiveFileNames: () => ts.sys.useCaseSensitiveFileNames,
    };
  }

  /** A disk lookup, remembered for DISK_CACHE_MS so an edit does not stat the same paths again. */
  private onDisk(cache: Map<string, { exists: boolean; until: number }>, target: string, lookup: (p: string) => boolean): boolean {
    const now = Date.now();
    const known = cache.get(target);
    if (known && known.until > now) {
      return known.exists;
    }
    const exists = lookup(target);
    cache.set(target, { exists, until: now + DISK_CACHE_MS });
    return exists;
  }

  private cellFile(cell: EngineCell): CellFile {
    let file = this.files.get(cell.id);
    if (file && file.cell.language !== cell.language) {
      // The file's extension says its language: a new file.
      this.files.delete(cell.id);
      this.byFileName.delete(file.fileName);
      file = undefined;
    }
    if (!file) {
      const base = `__sfnb_cell_${++cellFileCounter}`;
      const fileName = path.join(this.notebookDir, `${base}${cell.language === 'javascript' ? '.js' : '.ts'}`);
      file = {
        cell,
        fileName,
        specifier: `./${base}`,
        declared: new Map(),
        used: new Set(),
        parsedSource: '',
        parsedLanguage: cell.language,
        text: '',
        version: 0,
        snapshot: ts.ScriptSnapshot.fromString(''),
      };
      file.declared = topLevelDeclarations(cell.source, cell.language);
      file.used = wordsOf(cell.source);
      file.parsedSource = cell.source;
      this.files.set(cell.id, file);
      this.byFileName.set(fileName, file);
      return file;
    }
    file.cell = cell;
    if (file.parsedSource !== cell.source) {
      file.declared = topLevelDeclarations(cell.source, cell.language);
      file.used = wordsOf(cell.source);
      file.parsedSource = cell.source;
    }
    return file;
  }

  private footer(file: CellFile, latest: Map<string, CellFile>): string {
    // Only the names the cell mentions: a name added to an earlier cell then changes no later cell's text,
    // so the builder re-checks only the cells that use that cell's names.
    const all = file === this.completing;
    const imports = new Map<CellFile, string[]>();
    for (const [name, from] of latest) {
      if (!file.declared.has(name) && (all || file.used.has(name))) {
        const names = imports.get(from) ?? [];
        names.push(name);
        imports.set(from, names);
      }
    }
    let footer = FOOTER_MARK;
    for (const [from, names] of imports) {
      footer += `import { ${names.join(', ')} } from '${from.specifier}';\n`;
    }
    const exported = [...file.declared.keys()];
    footer += exported.length > 0 ? `export { ${exported.join(', ')} };\n` : 'export {};\n';
    return footer;
  }

  private mapDiagnostic(file: CellFile, diagnostic: ts.Diagnostic, kind: EngineDiagnostic['kind']): EngineDiagnostic | undefined {
    const source = file.cell.source;
    let start = diagnostic.start ?? 0;
    let end = start + (diagnostic.length ?? 0);
    let message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
    if (diagnostic.code === CANNOT_ASSIGN_TO_IMPORT && start < source.length) {
      const name = source.slice(start, end);
      const declarer = this.declarerBefore(file, name);
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

  private declarerBefore(file: CellFile, name: string): CellFile | undefined {
    let found: CellFile | undefined;
    for (const other of this.order) {
      if (other === file) {
        break;
      }
      if (other.declared.has(name)) {
        found = other;
      }
    }
    return found;
  }

  private file(cellId: string): CellFile {
    this.checkOpen();
    const file = this.files.get(cellId);
    if (!file) {
      throw new Error(`no cell with id '${cellId}': give it to setCells first`);
    }
    return file;
  }

  private checkOpen(): void {
    if (this.disposed) {
      throw new Error('the language engine was disposed');
    }
  }
}

/**
 * Names a cell declares at top level, each with whether it can be assigned again later (`let`, `var`).
 * `declare global` and names the cell exports itself are left out.
 */
export function topLevelDeclarations(source: string, language: EngineCell['language']): Map<string, boolean> {
  const sourceFile = ts.createSourceFile(
    language === 'javascript' ? 'cell.js' : 'cell.ts',
    source,
    ts.ScriptTarget.ES2022,
    false,
    language === 'javascript' ? ts.ScriptKind.JS : ts.ScriptKind.TS,
  );
  const names = new Map<string, boolean>();
  const add = (name: string, assignable: boolean) => names.set(name, assignable);
  for (const statement of sourceFile.statements) {
    if (hasExportModifier(statement)) {
      continue;
    }
    if (ts.isVariableStatement(statement)) {
      const assignable = (statement.declarationList.flags & ts.NodeFlags.Const) === 0;
      for (const declaration of statement.declarationList.declarations) {
        for (const name of bindingNames(declaration.name)) {
          add(name, assignable);
        }
      }
    } else if (
      (ts.isFunctionDeclaration(statement) ||
        ts.isClassDeclaration(statement) ||
        ts.isInterfaceDeclaration(statement) ||
        ts.isTypeAliasDeclaration(statement) ||
        ts.isEnumDeclaration(statement)) &&
      statement.name
    ) {
      add(statement.name.text, false);
    } else if (ts.isModuleDeclaration(statement) && ts.isIdentifier(statement.name) && (statement.flags & ts.NodeFlags.GlobalAugmentation) === 0) {
      add(statement.name.text, false);
    } else if (ts.isImportDeclaration(statement) && statement.importClause) {
      const clause = statement.importClause;
      if (clause.name) {
        add(clause.name.text, false);
      }
      const bindings = clause.namedBindings;
      if (bindings && ts.isNamespaceImport(bindings)) {
        add(bindings.name.text, false);
      } else if (bindings && ts.isNamedImports(bindings)) {
        for (const element of bindings.elements) {
          add(element.name.text, false);
        }
      }
    } else if (ts.isImportEqualsDeclaration(statement)) {
      add(statement.name.text, false);
    }
  }
  return names;
}

function hasExportModifier(statement: ts.Statement): boolean {
  return ts.canHaveModifiers(statement) && (ts.getModifiers(statement) ?? []).some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
}

/** The @types folder that holds @types/node, as installed with this package. */
function nodeTypeRoot(typesDir: string): string {
  for (const from of [__dirname, typesDir]) {
    try {
      // createRequire, not require.resolve: webpack would resolve the latter at build time.
      return path.dirname(path.dirname(createRequire(path.join(from, 'index.js')).resolve('@types/node/package.json')));
    } catch {
      // try the next place
    }
  }
  return path.join(typesDir, '..', '..', 'node_modules', '@types');
}

/** Every identifier-like word of a text (comments and strings included: an extra import is harmless). */
function wordsOf(text: string): Set<string> {
  return new Set(text.match(/[\p{ID_Start}$_][\p{ID_Continue}$\u200c\u200d]*/gu) ?? []);
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
