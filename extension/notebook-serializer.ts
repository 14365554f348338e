/**
 * VS Code's NotebookSerializer for `.sfnb` files: the kernel's nbformat serializer (`kernel/serializer.ts`)
 * does the reading and writing; this file only maps its result onto VS Code's notebook classes.
 */
import * as vscode from 'vscode';
import { parseNotebook, serializeNotebook, SfnbFormatError } from '../kernel/serializer';
import { fromNotebookShape, toNotebookShape, type CellShape, type NotebookShape } from './notebook-data';

/** The notebook type contributed in package.json. */
export const NOTEBOOK_TYPE = 'shared-futures-notebook';

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** Reads and writes `.sfnb` notebooks for VS Code. */
export class SfnbSerializer implements vscode.NotebookSerializer {
  deserializeNotebook(content: Uint8Array): vscode.NotebookData {
    let shape: NotebookShape;
    try {
      shape = toNotebookShape(parseNotebook(decoder.decode(content)));
    } catch (err) {
      // VS Code shows this message in the editor area; name the format so the user knows what was expected.
      if (err instanceof SfnbFormatError) {
        throw new Error(`Cannot open this .sfnb notebook (nbformat 4 JSON): ${err.message}`);
      }
      throw err;
    }
    const data = new vscode.NotebookData(shape.cells.map(toCellData));
    data.metadata = shape.metadata;
    return data;
  }

  serializeNotebook(data: vscode.NotebookData): Uint8Array {
    const shape: NotebookShape = { cells: data.cells.map(fromCellData), metadata: data.metadata };
    return encoder.encode(serializeNotebook(fromNotebookShape(shape)));
  }
}

function toCellData(cell: CellShape): vscode.NotebookCellData {
  const kind = cell.kind === 'markup' ? vscode.NotebookCellKind.Markup : vscode.NotebookCellKind.Code;
  const data = new vscode.NotebookCellData(kind, cell.value, cell.languageId);
  data.metadata = cell.metadata;
  data.outputs = (cell.outputs ?? []).map(
    (output) =>
      new vscode.NotebookCellOutput(
        output.items.map((item) => new vscode.NotebookCellOutputItem(item.data, item.mime)),
        output.metadata,
      ),
  );
  if (cell.executionOrder !== undefined) {
    data.executionSummary = { executionOrder: cell.executionOrder };
  }
  return data;
}

function fromCellData(cell: vscode.NotebookCellData): CellShape {
  return {
    kind: cell.kind === vscode.NotebookCellKind.Markup ? 'markup' : 'code',
    value: cell.value,
    languageId: cell.languageId,
    metadata: cell.metadata,
    outputs: (cell.outputs ?? []).map((output) => ({
      items: output.items.map((item) => ({ mime: item.mime, data: item.data })),
      metadata: output.metadata,
    })),
    executionOrder: cell.executionSummary?.executionOrder,
  };
}
