/**
 * How a kernel output goes out on iopub: which message, with what content, for the request that ran the cell.
 * Live views (futures and channels) go out as display_data with a display id and change through
 * update_display_data; they also get a text/html table for front-ends without the notebook renderer.
 */
import type { KernelOutput } from '../kernel';
import { statusHtml } from '../status-html';
import { STATUS_MIME, type StatusView } from '../status-view';
import type { JsonObject, MessageHeader } from './wire';

/** How a cell's outputs reach iopub: the request that ran it, and whether anything is shown. */
export interface CellContext {
  parent: MessageHeader;
  /** Jupyter's execution_count of the cell. */
  count: number;
  /** `silent`: no execute_input and no execute_result. */
  silent: boolean;
  /** Internal evaluations (user_expressions): nothing at all is published. */
  quiet: boolean;
  /** Display ids already sent as display_data (updates are sent only for those). */
  shown: Set<string>;
}

/** The iopub message that shows `output` of a cell run in `context`, or undefined when nothing is shown. */
export function iopubMessage(output: KernelOutput, context: CellContext): { msgType: string; content: JsonObject } | undefined {
  if (context.quiet) return undefined;
  switch (output.type) {
    case 'stream':
      return { msgType: 'stream', content: { name: output.name, text: output.text } };
    case 'error':
      return { msgType: 'error', content: { ename: output.ename, evalue: output.evalue, traceback: output.traceback } };
    case 'display': {
      const data = mimeBundle(output.data);
      const live = STATUS_MIME in output.data;
      if (output.update) {
        return context.shown.has(output.outputId)
          ? { msgType: 'update_display_data', content: { data, metadata: {}, transient: { display_id: output.outputId } } }
          : undefined;
      }
      if (output.result && !live) {
        return context.silent ? undefined : { msgType: 'execute_result', content: { execution_count: context.count, data, metadata: {} } };
      }
      if (output.result && context.silent) return undefined;
      // Live views go out as display_data even as a cell's result: front-ends track display ids on
      // display_data, so only then do later update_display_data messages replace them in place.
      context.shown.add(output.outputId);
      return { msgType: 'display_data', content: { data, metadata: {}, transient: { display_id: output.outputId } } };
    }
  }
}

/** A kernel mime bundle for Jupyter: live views also get their text/html table. */
export function mimeBundle(data: Record<string, unknown>): JsonObject {
  const view = data[STATUS_MIME] as StatusView | undefined;
  return view && typeof data['text/html'] !== 'string' ? { ...data, 'text/html': statusHtml(view) } : { ...data };
}
