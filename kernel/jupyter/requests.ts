/**
 * The Jupyter requests that need no running cell, as functions from request to reply content: kernel_info,
 * is_complete, complete, inspect and history. server.ts dispatches to them.
 */
import ts from 'typescript';
import { isComplete } from '../is-complete';
import { codePointToIndex, indexToCodePoint, type CellIntrospection } from './introspection';
import type { JsonObject, JupyterMessage } from './wire';

const IMPLEMENTATION_VERSION = '0.1.0';

/** `kernel_info_request`: the language and, in the banner, where `client` is connected. */
export function kernelInfoReply(schedulerDescription: (() => string) | undefined): JsonObject {
  return {
    status: 'ok',
    protocol_version: '5.3',
    implementation: 'shared-futures',
    implementation_version: IMPLEMENTATION_VERSION,
    language_info: {
      name: 'typescript',
      version: ts.version,
      mimetype: 'text/typescript',
      file_extension: '.ts',
      pygments_lexer: 'typescript',
      codemirror_mode: { name: 'javascript', typescript: true },
    },
    banner: `Shared Futures TypeScript kernel ${IMPLEMENTATION_VERSION} (TypeScript ${ts.version}, Node ${process.versions.node})${
      schedulerDescription ? `\nclient: ${schedulerDescription()}` : ''
    }`,
    help_links: [],
  };
}

/** `is_complete_request`: whether the code is a whole statement yet. */
export function isCompleteReply(message: JupyterMessage): JsonObject {
  const code = typeof message.content.code === 'string' ? message.content.code : '';
  return { ...isComplete(code) };
}

/** `complete_request`: completions at the cursor (a code-point offset), from the cells' language engine. */
export function completeReply(message: JupyterMessage, introspection: CellIntrospection | undefined): JsonObject {
  const code = typeof message.content.code === 'string' ? message.content.code : '';
  const cursorPoints = typeof message.content.cursor_pos === 'number' ? message.content.cursor_pos : [...code].length;
  const cursor = codePointToIndex(code, cursorPoints);
  if (!introspection) {
    return { status: 'ok', matches: [], cursor_start: cursorPoints, cursor_end: cursorPoints, metadata: {} };
  }
  const result = introspection.complete(code, cursor);
  return {
    status: 'ok',
    matches: result.matches,
    cursor_start: indexToCodePoint(code, result.start),
    cursor_end: indexToCodePoint(code, result.end),
    metadata: {
      _jupyter_types_experimental: result.types.map((t) => ({ ...t, start: indexToCodePoint(code, t.start), end: indexToCodePoint(code, t.end) })),
    },
  };
}

/** `inspect_request`: the type and documentation of the name at the cursor. */
export function inspectReply(message: JupyterMessage, introspection: CellIntrospection | undefined): JsonObject {
  const code = typeof message.content.code === 'string' ? message.content.code : '';
  const cursorPoints = typeof message.content.cursor_pos === 'number' ? message.content.cursor_pos : [...code].length;
  const found = introspection?.inspect(code, codePointToIndex(code, cursorPoints));
  if (!found) {
    return { status: 'ok', found: false, data: {}, metadata: {} };
  }
  const text = found.documentation ? `${found.text}\n\n${found.documentation}` : found.text;
  const markdown = `\`\`\`typescript\n${found.text}\n\`\`\`${found.documentation ? `\n\n${found.documentation}` : ''}`;
  return { status: 'ok', found: true, data: { 'text/plain': text, 'text/markdown': markdown }, metadata: {} };
}

/** One stored execution: its count, code and the text of its result. */
export interface HistoryEntry {
  count: number;
  input: string;
  output?: string;
}

/** The executions stored for `history_request` (those with `store_history`). */
export class ExecutionHistory {
  private readonly entries: HistoryEntry[] = [];

  add(entry: HistoryEntry): void {
    this.entries.push(entry);
  }

  /** Replies to `history_request` from the executions stored so far. */
  reply(message: JupyterMessage): JsonObject {
    const c = message.content;
    const withOutput = c.output === true;
    const entry = (h: HistoryEntry) => (withOutput ? [0, h.count, [h.input, h.output ?? null]] : [0, h.count, h.input]);
    let entries = this.entries;
    switch (c.hist_access_type) {
      case 'tail': {
        const n = typeof c.n === 'number' && c.n >= 0 ? c.n : 10;
        entries = n === 0 ? [] : entries.slice(-n);
        break;
      }
      case 'range': {
        const start = typeof c.start === 'number' ? c.start : 0;
        const stop = typeof c.stop === 'number' ? c.stop : Number.POSITIVE_INFINITY;
        entries = entries.filter((h) => h.count >= start && h.count < stop);
        break;
      }
      case 'search': {
        const pattern = typeof c.pattern === 'string' ? c.pattern : '*';
        const regex = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[\\s\\S]*').replace(/\?/g, '.')}$`);
        entries = entries.filter((h) => regex.test(h.input));
        if (c.unique === true) {
          const seen = new Set<string>();
          entries = entries.filter((h) => !seen.has(h.input) && (seen.add(h.input), true));
        }
        if (typeof c.n === 'number' && c.n > 0) entries = entries.slice(-c.n);
        break;
      }
      default:
        break;
    }
    return { status: 'ok', history: entries.map(entry) };
  }
}
