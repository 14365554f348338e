/**
 * Collects a cell's kernel outputs as nbformat 4 outputs: consecutive stream text of one stream is
 * merged (as Jupyter does), and a live output's update replaces the output it updates, in place.
 */
import type { KernelOutput } from './kernel';
import type { JsonObject, JsonValue, MimeBundle, NotebookOutput } from './serializer';

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
  private readonly byOutputId = new Map<string, number>();

  /** Adds (or, for an update, replaces) an output. */
  add(output: KernelOutput): void {
    switch (output.type) {
      case 'stream': {
        const last = this.outputs[this.outputs.length - 1];
        if (last && last.output_type === 'stream' && last.name === output.name && typeof last.text === 'string') {
          last.text += output.text;
        } else {
          this.outputs.push({ output_type: 'stream', name: output.name, text: output.text });
        }
        break;
      }
      case 'display': {
        const data = toMimeBundle(output.data);
        const nbOutput: NotebookOutput = output.result
          ? { output_type: 'execute_result', data, metadata: {}, execution_count: output.execution }
          : { output_type: 'display_data', data, metadata: {} };
        const existing = this.byOutputId.get(output.outputId);
        if (existing !== undefined) {
          const previous = this.outputs[existing];
          // An update keeps the kind (result or display) of the output it replaces.
          this.outputs[existing] =
            previous.output_type === 'execute_result'
              ? { output_type: 'execute_result', data, metadata: {}, execution_count: previous.execution_count as number | null }
              : { output_type: 'display_data', data, metadata: {} };
        } else if (!output.update) {
          this.byOutputId.set(output.outputId, this.outputs.length);
          this.outputs.push(nbOutput);
        }
        break;
      }
      case 'error':
        this.outputs.push({ output_type: 'error', ename: output.ename, evalue: output.evalue, traceback: output.traceback });
        break;
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
