/**
 * Completions and inspection for `complete_request` / `inspect_request` from the language engine (the one
 * VS Code's typed cells use), over the cells this session ran plus the code being edited.
 */
import { LanguageEngine, type EngineCell } from '../language-engine';
import type { CellIntrospection, CompletionResult, InspectionResult } from './introspection';

const EDITED = '<edited>';

/** The language engine seen as Jupyter asks: one virtual notebook of executed cells, then the edited code. */
export class EngineIntrospection implements CellIntrospection {
  private engine: LanguageEngine | undefined;
  private failure: string | undefined;
  /** Executed cells in the order they ran; a cell run again (same id) moves to the end with its new source. */
  private cells: EngineCell[] = [];
  private anonymous = 0;

  constructor(private readonly options: { notebookDir?: string; typesDir?: string; log?: (line: string) => void } = {}) {}

  cellExecuted(source: string, cellId?: string): void {
    const id = cellId ?? `ran-${++this.anonymous}`;
    this.cells = this.cells.filter((cell) => cell.id !== id);
    this.cells.push({ id, source, language: 'typescript' });
  }

  reset(): void {
    this.cells = [];
  }

  complete(code: string, offset: number): CompletionResult {
    const engine = this.withCode(code);
    if (!engine) return { matches: [], start: offset, end: offset, types: [] };
    const result = engine.completions(EDITED, offset);
    const prefix = code.slice(result.start, Math.min(offset, result.end));
    const entries = result.entries
      .filter((entry) => entry.name.startsWith(prefix))
      .sort((a, b) => (a.sortText === b.sortText ? a.name.localeCompare(b.name) : a.sortText < b.sortText ? -1 : 1));
    return {
      matches: entries.map((entry) => entry.insertText ?? entry.name),
      start: result.start,
      end: result.end,
      types: entries.map((entry) => ({
        text: entry.insertText ?? entry.name,
        type: entry.kind,
        start: result.start,
        end: result.end,
        ...(entry.detail ? { signature: entry.detail } : {}),
      })),
    };
  }

  inspect(code: string, offset: number): InspectionResult | undefined {
    const engine = this.withCode(code);
    // The cursor usually sits just after the name (`client|`): look one character back too.
    const info = engine?.quickInfo(EDITED, offset) ?? (offset > 0 ? engine?.quickInfo(EDITED, offset - 1) : undefined);
    return info ? { text: info.text, documentation: info.documentation } : undefined;
  }

  dispose(): void {
    this.engine?.dispose();
    this.engine = undefined;
  }

  private withCode(code: string): LanguageEngine | undefined {
    if (this.failure !== undefined) return undefined;
    try {
      this.engine ??= new LanguageEngine({ notebookDir: this.options.notebookDir, typesDir: this.options.typesDir });
    } catch (err) {
      this.failure = (err as Error).message;
      this.options.log?.(`no completions or inspection: ${this.failure}`);
      return undefined;
    }
    this.engine.setCells([...this.cells, { id: EDITED, source: code, language: 'typescript' }]);
    return this.engine;
  }
}
