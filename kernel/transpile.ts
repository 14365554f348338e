/**
 * Turns one notebook cell (TypeScript or JavaScript) into a script for the kernel's persistent context.
 *
 * The cell runs inside an async arrow function so that top-level `await` works; its top-level
 * declarations (`const`, `let`, `var`, `function`, `class`, `import`, enums, namespaces) are rewritten into
 * assignments to names declared with `var` outside that function, at the top level of the script. A
 * top-level `var` of a script is a property of the context's global object, so later cells see the names
 * and a re-run may declare them again. The value of a final expression statement is returned as `{ v }`
 * (wrapped so that a thenable result is shown, not awaited).
 *
 * The rewrite is a TypeScript `after` transformer, so `transpileModule` emits one source map from the cell
 * text straight to the script that runs, and stack traces map back to the cell's own lines and columns.
 */
import ts from 'typescript';

/** Language of a cell. */
export type CellLanguage = 'typescript' | 'javascript';

/** The cell language a front-end names: 'javascript' or 'js', else TypeScript (the default). */
export function cellLanguage(language: string | undefined): CellLanguage {
  switch ((language ?? 'typescript').toLowerCase()) {
    case 'javascript':
    case 'js':
      return 'javascript';
    default:
      return 'typescript';
  }
}

/** Name of the global helper object the rewritten code calls (module loading, interop). */
export const KERNEL_HELPERS = '__sharedFuturesKernel';

/** A problem found before running: a syntax error, at a 1-based line and column of the cell. */
export interface CellDiagnostic {
  message: string;
  line: number;
  column: number;
}

/** What `transpileCell` produces. */
export interface TranspiledCell {
  /** The script to run with `vm.runInThisContext`; its completion value is a Promise of `{ v } | undefined`. */
  code: string;
  /** Source map (v3, JSON text) from `code` back to the cell text. */
  sourceMap: string;
  /** Names the cell declares at top level (they become globals of the kernel context). */
  declared: string[];
  /** Syntax errors; when non-empty, `code` must not be run. */
  diagnostics: CellDiagnostic[];
}

const COMPILER_OPTIONS: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.ESNext,
  moduleDetection: ts.ModuleDetectionKind.Force,
  // Keep every import as written: an import used only in a later cell must still run.
  verbatimModuleSyntax: true,
  sourceMap: true,
  inlineSources: false,
  esModuleInterop: true,
  allowJs: true,
  experimentalDecorators: false,
  removeComments: false,
};

