/**
 * How a cell's kernel outputs become the outputs it shows, for every front-end (nbformat files here, VS Code
 * cell outputs in extension/kernel-outputs.ts): stream text is appended to the last output when that is of
 * the same stream (as Jupyter and a terminal show it), a live output's update replaces the output it updates
 * in place, and an update of an output the run never showed is dropped.
 */
import type { KernelOutput } from './kernel';
import type { JsonObject, JsonValue, MimeBundle, NotebookOutput } from './serializer';

/** Where one kernel output goes among the outputs shown so far (indices count outputs in the order shown). */
export type OutputPlacement =
  | { kind: 'append'; index: number }
  | { kind: 'extend'; index: number }
  | { kind: 'replace'; index: number }
  | { kind: 'drop' };

/** The merge rule over one cell run's outputs. */
export class OutputMerge {
  private readonly byOutputId = new Map<string, number>();
  private shown = 0;
  /** The stream of the last output shown, when it is a stream. */
  private lastStream: 'stdout' | 'stderr' | undefined;

  place(output: KernelOutput): OutputPlacement {
    switch (output.type) {
      case 'stream':
        if (this.lastStream === output.name) {
          return { kind: 'extend', index: this.shown - 1 };
        }
        return this.append(output.name);
      case 'display': {
        const known = this.byOutputId.get(output.outputId);
        if (known !== undefined) {
          return { kind: 'replace', index: known };
        }
        if (output.update) {
          return { kind: 'drop' }; // an update of an output this run never showed (a cleared or earlier run)
        }
        this.byOutputId.set(output.outputId, this.shown);
        return this.append(undefined);
      }
      case 'error':
        return this.append(undefined);
    }
  }

  private append(stream: 'stdout' | 'stderr' | undefined): OutputPlacement {
    this.lastStream = stream;
    return { kind: 'append', index: this.shown++ };
  }
}

/** nbformat keeps `text/*` mime values as lists of lines; JSON mimes stay JSON. */
function toMimeBundle(data: Record<string, unknown>): MimeBundle {
  const bundle: MimeBundle = {};
  for (const [mime, value] of Object.entries(data)) {
    bundle[mime] = typeof value === 'string' && (mime.startsWith('text/') || mime === 'image/svg+xml') ? splitKeepingNewlines(value) : (value as JsonValue);
  }
  return bundle;
}

function splitKeepingNewlines(text: string): string[] {
  return text === '' ? [] : text.split(/(?<=\n)/);
}

/** The nbformat outputs of one cell, built as kernel outputs arrive. */
export class CellOutputCollector {
  readonly outputs: NotebookOutput[] = [];
  private readonly merge = new OutputMerge();

  /** Adds (or, for an update, replaces) an output. */
  add(output: KernelOutput): void {
    const place = this.merge.place(output);
    switch (place.kind) {
      case 'drop':
        return;
      case 'extend': {
        const last = this.outputs[place.index];
        if (output.type === 'stream' && last.output_type === 'stream' && typeof last.text === 'string') {
          last.text += output.text;
        }
        return;
      }
      case 'replace':
        if (output.type === 'display') {
          const previous = this.outputs[place.index];
          const data = toMimeBundle(output.data);
          // An update keeps the kind (result or display) of the output it replaces.
          this.outputs[place.index] =
            previous.output_type === 'execute_result'
              ? { output_type: 'execute_result', data, metadata: {}, execution_count: previous.execution_count as number | null }
              : { output_type: 'display_data', data, metadata: {} };
        }
        return;
      case 'append':
        this.outputs.push(notebookOutput(output));
    }
  }

  /** Joined stream text as nbformat writes it (lists of lines), for files. */
  toJson(): NotebookOutput[] {
    return this.outputs.map((output) =>
      output.output_type === 'stream' && typeof output.text === 'string'
        ? ({ ...output, text: splitKeepingNewlines(output.text) } as unknown as NotebookOutput)
        : output,
    );
  }
}

/** A new nbformat output for a kernel output. */
function notebookOutput(output: KernelOutput): NotebookOutput {
  switch (output.type) {
    case 'stream':
      return { output_type: 'stream', name: output.name, text: output.text };
    case 'display': {
      const data = toMimeBundle(output.data);
      return output.result
        ? { output_type: 'execute_result', data, metadata: {}, execution_count: output.execution }
        : { output_type: 'display_data', data, metadata: {} };
    }
    case 'error':
      return { output_type: 'error', ename: output.ename, evalue: output.evalue, traceback: output.traceback };
  }
}

/** Plain text of an output for a terminal: text/plain of displays, the traceback of errors. */
export function outputAsText(output: KernelOutput): string {
  switch (output.type) {
    case 'stream':
      return output.text;
    case 'display': {
      const text = output.data['text/plain'];
      return `${typeof text === 'string' ? text : `<${Object.keys(output.data).join(', ')}>`}\n`;
    }
    case 'error':
      return `${output.traceback.join('\n')}\n`;
  }
}

export type { JsonObject };
