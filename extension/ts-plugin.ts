/**
 * The TypeScript server plugin `shared-futures-ts-plugin` (contributed with `typescriptServerPlugins`): it
 * makes VS Code's own TypeScript features (completion, hover, signature help, go to definition) know the
 * notebook prelude in cells of our notebooks.
 *
 * Why a plugin rather than our own completion and hover providers: VS Code's TypeScript server already
 * serves notebook cells (they share one inferred project, so cross-cell names resolve); providers of ours
 * would run beside it and duplicate or contradict every suggestion and hover. The plugin only adds one root
 * file to the projects holding cells of our notebooks: dist/types/notebook-prelude.d.ts, which declares
 * `client`, `Client`, `display`… with the runtime's declarations (so go to definition lands in them). It also
 * ranks `submit`, `channel`, `map` first after `client.`, and the prelude's names first among globals.
 * Type errors are not its business: VS Code hides semantic errors in notebook cells, and TypeScript's
 * script view of cells does not follow the kernel's rules; the extension checks cells with the language
 * engine instead (extension/typed-cells.ts).
 *
 * Which notebooks are ours: every `.sfnb`, and the `.ipynb` notebooks for which our controller is selected,
 * which the extension sends with `configurePlugin` (see TypedCells). Bundled by webpack into
 * ts-plugin/index.js (the `shared-futures-ts-plugin` package the manifest names); it uses the server's own
 * TypeScript and imports nothing else at run time.
 */
import * as path from 'node:path';
import type * as ts from 'typescript';
import { preferClientMembers, preferPreludeNames } from '../kernel/completion-order';
import { TS_PLUGIN_NAME, type TsPluginConfiguration } from './ts-plugin-config';


const CELL_SCHEME = '/vscode-notebook-cell/';

function init(modules: { typescript: typeof ts }): ts.server.PluginModule {
  const typescript = modules.typescript;
  let ipynb = new Set<string>();
  const projects = new Set<ts.server.Project>();

  /** The notebook path of a cell's file name as the server sees it (`^/vscode-notebook-cell/<authority>/path#cell`). */
  const notebookPathOf = (fileName: string): string | undefined => {
    const at = fileName.indexOf(CELL_SCHEME);
    if (at < 0) {
      return undefined;
    }
    const rest = fileName.slice(at + CELL_SCHEME.length);
    const slash = rest.indexOf('/');
    const hash = rest.indexOf('#');
    return slash < 0 ? undefined : rest.slice(slash, hash < 0 ? undefined : hash);
  };
  const isOurCell = (fileName: string): boolean => {
    const notebook = notebookPathOf(fileName);
    return notebook !== undefined && (notebook.endsWith('.sfnb') || ipynb.has(notebook) || ipynb.has(decodeURIComponent(notebook)));
  };

  return {
    create(info) {
      // ts-plugin/index.js in the repository (node_modules/shared-futures-ts-plugin links to it), a real
      // node_modules/shared-futures-ts-plugin/ folder in the installed extension.
      const candidates = [path.join(__dirname, '..'), path.join(__dirname, '..', '..')].map((root) => path.join(root, 'dist', 'types', 'notebook-prelude.d.ts'));
      const preludeFile = candidates.find((file) => typescript.sys.fileExists(file)) ?? candidates[0];
      const host = info.languageServiceHost;
      const project = info.project;
      projects.add(project);
      const log = (message: string) => project.projectService.logger.info(`[${TS_PLUGIN_NAME}] ${message}`);
      const exists = typescript.sys.fileExists(preludeFile);
      log(exists ? `prelude ${preludeFile}` : `the prelude ${preludeFile} is missing: cells get no Shared Futures types`);

      const scriptFileNames = host.getScriptFileNames.bind(host);
      host.getScriptFileNames = () => {
        const names = scriptFileNames();
        return exists && names.some(isOurCell) && !names.includes(preludeFile) ? [...names, preludeFile] : names;
      };

      const service = info.languageService;
      const proxy = Object.create(null) as ts.LanguageService;
      for (const key of Object.keys(service) as (keyof ts.LanguageService)[]) {
        const member = service[key];
        (proxy as unknown as Record<string, unknown>)[key] = typeof member === 'function' ? (...args: unknown[]) => (member as (...a: unknown[]) => unknown).apply(service, args) : member;
      }
      proxy.getCompletionsAtPosition = (fileName, position, options, formatting) => {
        const result = service.getCompletionsAtPosition(fileName, position, options, formatting);
        if (!result || !isOurCell(fileName)) {
          return result;
        }
        const entries = result.isMemberCompletion ? preferClientMembers(result.entries, true) : preferPreludeNames(result.entries);
        return { ...result, entries };
      };
      return proxy;
    },
    onConfigurationChanged(config: Partial<TsPluginConfiguration>) {
      ipynb = new Set(Array.isArray(config.notebooks) ? config.notebooks : []);
      for (const project of projects) {
        if (project.isClosed()) {
          projects.delete(project);
        } else {
          // markAsDirty is not in the public declarations, but every server version has it.
          (project as unknown as { markAsDirty?: () => void }).markAsDirty?.();
          project.refreshDiagnostics();
        }
      }
    },
  };
}

export = init;