/** Transpiles a cell; `fileName` names it in the source map and in stack traces. */
export function transpileCell(source: string, language: CellLanguage, fileName: string): TranspiledCell {
  const declared = new Set<string>();
  const output = ts.transpileModule(source, {
    fileName: language === 'javascript' ? `${fileName}.js` : `${fileName}.ts`,
    compilerOptions: COMPILER_OPTIONS,
    reportDiagnostics: true,
    transformers: { after: [persistentContextTransformer(declared)] },
  });
  const diagnostics = (output.diagnostics ?? [])
    .filter((d) => d.category === ts.DiagnosticCategory.Error)
    .map((d) => toCellDiagnostic(d));
  // transpileModule appends a sourceMappingURL comment naming a file that does not exist; drop it.
  const code = output.outputText.replace(/\n\/\/# sourceMappingURL=.*\s*$/, '\n');
  return { code, sourceMap: output.sourceMapText ?? '', declared: [...declared], diagnostics };
}

function toCellDiagnostic(diagnostic: ts.Diagnostic): CellDiagnostic {
  const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
  if (diagnostic.file && diagnostic.start !== undefined) {
    const { line, character } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
    return { message, line: line + 1, column: character + 1 };
  }
  return { message, line: 1, column: 1 };
}

function persistentContextTransformer(declared: Set<string>): ts.TransformerFactory<ts.SourceFile> {
  return (context) => (sourceFile) => rewriteSourceFile(sourceFile, context, declared);
}

function rewriteSourceFile(sourceFile: ts.SourceFile, context: ts.TransformationContext, declared: Set<string>): ts.SourceFile {
  const f = context.factory;
  const hoisted: ts.Statement[] = [];
  const body: ts.Statement[] = [];
  let moduleCounter = 0;

  const declare = (name: string) => declared.add(name);
  const assign = (target: ts.Expression, value: ts.Expression, range: ts.TextRange): ts.Statement =>
    ts.setTextRange(f.createExpressionStatement(f.createAssignment(target, value)), range);

  const statements = sourceFile.statements;
  // `export {}` is what TypeScript adds to mark a module; it is not the cell's last statement.
  const lastIndex = findLastIndex(statements, (s) => !ts.isEmptyStatement(s) && !ts.isExportDeclaration(s));

  statements.forEach((statement, index) => {
    const visited = ts.visitEachChild(statement, dynamicImportVisitor(context), context);
    const isLast = index === lastIndex;

    if (ts.isVariableStatement(visited)) {
      const isVar = (visited.declarationList.flags & ts.NodeFlags.BlockScoped) === 0;
      for (const decl of visited.declarationList.declarations) {
        for (const name of bindingNames(decl.name)) {
          declare(name);
        }
        if (decl.initializer) {
          body.push(assign(bindingToAssignmentTarget(f, decl.name), decl.initializer, decl));
        } else if (!isVar && ts.isIdentifier(decl.name)) {
          // `let x;` re-run must reset x, as a fresh declaration would.
          body.push(assign(f.createIdentifier(decl.name.text), f.createVoidZero(), decl));
        }
      }
      return;
    }
    if (ts.isFunctionDeclaration(visited)) {
      if (!visited.body || !visited.name) {
        return;
      }
      declare(visited.name.text);
      const expression = f.createFunctionExpression(
        visited.modifiers?.filter((m) => m.kind === ts.SyntaxKind.AsyncKeyword) as ts.Modifier[] | undefined,
        visited.asteriskToken,
        visited.name,
        visited.typeParameters,
        visited.parameters,
        visited.type,
        visited.body,
      );
      ts.setTextRange(expression, visited);
      // Function declarations are hoisted: define them before the rest of the cell runs.
      hoisted.push(assign(f.createIdentifier(visited.name.text), expression, visited));
      return;
    }
    if (ts.isClassDeclaration(visited) && visited.name) {
      declare(visited.name.text);
      const expression = f.createClassExpression(
        visited.modifiers?.filter((m) => ts.isDecorator(m)),
        visited.name,
        visited.typeParameters,
        visited.heritageClauses,
        visited.members,
      );
      ts.setTextRange(expression, visited);
      body.push(assign(f.createIdentifier(visited.name.text), expression, visited));
      return;
    }
    if (ts.isImportDeclaration(visited)) {
      body.push(...rewriteImport(f, visited, `__sfModule${moduleCounter++}`, declare));
      return;
    }
    if (ts.isExportDeclaration(visited)) {
      return;
    }
    if (ts.isExportAssignment(visited)) {
      body.push(isLast ? returnValue(f, visited.expression, visited) : ts.setTextRange(f.createExpressionStatement(visited.expression), visited));
      return;
    }
    if (isLast && ts.isExpressionStatement(visited) && ts.isExpressionStatement(ts.getOriginalNode(statement))) {
      body.push(returnValue(f, visited.expression, visited));
      return;
    }
    body.push(visited);
  });

  const names = [...declared];
  const wrapper = f.createExpressionStatement(
    f.createCallExpression(
      f.createParenthesizedExpression(
        f.createArrowFunction(
          [f.createModifier(ts.SyntaxKind.AsyncKeyword)],
          undefined,
          [],
          undefined,
          f.createToken(ts.SyntaxKind.EqualsGreaterThanToken),
          f.createBlock([...hoisted, ...body], true),
        ),
      ),
      undefined,
      [],
    ),
  );
  const top: ts.Statement[] = [];
  if (names.length > 0) {
    top.push(
      f.createVariableStatement(
        undefined,
        f.createVariableDeclarationList(names.map((name) => f.createVariableDeclaration(name))),
      ),
    );
  }
  top.push(wrapper);
  return f.updateSourceFile(sourceFile, top);
}

function returnValue(f: ts.NodeFactory, expression: ts.Expression, range: ts.TextRange): ts.Statement {
  return ts.setTextRange(
    f.createReturnStatement(f.createObjectLiteralExpression([f.createPropertyAssignment('v', expression)])),
    range,
  );
}

/** `import()` in a vm script has no loader; route it through the kernel's helper. */
function dynamicImportVisitor(context: ts.TransformationContext): ts.Visitor {
  const f = context.factory;
  const visit: ts.Visitor = (node) => {
    if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const args = node.arguments.map((arg) => ts.visitNode(arg, visit) as ts.Expression);
      return ts.setTextRange(
        f.createCallExpression(helper(f, 'dynamicImport'), undefined, args.slice(0, 1)),
        node,
      );
    }
    return ts.visitEachChild(node, visit, context);
  };
  return visit;
}

