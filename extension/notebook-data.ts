/**
 * Converts between the kernel's parsed `.sfnb` notebooks (`kernel/serializer.ts`) and the plain shape of
 * VS Code's NotebookData. No `vscode` import (the adapter in `notebook-serializer.ts` only maps this shape
 * onto VS Code's classes), so the mapping of cells and outputs is unit-tested in Node.
 *
 * What VS Code has no place for (notebook and cell metadata, cell ids, unknown keys, the file's style) rides
 * in `metadata.nbformat` of the notebook and of each cell, and every output read from the file keeps its
 * original JSON in its own metadata, so saving writes back what was read.
 */
import { randomUUID } from 'node:crypto';
import {
  emptyNotebook,
  joinMultiline,
  type JsonObject,
  type JsonValue,
  type MimeBundle,
  type Notebook,
  type NotebookCell,
  type NotebookOutput,
  type OriginalText,
} from '../kernel/serializer';

/** VS Code's mime types for streams and errors in cell outputs. */
export const STDOUT_MIME = 'application/vnd.code.notebook.stdout';
export const STDERR_MIME = 'application/vnd.code.notebook.stderr';
export const ERROR_MIME = 'application/vnd.code.notebook.error';

/** One item of a cell output (VS Code's NotebookCellOutputItem). */
export interface OutputItemShape {
  mime: string;
  data: Uint8Array;
}

/** One cell output (VS Code's NotebookCellOutput). */
export interface OutputShape {
  items: OutputItemShape[];
  metadata?: { [key: string]: unknown };
}

/** One cell (VS Code's NotebookCellData). */
export interface CellShape {
  kind: 'code' | 'markup';
  value: string;
  languageId: string;
  metadata?: { [key: string]: unknown };
  outputs?: OutputShape[];
  executionOrder?: number;
}

/** A notebook (VS Code's NotebookData). */
export interface NotebookShape {
  cells: CellShape[];
  metadata?: { [key: string]: unknown };
}

/** What the notebook-level `metadata.nbformat` holds. */
interface NotebookExtras {
  metadata: JsonObject;
  nbformatMinor: number;
  extra: JsonObject;
  style?: OriginalText['style'];
}

