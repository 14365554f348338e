/**
 * Reads and writes `.sfnb` notebooks: nbformat 4 JSON, so Jupyter tools read them too.
 *
 * Whatever the serializer does not understand (notebook metadata, cell metadata, unknown cell keys,
 * unknown output types) is carried through untouched. When nothing changed, `serializeNotebook` returns
 * the very text that was parsed, byte for byte; otherwise it writes in the style the file had (indent,
 * key order, sources as line arrays or strings, final newline), which is Jupyter's style for new files.
 */
import { isDeepStrictEqual } from 'node:util';

/** A JSON value as it appears in a notebook file. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
/** A JSON object. */
export type JsonObject = { [key: string]: JsonValue };

/** A `text/*` mime value may be stored as one string or as a list of lines. */
export type MimeBundle = { [mime: string]: JsonValue };

/** nbformat 4 outputs; unknown output types are kept as they are. */
export type NotebookOutput =
  | { output_type: 'stream'; name: 'stdout' | 'stderr'; text: string }
  | { output_type: 'display_data'; data: MimeBundle; metadata: JsonObject }
  | { output_type: 'execute_result'; data: MimeBundle; metadata: JsonObject; execution_count: number | null }
  | { output_type: 'error'; ename: string; evalue: string; traceback: string[] }
  | ({ output_type: string } & JsonObject);

export type CellKind = 'code' | 'markdown' | 'raw';

/** One cell as the kernel and the editor see it. */
export interface NotebookCell {
  kind: CellKind;
  /** The cell text, lines joined. */
  source: string;
  /** Language of a code cell: 'typescript' or 'javascript' (from `metadata.vscode.languageId`, else the notebook's). */
  language: string;
  metadata: JsonObject;
  outputs: NotebookOutput[];
  executionCount: number | null;
  id?: string;
  /** Keys of the cell object that nbformat 4 does not define, kept for writing back. */
  extra: JsonObject;
}

/** A parsed notebook. `original` is what makes an unchanged round trip byte-exact. */
export interface Notebook {
  cells: NotebookCell[];
  metadata: JsonObject;
  nbformat: 4;
  nbformatMinor: number;
  /** Top-level keys that nbformat 4 does not define. */
  extra: JsonObject;
  /** The parsed text and how it was written; absent for notebooks made in memory. */
  original?: OriginalText;
}

/** The text a notebook was read from and its formatting style. */
export interface OriginalText {
  readonly text: string;
  readonly json: JsonObject;
  readonly style: TextStyle;
}

interface TextStyle {
  indent: string | number;
  finalNewline: boolean;
  sourceAsLines: boolean;
  /** Key order of the top-level object and of cells, as first seen. */
  topKeys: string[];
  cellKeys: string[];
}

/** The file is not a notebook this serializer can read; the message names the problem. */
export class SfnbFormatError extends Error {
  readonly code = 'ERR_SFNB_FORMAT';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SfnbFormatError';
  }
}

const JUPYTER_STYLE: TextStyle = {
  indent: 1,
  finalNewline: true,
  sourceAsLines: true,
  topKeys: ['cells', 'metadata', 'nbformat', 'nbformat_minor'],
  cellKeys: ['cell_type', 'execution_count', 'id', 'metadata', 'outputs', 'source'],
};

const DEFAULT_LANGUAGE = 'typescript';
const KNOWN_CELL_KEYS = new Set(['cell_type', 'execution_count', 'id', 'metadata', 'outputs', 'source']);
const KNOWN_TOP_KEYS = new Set(['cells', 'metadata', 'nbformat', 'nbformat_minor']);

/** A new, empty notebook for TypeScript cells. */
export function emptyNotebook(): Notebook {
  return {
    cells: [],
    metadata: defaultNotebookMetadata(),
    nbformat: 4,
    nbformatMinor: 5,
    extra: {},
  };
}

function defaultNotebookMetadata(): JsonObject {
  return {
    kernelspec: { display_name: 'TypeScript (Shared Futures)', language: 'typescript', name: 'shared-futures' },
    language_info: { file_extension: '.ts', name: 'typescript' },
  };
}