function helper(f: ts.NodeFactory, name: string): ts.Expression {
  return f.createPropertyAccessExpression(f.createIdentifier(KERNEL_HELPERS), name);
}

function rewriteImport(
  f: ts.NodeFactory,
  node: ts.ImportDeclaration,
  temp: string,
  declare: (name: string) => void,
): ts.Statement[] {
  const load = f.createAwaitExpression(f.createCallExpression(helper(f, 'load'), undefined, [node.moduleSpecifier]));
  const clause = node.importClause;
  if (!clause || clause.isTypeOnly) {
    return clause ? [] : [ts.setTextRange(f.createExpressionStatement(load), node)];
  }
  const out: ts.Statement[] = [];
  const module = f.createIdentifier(temp);
  out.push(
    ts.setTextRange(
      f.createVariableStatement(undefined, f.createVariableDeclarationList([f.createVariableDeclaration(temp, undefined, undefined, load)], ts.NodeFlags.Const)),
      node,
    ),
  );
  if (clause.name) {
    declare(clause.name.text);
    out.push(
      ts.setTextRange(
        f.createExpressionStatement(
          f.createAssignment(f.createIdentifier(clause.name.text), f.createCallExpression(helper(f, 'interopDefault'), undefined, [module])),
        ),
        clause.name,
      ),
    );
  }
  const bindings = clause.namedBindings;
  if (bindings && ts.isNamespaceImport(bindings)) {
    declare(bindings.name.text);
    out.push(ts.setTextRange(f.createExpressionStatement(f.createAssignment(f.createIdentifier(bindings.name.text), module)), bindings));
  } else if (bindings) {
    for (const element of bindings.elements) {
      if (element.isTypeOnly) {
        continue;
      }
      declare(element.name.text);
      const imported = element.propertyName ?? element.name;
      const access = ts.isIdentifier(imported)
        ? f.createPropertyAccessExpression(module, imported.text)
        : f.createElementAccessExpression(module, f.createStringLiteral(imported.text));
      out.push(ts.setTextRange(f.createExpressionStatement(f.createAssignment(f.createIdentifier(element.name.text), access)), element));
    }
  }
  return out;
}

/** Every identifier a binding name introduces. */
export function bindingNames(name: ts.BindingName): string[] {
  if (ts.isIdentifier(name)) {
    return [name.text];
  }
  const names: string[] = [];
  for (const element of name.elements) {
    if (ts.isBindingElement(element)) {
      names.push(...bindingNames(element.name));
    }
  }
  return names;
}

/** `{ a, b: [c = 1], ...r }` as a binding becomes the same shape as an assignment target. */
function bindingToAssignmentTarget(f: ts.NodeFactory, name: ts.BindingName): ts.Expression {
  if (ts.isIdentifier(name)) {
    return f.createIdentifier(name.text);
  }
  if (ts.isObjectBindingPattern(name)) {
    const properties = name.elements.map((element): ts.ObjectLiteralElementLike => {
      if (element.dotDotDotToken) {
        return f.createSpreadAssignment(bindingToAssignmentTarget(f, element.name));
      }
      if (!element.propertyName && ts.isIdentifier(element.name)) {
        return f.createShorthandPropertyAssignment(element.name.text, element.initializer);
      }
      const target = bindingToAssignmentTarget(f, element.name);
      const value = element.initializer ? f.createAssignment(target, element.initializer) : target;
      const key = element.propertyName ?? (element.name as ts.Identifier);
      return f.createPropertyAssignment(key as ts.PropertyName, value);
    });
    return f.createObjectLiteralExpression(properties, false);
  }
  const elements = name.elements.map((element): ts.Expression => {
    if (ts.isOmittedExpression(element)) {
      return f.createOmittedExpression();
    }
    const target = bindingToAssignmentTarget(f, element.name);
    if (element.dotDotDotToken) {
      return f.createSpreadElement(target);
    }
    return element.initializer ? f.createAssignment(target, element.initializer) : target;
  });
  return f.createArrayLiteralExpression(elements, false);
}

function findLastIndex<T>(items: readonly T[], predicate: (item: T) => boolean): number {
  for (let i = items.length - 1; i >= 0; i--) {
    if (predicate(items[i])) {
      return i;
    }
  }
  return -1;
}