/** What a cell's `metadata.nbformat` holds. */
interface CellExtras {
  metadata: JsonObject;
  id?: string;
  extra: JsonObject;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The VS Code shape of a parsed notebook. */
export function toNotebookShape(notebook: Notebook): NotebookShape {
  const extras: NotebookExtras = {
    metadata: notebook.metadata,
    nbformatMinor: notebook.nbformatMinor,
    extra: notebook.extra,
    style: notebook.original?.style,
  };
  return { cells: notebook.cells.map(toCellShape), metadata: { nbformat: extras } };
}

function toCellShape(cell: NotebookCell): CellShape {
  const extras: CellExtras = { metadata: cell.metadata, id: cell.id, extra: cell.extra };
  const shape: CellShape = {
    kind: cell.kind === 'markdown' ? 'markup' : 'code',
    value: cell.source,
    languageId: cell.kind === 'code' ? cell.language : cell.kind,
    metadata: { nbformat: extras },
  };
  if (cell.kind === 'code') {
    shape.outputs = cell.outputs.map(toOutputShape);
    if (cell.executionCount !== null) {
      shape.executionOrder = cell.executionCount;
    }
  }
  return shape;
}

/** The VS Code shape of one nbformat output; the original JSON rides along in its metadata. */
export function toOutputShape(output: NotebookOutput): OutputShape {
  const metadata = { nbformat: output };
  switch (output.output_type) {
    case 'stream': {
      const text = joinMultiline(output.text as JsonValue, 'stream text');
      return { items: [{ mime: output.name === 'stderr' ? STDERR_MIME : STDOUT_MIME, data: encoder.encode(text) }], metadata };
    }
    case 'display_data':
    case 'execute_result':
      return { items: mimeBundleItems(output.data as MimeBundle), metadata };
    case 'error': {
      const traceback = Array.isArray(output.traceback) ? output.traceback.join('\n') : '';
      const error = { name: String(output.ename), message: String(output.evalue), stack: traceback };
      return { items: [{ mime: ERROR_MIME, data: encoder.encode(JSON.stringify(error)) }], metadata };
    }
    default:
      return {
        items: [{ mime: 'text/plain', data: encoder.encode(`(${output.output_type} output, kept in the file)`) }],
        metadata,
      };
  }
}

/** The output items of a mime bundle: base64 images decoded, JSON mimes as JSON text. */
export function mimeBundleItems(bundle: MimeBundle): OutputItemShape[] {
  return Object.entries(bundle).map(([mime, value]) => {
    if (isBinaryMime(mime) && typeof value === 'string') {
      return { mime, data: Buffer.from(value, 'base64') };
    }
    if (typeof value === 'string' || (Array.isArray(value) && value.every((v) => typeof v === 'string'))) {
      return { mime, data: encoder.encode(joinMultiline(value, mime)) };
    }
    return { mime, data: encoder.encode(JSON.stringify(value)) };
  });
}

/** The parsed-notebook form of a VS Code notebook, ready for `serializeNotebook`. */
export function fromNotebookShape(shape: NotebookShape): Notebook {
  const extras = notebookExtras(shape.metadata);
  const notebook = emptyNotebook();
  if (extras !== undefined) {
    notebook.metadata = extras.metadata;
    notebook.nbformatMinor = extras.nbformatMinor;
    notebook.extra = extras.extra;
    if (extras.style !== undefined) {
      // Only the style is kept (not the text), so a saved notebook keeps the indent and key order it had.
      notebook.original = { text: '', json: {}, style: extras.style };
    }
  }
  notebook.cells = shape.cells.map((cell) => fromCellShape(cell, notebook.nbformatMinor));
  return notebook;
}

function fromCellShape(cell: CellShape, nbformatMinor: number): NotebookCell {
  const extras = cellExtras(cell.metadata);
  const kind = cell.kind === 'markup' ? 'markdown' : cell.languageId === 'raw' ? 'raw' : 'code';
  const executionCount = kind === 'code' ? (cell.executionOrder ?? null) : null;
  return {
    kind,
    source: cell.value,
    language: kind === 'code' ? cell.languageId : kind,
    metadata: extras?.metadata ?? {},
    // nbformat 4.5 made cell ids required.
    id: extras?.id ?? (nbformatMinor >= 5 ? randomUUID().slice(0, 8) : undefined),
    extra: extras?.extra ?? {},
    executionCount,
    outputs: kind === 'code' ? (cell.outputs ?? []).map((o) => fromOutputShape(o, executionCount)) : [],
  };
}

/** The nbformat form of one VS Code output: the original when it came from the file, else converted. */
export function fromOutputShape(output: OutputShape, executionCount: number | null): NotebookOutput {
  const original = output.metadata?.nbformat;
  if (isObject(original) && typeof original.output_type === 'string') {
    return original as NotebookOutput;
  }
  const items = output.items;
  if (items.length > 0 && items.every((i) => i.mime === STDOUT_MIME || i.mime === STDERR_MIME)) {
    const name = items[0].mime === STDERR_MIME ? 'stderr' : 'stdout';
    return { output_type: 'stream', name, text: items.map((i) => decoder.decode(i.data)).join('') };
  }
  const error = items.find((i) => i.mime === ERROR_MIME);
  if (error !== undefined) {
    const parsed = parseJson(decoder.decode(error.data));
    const info = isObject(parsed) ? parsed : {};
    return {
      output_type: 'error',
      ename: String(info.name ?? 'Error'),
      evalue: String(info.message ?? ''),
      traceback: typeof info.stack === 'string' ? info.stack.split('\n') : [],
    };
  }
  const data: MimeBundle = {};
  for (const item of items) {
    data[item.mime] = mimeValue(item);
  }
  if (output.metadata?.outputType === 'execute_result') {
    return { output_type: 'execute_result', data, metadata: {}, execution_count: executionCount };
  }
  return { output_type: 'display_data', data, metadata: {} };
}

function mimeValue(item: OutputItemShape): JsonValue {
  if (isBinaryMime(item.mime)) {
    return Buffer.from(item.data).toString('base64');
  }
  const text = decoder.decode(item.data);
  if (isJsonMime(item.mime)) {
    const parsed = parseJson(text);
    return parsed === undefined ? text : parsed;
  }
  return text;
}

function isJsonMime(mime: string): boolean {
  return mime === 'application/json' || mime.endsWith('+json');
}

function isBinaryMime(mime: string): boolean {
  return mime.startsWith('image/') && mime !== 'image/svg+xml';
}

function parseJson(text: string): JsonValue | undefined {
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    return undefined;
  }
}

function notebookExtras(metadata: { [key: string]: unknown } | undefined): NotebookExtras | undefined {
  const value = metadata?.nbformat;
  if (!isObject(value) || !isObject(value.metadata) || typeof value.nbformatMinor !== 'number') {
    return undefined;
  }
  return {
    metadata: value.metadata,
    nbformatMinor: value.nbformatMinor,
    extra: isObject(value.extra) ? value.extra : {},
    style: isObject(value.style) ? (value.style as unknown as OriginalText['style']) : undefined,
  };
}

function cellExtras(metadata: { [key: string]: unknown } | undefined): CellExtras | undefined {
  const value = metadata?.nbformat;
  if (!isObject(value)) {
    return undefined;
  }
  return {
    metadata: isObject(value.metadata) ? value.metadata : {},
    id: typeof value.id === 'string' ? value.id : undefined,
    extra: isObject(value.extra) ? value.extra : {},
  };
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
