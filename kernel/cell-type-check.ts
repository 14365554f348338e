/**
 * The kernel's type check of a cell before it runs: the cell is checked after the cells that ran before
 * (each with its latest source), under the same rules as while typing (language-engine.ts), and the outcome
 * is what the cell's output says: nothing, a warning to show first, or the error that stops it.
 */
import { createHash } from 'node:crypto';
import type { ErrorOutput, TypeCheckMode } from './kernel-types';
import { topLevelDeclarations } from './cell-declarations';
import { LanguageEngine, type EngineCell, type EngineDiagnostic } from './language-engine';
import type { CellLanguage } from './transpile';

/** What the check says about a cell about to run. */
export interface TypeCheckVerdict {
  /** Said once per kernel, on the first run after the check became impossible (no declarations, say). */
  notice?: string;
  /** Type errors in `warn` mode: shown on stderr before the cell runs. */
  warning?: string;
  /** Type errors in `block` mode: the cell does not run. */
  blocked?: ErrorOutput;
}

type RanCell = EngineCell & { names: string[] };

/** The type check of one kernel: its language engine (made on first use) and the cells that ran. */
export class CellTypeCheck {
  private engine: LanguageEngine | undefined;
  private failure: string | undefined;
  private failureShown = false;
  private ranCells: RanCell[] = [];

  constructor(private readonly options: { typesDir?: string; notebookDir: string }) {}

  /** Why cells cannot be type-checked, when that is so. */
  get unavailable(): string | undefined {
    return this.failure;
  }

  /** A fresh context: nothing declared yet. */
  reset(): void {
    this.ranCells = [];
  }

  dispose(): void {
    this.engine?.dispose();
    this.engine = undefined;
  }

  /** Checks a cell about to run as `In [n]` (`label`), and records it as run unless it is blocked. */
  verdict(source: string, language: CellLanguage, mode: TypeCheckMode, label: string, cellId: string | undefined): TypeCheckVerdict {
    const errors = this.check(source, language, mode, cellId);
    const verdict: TypeCheckVerdict = {};
    if (this.failure !== undefined && !this.failureShown) {
      this.failureShown = true;
      verdict.notice = `Cells are not type-checked: ${this.failure}\n`;
    }
    if (errors.length === 0) {
      return verdict;
    }
    const lines = errors.map((d) => `    at ${label}:${d.line + 1}:${d.column + 1} ${d.message} (TS${d.code})`);
    const count = errors.length === 1 ? 'a type error' : `${errors.length} type errors`;
    if (mode === 'block') {
      const first = errors[0];
      verdict.blocked = {
        ename: 'TypeError',
        evalue: `the cell was not run: it has ${count} (type check: block). ${first.message}`,
        traceback: [`TypeError: the cell was not run: it has ${count} (type check: block)`, ...lines],
        location: { cell: label, line: first.line + 1, column: first.column + 1 },
      };
    } else {
      verdict.warning = `The cell has ${count}; it runs anyway (type check: warn):\n${lines.join('\n')}\n`;
    }
    return verdict;
  }

  /**
   * Type errors of the cell about to run, seen after the cells that ran before. A cell with errors still
   * joins the history when it runs.
   */
  private check(source: string, language: CellLanguage, mode: TypeCheckMode, cellId: string | undefined): EngineDiagnostic[] {
    // A front-end that sends no cell id (classic Notebook, a script): the same text is taken as the same cell
    // run again, so re-running it replaces its earlier run instead of growing the checked history.
    const id = cellId ?? `anonymous-${createHash('sha1').update(source).digest('hex').slice(0, 16)}`;
    const cell: EngineCell = { id, source, language };
    const history = this.ranCells.filter((c) => c.id !== id);
    if (mode !== 'block') {
      this.remember(history, cell);
    }
    if (mode === 'off' || this.failure !== undefined) {
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
      this.failure = err instanceof Error ? err.message : String(err);
      this.dispose();
      return [];
    }
  }

  /**
   * Keeps `cell` as the newest run for later checks. Only what later cells can see matters: a cell that
   * declares nothing (`1 + 1`, `await f.result()`) is not kept, nor one whose every name a later cell declared
   * again, so the history stays as small as the notebook's state, however many cells run.
   */
  private remember(history: RanCell[], cell: EngineCell): void {
    const names = [...topLevelDeclarations(cell.source, cell.language).keys()];
    const kept = names.length > 0 ? [...history, { ...cell, names }] : history;
    const later = new Set<string>();
    const pruned: RanCell[] = [];
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
}
