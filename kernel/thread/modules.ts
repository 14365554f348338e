/**
 * Module loading for cells: `require` and `import` resolve from the notebook's folder, CommonJS first and
 * ES modules through a real `import()`.
 */
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';

/** What the transpiled cells call (see transpile.ts, KERNEL_HELPERS) and the `require` of the prelude. */
export interface NotebookModules {
  require: NodeJS.Require;
  /** A cell's static `import`: CommonJS `require` first, ES modules through `import()`. */
  load(specifier: string): Promise<unknown>;
  /** `import()` from a cell. */
  dynamicImport(specifier: string): Promise<unknown>;
  /** The default export of a loaded module, as `import x from` sees it. */
  interopDefault(module: unknown): unknown;
}

/** Module loading that resolves from `notebookDir`. */
export function notebookModules(notebookDir: string): NotebookModules {
  const notebookRequire = createRequire(path.join(notebookDir, '__notebook__.js'));
  // A real `import()`: TypeScript's CommonJS output would turn a literal one into `require`.
  const nativeImport = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<unknown>;

  const dynamicImport = async (specifier: string): Promise<unknown> => {
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
  };

  const load = async (specifier: string): Promise<unknown> => {
    try {
      return notebookRequire(specifier);
    } catch (err) {
      if ((err as { code?: string }).code === 'ERR_REQUIRE_ESM') {
        return dynamicImport(specifier);
      }
      throw err;
    }
  };

  return { require: notebookRequire, load, dynamicImport, interopDefault };
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
