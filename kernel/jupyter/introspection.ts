/**
 * What `complete_request` and `inspect_request` need from the language side, in Jupyter's terms.
 * Offsets here are UTF-16 indices into the code; the handlers convert Jupyter's code-point cursors.
 */

/** Completion matches for the code being edited. */
export interface CompletionResult {
  matches: string[];
  /** The span of the code the chosen match replaces. */
  start: number;
  end: number;
  /** Kinds per match, for front-ends that show them (`_jupyter_types_experimental`). */
  types: { text: string; type: string; start: number; end: number; signature?: string }[];
}

/** Types and docs of the name under the cursor. */
export interface InspectionResult {
  /** The signature or type, e.g. `const x: number`. */
  text: string;
  documentation: string;
}

/** Completions and inspection aware of the cells this session ran. */
export interface CellIntrospection {
  /** A cell ran: later completions see its declarations. `cellId` (JupyterLab sends one) replaces its earlier run. */
  cellExecuted(source: string, cellId?: string): void;
  /** Forget every executed cell (the kernel's state was cleared). */
  reset(): void;
  complete(code: string, offset: number): CompletionResult;
  inspect(code: string, offset: number): InspectionResult | undefined;
  dispose(): void;
}

/** UTF-16 units of the code point at `index` of `text`: 2 for a surrogate pair, else 1. */
function codePointWidth(text: string, index: number): number {
  const code = text.charCodeAt(index);
  return code >= 0xd800 && code <= 0xdbff && index + 1 < text.length ? 2 : 1;
}

/** Converts a cursor in Unicode code points (Jupyter ≥ 5.2) to a UTF-16 index into `text`. */
export function codePointToIndex(text: string, cursor: number): number {
  let index = 0;
  for (let points = 0; points < cursor && index < text.length; points++) index += codePointWidth(text, index);
  return index;
}

/** Converts a UTF-16 index into `text` to Unicode code points. */
export function indexToCodePoint(text: string, index: number): number {
  let points = 0;
  for (let i = 0; i < index && i < text.length; points++) i += codePointWidth(text, i);
  return points;
}
