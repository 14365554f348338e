/**
 * Maps the kernel's outputs of one cell run onto changes of VS Code cell outputs, placed by the kernel's merge
 * rule (kernel/outputs.ts: stream text extends the last output of the same stream, a live update replaces the
 * output it updates): stream text goes to stdout or stderr, displays and results become mime bundles, errors
 * VS Code's error item with the stack mapped to cell lines. No `vscode` import, so the mapping is
 * unit-tested in Node; `notebook-kernel.ts` applies the changes to a cell execution.
 */
import type { KernelOutput } from '../kernel/kernel';
import { OutputMerge } from '../kernel/outputs';
import type { MimeBundle } from '../kernel/serializer';
import { ERROR_MIME, mimeBundleItems, STDERR_MIME, STDOUT_MIME, type OutputItemShape } from './notebook-data';

/** A new cell output with its id (the id later changes refer to). */
export interface NewOutput {
  id: string;
  items: OutputItemShape[];
  /** `outputType` tells the serializer a result from a display (nbformat `execute_result`/`display_data`). */
  metadata: { outputType: 'stream' | 'execute_result' | 'display_data' | 'error' };
}

/** One change of a cell's outputs. */
export type OutputChange =
  | { op: 'append'; output: NewOutput }
  | { op: 'appendItems'; id: string; items: OutputItemShape[] }
  | { op: 'replaceItems'; id: string; items: OutputItemShape[] };

const encoder = new TextEncoder();

/** The outputs of one cell run, as far as changes need to know them; where each goes is the kernel's rule. */
export class CellOutputTracker {
  private readonly merge = new OutputMerge();
  /** Cell output ids in the order shown (the merge rule's indices). */
  private readonly ids: string[] = [];
  private counter = 0;

  /** `idPrefix` keeps output ids unique across kernels and runs. */
  constructor(private readonly idPrefix: string) {}

  /** The change that shows `output`, or undefined when there is nothing to show (an update of an unknown output). */
  apply(output: KernelOutput): OutputChange | undefined {
    const place = this.merge.place(output);
    if (place.kind === 'drop') {
      return undefined;
    }
    const items = itemsOf(output);
    if (place.kind === 'extend') {
      return { op: 'appendItems', id: this.ids[place.index], items };
    }
    if (place.kind === 'replace') {
      return { op: 'replaceItems', id: this.ids[place.index], items };
    }
    const id = output.type === 'display' ? `${this.idPrefix}/${output.outputId}` : this.nextId();
    this.ids.push(id);
    const outputType = output.type === 'display' ? (output.result ? 'execute_result' : 'display_data') : output.type;
    return { op: 'append', output: { id, items, metadata: { outputType } } };
  }

  private nextId(): string {
    return `${this.idPrefix}/o${++this.counter}`;
  }
}

/** The output items of a kernel output: stream text, a mime bundle, or VS Code's error item. */
function itemsOf(output: KernelOutput): OutputItemShape[] {
  switch (output.type) {
    case 'stream':
      return [{ mime: output.name === 'stderr' ? STDERR_MIME : STDOUT_MIME, data: encoder.encode(output.text) }];
    case 'display':
      return mimeBundleItems(output.data as MimeBundle);
    case 'error': {
      // VS Code's error renderer shows `stack` when there is one; the traceback's first line is `Name: message`.
      const error = { name: output.ename, message: output.evalue, stack: output.traceback.join('\n') };
      return [{ mime: ERROR_MIME, data: encoder.encode(JSON.stringify(error)) }];
    }
  }
}

/** Merges a change into a queue of pending changes, keeping only the newest items of a replaced output. */
export function coalesce(pending: OutputChange[], change: OutputChange): void {
  if (change.op === 'replaceItems') {
    const index = pending.findIndex((p) => p.op === 'replaceItems' && p.id === change.id);
    if (index >= 0) {
      pending[index] = change;
      return;
    }
    const appended = pending.find((p): p is Extract<OutputChange, { op: 'append' }> => p.op === 'append' && p.output.id === change.id);
    if (appended !== undefined) {
      appended.output.items = change.items;
      return;
    }
  }
  pending.push(change);
}
