/**
 * The virtual notebook of the language engine (see language-engine.ts for the rules it models): one module
 * file per cell, the cell's text followed by a generated footer that imports the names of earlier cells and
 * exports the cell's own. A file's version changes only when its text did.
 */
import * as path from 'node:path';
import ts from 'typescript';
import { topLevelDeclarations, wordsOf } from './cell-declarations';

const FOOTER_MARK = '\n;\n';
/**
 * Numbers of cell files, unique in the process: engines share one document registry, which keys files by
 * name and version, so two engines over the same folder must never both have a `__sfnb_cell_1.ts`.
 */
let cellFileCounter = 0;

/** A code cell of the notebook. */
export interface EngineCell {
  id: string;
  source: string;
  language: 'typescript' | 'javascript';
}

/** One cell's virtual file. */
export interface CellFile {
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

/** The cells' files of one engine, in notebook order. */
export class CellFiles {
  private readonly files = new Map<string, CellFile>();
  /** Files by absolute file name, for the language service host. */
  readonly byFileName = new Map<string, CellFile>();
  order: CellFile[] = [];
  /** Bumped whenever a file or the list of files changed. */
  projectVersion = 0;
  /** The cell completions were last asked for: its footer imports every visible name, not only the used ones. */
  completing: CellFile | undefined;

  constructor(private readonly notebookDir: string) {}

  /** The whole notebook's code cells, in the order the kernel runs them. Cheap when little changed. */
  set(cells: EngineCell[]): void {
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
  refreshFooters(): void {
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

  declarerBefore(file: CellFile, name: string): CellFile | undefined {
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

  get(cellId: string): CellFile {
    const file = this.files.get(cellId);
    if (!file) {
      throw new Error(`no cell with id '${cellId}': give it to setCells first`);
    }
    return file;
  }

  clear(): void {
    this.files.clear();
    this.byFileName.clear();
    this.order = [];
  }
}
