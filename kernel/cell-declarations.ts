/**
 * What a cell's text declares and mentions at top level, as the kernel sees it: a cell's top-level
 * declarations become globals that later cells see (transpile.ts rewrites them so).
 */
import ts from 'typescript';
import { bindingNames, type CellLanguage } from './transpile';

/**
 * Names a cell declares at top level, each with whether it can be assigned again later (`let`, `var`).
 * `declare global` and names the cell exports itself are left out.
 */
export function topLevelDeclarations(source: string, language: CellLanguage): Map<string, boolean> {
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

/** Every identifier-like word of a text (comments and strings included: an extra import is harmless). */
export function wordsOf(text: string): Set<string> {
  return new Set(text.match(/[\p{ID_Start}$_][\p{ID_Continue}$\u200c\u200d]*/gu) ?? []);
}

