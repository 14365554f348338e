// Checks the direction of every import between the project's folders and that no import closes a cycle.
// Run by `npm run lint`. The layers (README, "Layout") are:
//   extension → kernel → scheduler        cli → kernel, scheduler        media → message modules only
// and inside the runtime, scheduler/<role>/ may import only the roles listed for it in SCHEDULER_ROLES.
// Type-only imports count: they say what a module is written against, and a wrong-way type import is the
// first step of a wrong-way value import. A module is one .ts file; `scheduler/index.ts` is the public API.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Which top-level folders each layer may import from (itself included). Unlisted folders are not checked. */
const LAYERS = {
  scheduler: ['scheduler'],
  kernel: ['kernel', 'scheduler'],
  extension: ['extension', 'kernel', 'scheduler'],
  cli: ['cli', 'kernel', 'scheduler'],
  media: ['media'],
};

/** The only modules webview code (media/) may import: the messages it exchanges with the extension and kernel. */
const MESSAGE_MODULES = new Set(['extension/dashboard-rpc.ts', 'kernel/status-view.ts']);

/** Roles of the runtime, each with the roles it may import (besides its own). Lowest first. */
const SCHEDULER_ROLES = {
  util: [],
  protocol: ['util'],
  core: ['protocol', 'util'],
  transport: ['protocol', 'util'],
  wire: ['protocol', 'transport', 'util'],
  client: ['protocol', 'transport', 'wire', 'util'],
  worker: ['protocol', 'transport', 'wire', 'client', 'util'],
  server: ['protocol', 'core', 'transport', 'wire', 'worker', 'client', 'util'],
};

function listTs(root, dir) {
  const out = [];
  for (const entry of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
    const rel = path.posix.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listTs(root, rel));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) out.push(rel);
  }
  return out;
}

/** Relative module specifiers a file imports: static imports and re-exports, `import()` and `require()`. */
function importsOf(root, file) {
  const text = fs.readFileSync(path.join(root, file), 'utf8');
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const specs = [];
  const visit = (node) => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      specs.push({ spec: node.moduleSpecifier.text, line: source.getLineAndCharacterOfPosition(node.getStart()).line + 1 });
    } else if (ts.isCallExpression(node) && node.arguments.length === 1 && ts.isStringLiteral(node.arguments[0])
      && (node.expression.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(node.expression) && node.expression.text === 'require'))) {
      specs.push({ spec: node.arguments[0].text, line: source.getLineAndCharacterOfPosition(node.getStart()).line + 1 });
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      specs.push({ spec: node.argument.literal.text, line: source.getLineAndCharacterOfPosition(node.getStart()).line + 1 });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return specs.filter((s) => s.spec.startsWith('.'));
}

function resolve(root, from, spec) {
  const base = path.posix.normalize(path.posix.join(path.posix.dirname(from), spec));
  for (const candidate of [base + '.ts', base + '/index.ts', base]) {
    if (candidate.endsWith('.ts') && fs.existsSync(path.join(root, candidate))) return candidate;
  }
  return undefined;
}

/** Checks the tree at `root`: the modules it looked at, and every problem found (empty when all is well). */
export function checkLayers(root = projectRoot) {
  const layerOf = (file) => file.split('/')[0];
  const roleOf = (file) => {
    const parts = file.split('/');
    return parts.length > 2 ? parts[1] : undefined; // scheduler/index.ts has no role: it is the public surface
  };

  const problems = [];
  const graph = new Map();
  const files = Object.keys(LAYERS).flatMap((dir) => (fs.existsSync(path.join(root, dir)) ? listTs(root, dir) : []));
  for (const file of files) {
    const edges = [];
    for (const { spec, line } of importsOf(root, file)) {
      const target = resolve(root, file, spec);
      const where = `${file}:${line}`;
      if (target === undefined) {
        problems.push(`${where}: cannot resolve '${spec}'`);
        continue;
      }
      edges.push(target);
      const from = layerOf(file);
      const to = layerOf(target);
      if (from === 'media') {
        if (to !== 'media' && !MESSAGE_MODULES.has(target)) problems.push(`${where}: media/ may import only the message modules (${[...MESSAGE_MODULES].join(', ')}), not ${target}`);
      } else if (LAYERS[to] && !LAYERS[from].includes(to)) {
        problems.push(`${where}: ${from}/ must not import ${to}/ (${target}); the arrows are extension → kernel → scheduler, cli → kernel, scheduler`);
      }
      if (from === 'scheduler' && to === 'scheduler') {
        const fromRole = roleOf(file);
        const toRole = roleOf(target);
        if (toRole === undefined && fromRole !== undefined) problems.push(`${where}: scheduler/${fromRole}/ must not import the public surface ${target}`);
        else if (fromRole && toRole && fromRole !== toRole) {
          const allowed = SCHEDULER_ROLES[fromRole];
          if (!allowed) problems.push(`${where}: scheduler/${fromRole}/ is not a known role; add it to SCHEDULER_ROLES in scripts/check-layers.mjs`);
          else if (!allowed.includes(toRole)) problems.push(`${where}: scheduler/${fromRole}/ must not import scheduler/${toRole}/ (${target}); ${fromRole} may import ${allowed.join(', ') || 'nothing else'}`);
        }
      }
    }
    graph.set(file, edges);
  }

  // Message modules are loaded by webviews: they must not pull in Node, vscode or the rest of the extension.
  for (const file of MESSAGE_MODULES) {
    if (!fs.existsSync(path.join(root, file))) continue;
    const text = fs.readFileSync(path.join(root, file), 'utf8');
    for (const { spec, line } of importsOf(root, file)) {
      const statement = text.split('\n')[line - 1] ?? '';
      if (!/^\s*(import|export) type\b/.test(statement)) problems.push(`${file}:${line}: a message module may only import types ('${spec}')`);
    }
  }

  // Cycles: Tarjan's strongly connected components over every import.
  let index = 0;
  const stack = [];
  const meta = new Map();
  const cycles = [];
  function connect(v) {
    const m = { index, low: index, onStack: true };
    index++;
    meta.set(v, m);
    stack.push(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      const mw = meta.get(w);
      if (mw === undefined) {
        connect(w);
        m.low = Math.min(m.low, meta.get(w).low);
      } else if (mw.onStack) m.low = Math.min(m.low, mw.index);
    }
    if (m.low === m.index) {
      const component = [];
      let w;
      do {
        w = stack.pop();
        meta.get(w).onStack = false;
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) cycles.push(component.sort());
    }
  }
  for (const v of graph.keys()) if (!meta.has(v)) connect(v);
  for (const cycle of cycles) problems.push(`import cycle: ${cycle.join(' ↔ ')}`);
  return { modules: files.length, problems };
}

// As a command: the project, or the folder given as the argument.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { modules, problems } = checkLayers(process.argv[2] ? path.resolve(process.argv[2]) : projectRoot);
  if (problems.length > 0) {
    for (const p of problems) console.error(p);
    console.error(`check-layers: ${problems.length} problem(s); see the layout in README.md`);
    process.exit(1);
  }
  console.log(`check-layers: ${modules} modules, imports point one way, no cycles`);
}