/** Parses `.sfnb` text. An empty (or whitespace-only) file is a new, empty notebook. */
export function parseNotebook(text: string): Notebook {
  if (text.trim() === '') {
    return emptyNotebook();
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new SfnbFormatError(`not valid JSON: ${describeJsonError(text, err)}`, { cause: err });
  }
  if (!isObject(json)) {
    throw new SfnbFormatError(`expected a JSON object at the top level, found ${typeName(json)}`);
  }
  if (json.nbformat !== 4) {
    throw new SfnbFormatError(
      json.nbformat === undefined
        ? "missing 'nbformat': an .sfnb file is nbformat 4 JSON"
        : `nbformat ${JSON.stringify(json.nbformat)} is not supported: expected 4`,
    );
  }
  const minor = json.nbformat_minor ?? 0;
  if (typeof minor !== 'number' || !Number.isInteger(minor) || minor < 0) {
    throw new SfnbFormatError(`'nbformat_minor' must be a non-negative integer, found ${JSON.stringify(minor)}`);
  }
  if (!Array.isArray(json.cells)) {
    throw new SfnbFormatError(`'cells' must be an array, found ${typeName(json.cells)}`);
  }
  const metadata = json.metadata ?? {};
  if (!isObject(metadata)) {
    throw new SfnbFormatError(`'metadata' must be an object, found ${typeName(metadata)}`);
  }
  const defaultLanguage = notebookLanguage(metadata);
  const cells = json.cells.map((cell, index) => parseCell(cell, index, defaultLanguage));
  const extra: JsonObject = {};
  for (const [key, value] of Object.entries(json)) {
    if (!KNOWN_TOP_KEYS.has(key)) {
      extra[key] = value;
    }
  }
  return {
    cells,
    metadata,
    nbformat: 4,
    nbformatMinor: minor,
    extra,
    original: { text, json, style: detectStyle(text, json) },
  };
}

function parseCell(cell: JsonValue, index: number, defaultLanguage: string): NotebookCell {
  const where = `cell ${index + 1}`;
  if (!isObject(cell)) {
    throw new SfnbFormatError(`${where}: expected an object, found ${typeName(cell)}`);
  }
  const kind = cell.cell_type;
  if (kind !== 'code' && kind !== 'markdown' && kind !== 'raw') {
    throw new SfnbFormatError(`${where}: 'cell_type' must be 'code', 'markdown' or 'raw', found ${JSON.stringify(kind ?? null)}`);
  }
  const source = joinMultiline(cell.source, `${where}: 'source'`);
  const metadata = cell.metadata ?? {};
  if (!isObject(metadata)) {
    throw new SfnbFormatError(`${where}: 'metadata' must be an object, found ${typeName(metadata)}`);
  }
  const outputs = cell.outputs ?? [];
  if (!Array.isArray(outputs)) {
    throw new SfnbFormatError(`${where}: 'outputs' must be an array, found ${typeName(outputs)}`);
  }
  outputs.forEach((output, i) => {
    if (!isObject(output) || typeof output.output_type !== 'string') {
      throw new SfnbFormatError(`${where}, output ${i + 1}: expected an object with an 'output_type' string`);
    }
  });
  const count = cell.execution_count ?? null;
  if (count !== null && (typeof count !== 'number' || !Number.isInteger(count))) {
    throw new SfnbFormatError(`${where}: 'execution_count' must be an integer or null, found ${JSON.stringify(count)}`);
  }
  if (cell.id !== undefined && typeof cell.id !== 'string') {
    throw new SfnbFormatError(`${where}: 'id' must be a string, found ${typeName(cell.id)}`);
  }
  const extra: JsonObject = {};
  for (const [key, value] of Object.entries(cell)) {
    if (!KNOWN_CELL_KEYS.has(key)) {
      extra[key] = value;
    }
  }
  const vscodeMeta = metadata.vscode;
  const languageId = isObject(vscodeMeta) && typeof vscodeMeta.languageId === 'string' ? vscodeMeta.languageId : undefined;
  return {
    kind,
    source,
    language: kind === 'code' ? (languageId ?? defaultLanguage) : kind === 'markdown' ? 'markdown' : 'raw',
    metadata,
    outputs: outputs as NotebookOutput[],
    executionCount: count,
    id: cell.id,
    extra,
  };
}

/** Writes a notebook. Unchanged notebooks come back as the exact text they were parsed from. */
export function serializeNotebook(notebook: Notebook): string {
  const style = notebook.original?.style ?? JUPYTER_STYLE;
  const json = toJson(notebook, style);
  if (notebook.original && isDeepStrictEqual(json, notebook.original.json)) {
    return notebook.original.text;
  }
  const text = JSON.stringify(json, null, style.indent);
  return style.finalNewline ? `${text}\n` : text;
}

function toJson(notebook: Notebook, style: TextStyle): JsonObject {
  const defaultLanguage = notebookLanguage(notebook.metadata);
  const cells = notebook.cells.map((cell) => cellToJson(cell, style, defaultLanguage));
  const top: JsonObject = {
    cells,
    metadata: notebook.metadata,
    nbformat: notebook.nbformat,
    nbformat_minor: notebook.nbformatMinor,
    ...notebook.extra,
  };
  return orderKeys(top, style.topKeys);
}

