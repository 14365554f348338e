/**
 * Maps stack frames of cell scripts back to the cell's own line and column, through the source map that
 * `transpileCell` made. Installed as `Error.prepareStackTrace` in the kernel thread, so every stack a
 * cell sees (thrown, logged or printed) names cells, not generated scripts.
 */
import { SourceMap } from 'node:module';

/** A position in a cell, 1-based. */
export interface CellLocation {
  cell: string;
  line: number;
  column: number;
}

interface CellScript {
  label: string;
  map: SourceMap | undefined;
  /** Generated line of the `})();` that starts the cell's async function: not a frame of the cell. */
  wrapperLine: number;
}

/** The source maps of every cell script run in this context, by script file name. */
export class CellSourceMaps {
  private readonly scripts = new Map<string, CellScript>();
  private readonly locations = new WeakMap<Error, CellLocation>();

  /** Registers the map of a script; `label` is how frames name the cell (e.g. `In [3]`). */
  register(fileName: string, label: string, sourceMap: string, code: string): void {
    let map: SourceMap | undefined;
    try {
      map = sourceMap ? new SourceMap(JSON.parse(sourceMap)) : undefined;
    } catch {
      map = undefined;
    }
    this.scripts.set(fileName, { label, map, wrapperLine: code.trimEnd().split('\n').length });
  }

  /** True when the file name is a cell script. */
  has(fileName: string | undefined | null): boolean {
    return fileName !== undefined && fileName !== null && this.scripts.has(fileName);
  }

  /** The cell position of a 1-based generated line and column, or undefined when not a cell script. */
  locate(fileName: string | undefined | null, line: number, column: number): CellLocation | undefined {
    if (fileName === undefined || fileName === null) {
      return undefined;
    }
    const script = this.scripts.get(fileName);
    if (!script) {
      return undefined;
    }
    const entry = script.map?.findEntry(line - 1, column - 1) as
      | { originalLine?: number; originalColumn?: number }
      | undefined;
    if (!entry || entry.originalLine === undefined || entry.originalColumn === undefined) {
      return { cell: script.label, line, column };
    }
    return { cell: script.label, line: entry.originalLine + 1, column: entry.originalColumn + 1 };
  }

  /**
   * A `prepareStackTrace` that writes cell frames as `at fn (In [3]:2:5)`; `isInternal` frames (the
   * kernel's own code) are left out.
   */
  stackFormatter(isInternal: (fileName: string) => boolean): (error: Error, frames: NodeJS.CallSite[]) => string {
    return (error, frames) => {
      const header = errorHeader(error);
      const first = this.firstCellLocation(frames);
      if (first && typeof error === 'object' && error !== null) {
        this.locations.set(error, first);
      }
      const lines: string[] = [];
      for (const frame of frames) {
        const fileName = frame.getFileName() ?? frame.getScriptNameOrSourceURL();
        if ((fileName && isInternal(fileName)) || this.isWrapperCall(fileName, frame.getLineNumber())) {
          continue;
        }
        const location = this.locate(fileName, frame.getLineNumber() ?? 0, frame.getColumnNumber() ?? 0);
        if (location) {
          const fn = frame.getFunctionName();
          const where = `${location.cell}:${location.line}:${location.column}`;
          const prefix = frame.isAsync() ? 'async ' : '';
          lines.push(fn ? `    at ${prefix}${fn} (${where})` : `    at ${prefix}${where}`);
        } else {
          lines.push(`    at ${frame.toString()}`);
        }
      }
      return [header, ...lines].join('\n');
    };
  }

  private isWrapperCall(fileName: string | undefined | null, line: number | null): boolean {
    const script = fileName ? this.scripts.get(fileName) : undefined;
    return script !== undefined && script.wrapperLine === line;
  }

  /** Where in a cell an error was thrown (known once its `stack` was read). */
  locationOf(error: Error): CellLocation | undefined {
    return this.locations.get(error);
  }

  /** The first cell position in an error's stack frames. */
  firstCellLocation(frames: readonly NodeJS.CallSite[]): CellLocation | undefined {
    for (const frame of frames) {
      const location = this.locate(frame.getFileName(), frame.getLineNumber() ?? 0, frame.getColumnNumber() ?? 0);
      if (location) {
        return location;
      }
    }
    return undefined;
  }
}

function errorHeader(error: Error): string {
  let name = 'Error';
  let message = '';
  try {
    name = error.name ?? 'Error';
    message = error.message ?? '';
  } catch {
    // A hostile getter: keep the defaults.
  }
  return message ? `${name}: ${message}` : name;
}
