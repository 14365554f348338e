/**
 * Maps the kernel's outputs of one cell run onto changes of VS Code cell outputs: stream text goes to stdout
 * or stderr (appended to the last output of the same stream, as a terminal shows it), displays and results
 * become mime bundles, errors VS Code's error item with the stack mapped to cell lines, and a live output's
 * update replaces the items of the output with the same `outputId`. No `vscode` import, so the mapping is
 * unit-tested in Node; `kernel-session.ts` applies the changes to a cell execution.
 */
import type { KernelOutput } from '../kernel/kernel';
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

/** The outputs of one cell run, as far as changes need to know them. */
export class CellOutputTracker {
  /** Ids of the outputs this run made, kernel outputId → cell output id. */
  private readonly ids = new Map<string, string>();
  private last: { id: string; stream?: 'stdout' | 'stderr' } | undefined;
  private counter = 0;

  /** `idPrefix` keeps output ids unique across kernels and runs. */
  constructor(private readonly idPrefix: string) {}

  /** The change that shows `output`, or undefined when there is nothing to show (an update of an unknown output). */
  apply(output: KernelOutput): OutputChange | undefined {
    switch (output.type) {
      case 'stream': {
        const items = [{ mime: output.name === 'stderr' ? STDERR_MIME : STDOUT_MIME, data: encoder.encode(output.text) }];
        if (this.last?.stream === output.name) {
          return { op: 'appendItems', id: this.last.id, items };
        }
        return this.append({ id: this.nextId(), items, metadata: { outputType: 'stream' } }, output.name);
      }
      case 'display': {
        const items = mimeBundleItems(output.data as MimeBundle);
        const known = this.ids.get(output.outputId);
        if (known !== undefined) {
          return { op: 'replaceItems', id: known, items };
        }
        if (output.update) {
          return undefined; // an update of an output this run never showed (a cleared or earlier run)
        }
        const id = `${this.idPrefix}/${output.outputId}`;
        this.ids.set(output.outputId, id);
        return this.append({ id, items, metadata: { outputType: output.result ? 'execute_result' : 'display_data' } });
      }
      case 'error': {
        // VS Code's error renderer shows `stack` when there is one; the traceback's first line is `Name: message`.
        const error = { name: output.ename, message: output.evalue, stack: output.traceback.join('\n') };
        return this.append({ id: this.nextId(), items: [{ mime: ERROR_MIME, data: encoder.encode(JSON.stringify(error)) }], metadata: { outputType: 'error' } });
      }
    }
  }

  private append(output: NewOutput, stream?: 'stdout' | 'stderr'): OutputChange {
    this.last = { id: output.id, stream };
    return { op: 'append', output };
  }

  private nextId(): string {
    return `${this.idPrefix}/o${++this.counter}`;
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