function cellToJson(cell: NotebookCell, style: TextStyle, defaultLanguage: string): JsonObject {
  const json: JsonObject = { cell_type: cell.kind };
  if (cell.kind === 'code') {
    json.execution_count = cell.executionCount;
  }
  if (cell.id !== undefined) {
    json.id = cell.id;
  }
  json.metadata = cellMetadata(cell, defaultLanguage);
  if (cell.kind === 'code') {
    json.outputs = cell.outputs as JsonValue[];
  }
  json.source = style.sourceAsLines ? splitLines(cell.source) : cell.source;
  Object.assign(json, cell.extra);
  return orderKeys(json, style.cellKeys);
}

/** Keeps `metadata.vscode.languageId` in step with the cell's language without adding it needlessly. */
function cellMetadata(cell: NotebookCell, defaultLanguage: string): JsonObject {
  if (cell.kind !== 'code') {
    return cell.metadata;
  }
  const vscodeMeta = cell.metadata.vscode;
  const hasLanguageId = isObject(vscodeMeta) && 'languageId' in vscodeMeta;
  if (hasLanguageId) {
    if (vscodeMeta.languageId === cell.language) {
      return cell.metadata;
    }
    return { ...cell.metadata, vscode: { ...vscodeMeta, languageId: cell.language } };
  }
  if (cell.language === defaultLanguage) {
    return cell.metadata;
  }
  const base = isObject(vscodeMeta) ? vscodeMeta : {};
  return { ...cell.metadata, vscode: { ...base, languageId: cell.language } };
}

/** The notebook-wide cell language from `language_info.name` or `kernelspec.language`. */
export function notebookLanguage(metadata: JsonObject): string {
  const info = metadata.language_info;
  if (isObject(info) && typeof info.name === 'string') {
    return info.name;
  }
  const spec = metadata.kernelspec;
  if (isObject(spec) && typeof spec.language === 'string') {
    return spec.language;
  }
  return DEFAULT_LANGUAGE;
}

/** nbformat multiline strings: a string or a list of strings meant to be concatenated. */
export function joinMultiline(value: JsonValue | undefined, what: string): string {
  if (value === undefined) {
    return '';
  }
  if (typeof value === 'string') {
    return value;
  }
  if (Array.isArray(value) && value.every((line) => typeof line === 'string')) {
    return value.join('');
  }
  throw new SfnbFormatError(`${what} must be a string or an array of strings, found ${typeName(value)}`);
}

/** Splits text the way Jupyter stores it: one entry per line, each keeping its '\n'. */
export function splitLines(text: string): string[] {
  if (text === '') {
    return [];
  }
  const lines = text.split(/(?<=\n)/);
  return lines;
}

function orderKeys(obj: JsonObject, order: string[]): JsonObject {
  const out: JsonObject = {};
  for (const key of order) {
    if (key in obj) {
      out[key] = obj[key];
    }
  }
  for (const key of Object.keys(obj).sort()) {
    if (!(key in out)) {
      out[key] = obj[key];
    }
  }
  return out;
}

function detectStyle(text: string, json: JsonObject): TextStyle {
  const indentMatch = /^[{[]\r?\n([ \t]+)\S/.exec(text);
  let indent: string | number = 0;
  if (indentMatch) {
    const unit = indentMatch[1];
    indent = /^ +$/.test(unit) ? unit.length : unit;
  }
  const cells = Array.isArray(json.cells) ? json.cells.filter(isObject) : [];
  const firstSource = cells.find((cell) => cell.source !== undefined)?.source;
  const cellKeys: string[] = [];
  for (const cell of cells) {
    for (const key of Object.keys(cell)) {
      if (!cellKeys.includes(key)) {
        cellKeys.push(key);
      }
    }
  }
  return {
    indent,
    finalNewline: /\n$/.test(text),
    sourceAsLines: firstSource === undefined || Array.isArray(firstSource),
    topKeys: Object.keys(json),
    cellKeys: cellKeys.length > 0 ? cellKeys : JUPYTER_STYLE.cellKeys,
  };
}

function describeJsonError(text: string, err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const position = /at position (\d+)/.exec(message);
  const atEnd = /Unexpected end of JSON input/.test(message);
  if (!position && !atEnd) {
    return message;
  }
  const offset = position ? Number(position[1]) : text.length;
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - before.lastIndexOf('\n');
  return `${message.replace(/ in JSON at position \d+.*$/, '')} at line ${line}, column ${column}`;
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function typeName(value: unknown): string {
  if (value === undefined) {
    return 'nothing';
  }
  if (value === null) {
    return 'null';
  }
  return Array.isArray(value) ? 'an array' : `a ${typeof value}`;
}
