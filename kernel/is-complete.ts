/**
 * Is this code a complete cell, or does the user still type? Answered from the TypeScript scanner and
 * parser (Jupyter's `is_complete_request`, used by consoles to decide whether Enter runs the code).
 */
import ts from 'typescript';

/** `complete`: run it. `incomplete`: wait for more, indenting the next line by `indent`. `invalid`: a syntax error. */
export type Completeness = { status: 'complete' } | { status: 'incomplete'; indent: string } | { status: 'invalid' };

const OPENERS = new Set([ts.SyntaxKind.OpenBraceToken, ts.SyntaxKind.OpenParenToken, ts.SyntaxKind.OpenBracketToken]);
const CLOSERS = new Set([ts.SyntaxKind.CloseBraceToken, ts.SyntaxKind.CloseParenToken, ts.SyntaxKind.CloseBracketToken]);
/** A line ending in one of these continues on the next. */
const CONTINUATIONS = new Set([
  ts.SyntaxKind.CommaToken,
  ts.SyntaxKind.DotToken,
  ts.SyntaxKind.EqualsToken,
  ts.SyntaxKind.EqualsGreaterThanToken,
  ts.SyntaxKind.PlusToken,
  ts.SyntaxKind.MinusToken,
  ts.SyntaxKind.AsteriskToken,
  ts.SyntaxKind.SlashToken,
  ts.SyntaxKind.AmpersandAmpersandToken,
  ts.SyntaxKind.BarBarToken,
  ts.SyntaxKind.QuestionQuestionToken,
  ts.SyntaxKind.QuestionToken,
  ts.SyntaxKind.ColonToken,
]);

/** Scanner errors that mean the text simply stops early: unterminated comment (1010) or template (1160); an unterminated quote is an error, as a quote cannot span lines. */
const UNTERMINATED = new Set([1010, 1160]);

/** Classifies a cell's code. */
export function isComplete(code: string, language: 'typescript' | 'javascript' = 'typescript'): Completeness {
  if (code.trim() === '') {
    return { status: 'complete' };
  }
  const scanner = ts.createScanner(ts.ScriptTarget.Latest, /* skipTrivia */ true, ts.LanguageVariant.Standard, code);
  /** Open brackets, and `${` of templates (whose `}` continues the template), innermost last. */
  const open: ('bracket' | 'template')[] = [];
  let unbalanced = false;
  let unterminated = false;
  let last: ts.SyntaxKind = ts.SyntaxKind.Unknown;
  scanner.setOnError((message) => {
    if (UNTERMINATED.has(message.code)) {
      unterminated = true;
    }
  });
  for (let kind = scanner.scan(); kind !== ts.SyntaxKind.EndOfFileToken; kind = scanner.scan()) {
    if (kind === ts.SyntaxKind.TemplateHead) {
      open.push('template');
    } else if (kind === ts.SyntaxKind.CloseBraceToken && open[open.length - 1] === 'template') {
      kind = scanner.reScanTemplateToken(false);
      if (kind === ts.SyntaxKind.TemplateTail) open.pop();
    } else if (OPENERS.has(kind)) {
      open.push('bracket');
    } else if (CLOSERS.has(kind)) {
      if (open.pop() === undefined) unbalanced = true;
    }
    last = kind;
  }
  const depth = open.length;
  if (unbalanced) {
    return { status: 'invalid' };
  }
  if (unterminated || depth > 0 || CONTINUATIONS.has(last)) {
    const lastLine = code.slice(code.lastIndexOf('\n') + 1);
    const current = /^\s*/.exec(lastLine)?.[0] ?? '';
    const opensBlock = depth > 0 && /[{([]\s*$/.test(code);
    return { status: 'incomplete', indent: unterminated ? '' : opensBlock ? `${current}  ` : current };
  }
  const file = ts.createSourceFile(language === 'typescript' ? 'cell.ts' : 'cell.js', code, ts.ScriptTarget.Latest, false, language === 'typescript' ? ts.ScriptKind.TS : ts.ScriptKind.JS);
  const diagnostics = (file as unknown as { parseDiagnostics?: readonly ts.Diagnostic[] }).parseDiagnostics ?? [];
  return diagnostics.length > 0 ? { status: 'invalid' } : { status: 'complete' };
}
