/**
 * Where the language engine's files come from: the cells' virtual files (engine-cells.ts) and, read once or
 * cached for a few seconds, the libraries, @types and the runtime's declarations on disk.
 */
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import ts from 'typescript';
import type { CellFiles } from './engine-cells';

/** The notebook prelude's declarations, in the types folder. */
export const PRELUDE_FILE = 'notebook-prelude.d.ts';
/** How long a file or folder found (or not) on disk is taken as such: a package installed meanwhile shows up after it. */
const DISK_CACHE_MS = 5000;

/** Where the runtime's declarations are, from this module's place in build/ or dist/. */
export function defaultTypesDir(fromDir: string = __dirname): string {
  const candidates = [
    path.join(fromDir, 'types'), // dist/extension.js, dist/cli.js: dist/types
    path.join(fromDir, '..', '..', 'dist', 'types'), // build/kernel/language-engine.js
    path.join(fromDir, '..', 'dist', 'types'), // kernel/ run from sources
  ];
  return candidates.find((dir) => fs.existsSync(path.join(dir, PRELUDE_FILE))) ?? candidates[0];
}

/** The @types folder that holds @types/node, as installed with this package. */
export function nodeTypeRoot(typesDir: string): string {
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

/** A disk lookup, remembered for DISK_CACHE_MS so an edit does not stat the same paths again. */
function cachedLookup(lookup: (p: string) => boolean): (target: string) => boolean {
  const cache = new Map<string, { exists: boolean; until: number }>();
  return (target) => {
    const now = Date.now();
    const known = cache.get(target);
    if (known && known.until > now) {
      return known.exists;
    }
    const exists = lookup(target);
    cache.set(target, { exists, until: now + DISK_CACHE_MS });
    return exists;
  };
}

/** The language service host over `cells`, the prelude and the disk. */
export function engineHost(
  cells: CellFiles,
  settings: { preludeFile: string; notebookDir: string; compilerOptions: ts.CompilerOptions },
): ts.LanguageServiceHost {
  const diskSnapshots = new Map<string, ts.IScriptSnapshot | undefined>();
  // What module resolution found on disk, for a few seconds: every new program asks again.
  const fileExists = cachedLookup(ts.sys.fileExists);
  const directoryExists = cachedLookup(ts.sys.directoryExists);
  const readFile = (fileName: string): string | undefined => cells.byFileName.get(path.resolve(fileName))?.text ?? ts.sys.readFile(fileName);
  return {
    getProjectVersion: () => String(cells.projectVersion),
    getScriptFileNames: () => [settings.preludeFile, ...cells.order.map((file) => file.fileName)],
    getScriptVersion: (fileName) => String(cells.byFileName.get(path.resolve(fileName))?.version ?? 0),
    getScriptSnapshot: (fileName) => {
      const file = cells.byFileName.get(path.resolve(fileName));
      if (file) {
        return file.snapshot;
      }
      // Libraries, @types and the runtime's declarations do not change while the engine lives: read once.
      const key = path.resolve(fileName);
      if (!diskSnapshots.has(key)) {
        const text = ts.sys.readFile(fileName);
        diskSnapshots.set(key, text === undefined ? undefined : ts.ScriptSnapshot.fromString(text));
      }
      return diskSnapshots.get(key);
    },
    getScriptKind: (fileName) => {
      const file = cells.byFileName.get(path.resolve(fileName));
      if (file) {
        return file.cell.language === 'javascript' ? ts.ScriptKind.JS : ts.ScriptKind.TS;
      }
      return ts.ScriptKind.Unknown;
    },
    getCurrentDirectory: () => settings.notebookDir,
    getCompilationSettings: () => settings.compilerOptions,
    getDefaultLibFileName: (options) => ts.getDefaultLibFilePath(options),
    fileExists: (fileName) => cells.byFileName.has(path.resolve(fileName)) || fileExists(fileName),
    readFile,
    readDirectory: ts.sys.readDirectory,
    directoryExists: (dir) => directoryExists(dir),
    getDirectories: ts.sys.getDirectories,
    realpath: ts.sys.realpath,
    useCaseSensitiveFileNames: () => ts.sys.useCaseSensitiveFileNames,
  };
}
