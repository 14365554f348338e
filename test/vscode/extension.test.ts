/**
 * The checks of test/e2e/extension.e2e.ts, made through the VS Code API inside a desktop VS Code started by
 * @vscode/test-electron: the extension stays inactive until needed, registers its commands, validates
 * scheduler addresses as Connect does, starts and stops the local scheduler, and opens and saves `.sfnb`
 * notebooks through its serializer.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { SharedFuturesApi } from '../../extension/api';

const EXTENSION_ID = 'shared-futures.shared-futures';
const COMMAND_IDS = [
  'sharedFutures.connect',
  'sharedFutures.startLocal',
  'sharedFutures.disconnect',
  'sharedFutures.restartKernel',
  'sharedFutures.openDashboard',
];

function extension(): vscode.Extension<SharedFuturesApi> {
  const found = vscode.extensions.getExtension<SharedFuturesApi>(EXTENSION_ID);
  assert.ok(found, `${EXTENSION_ID} is not loaded`);
  return found;
}

function workspaceFile(name: string): vscode.Uri {
  const folder = vscode.workspace.workspaceFolders?.[0];
  assert.ok(folder, 'the test workspace is not open');
  return vscode.Uri.joinPath(folder.uri, name);
}

function outputText(cell: vscode.NotebookCell): string {
  return cell.outputs.flatMap((o) => o.items.map((i) => new TextDecoder().decode(i.data))).join('');
}

describe('Shared Futures extension in desktop VS Code', () => {
  it('is not active before a command, notebook or view needs it', () => {
    assert.equal(extension().isActive, false);
  });

  it('registers its commands when a command activates it', async () => {
    await vscode.commands.executeCommand('sharedFutures.disconnect');
    assert.equal(extension().isActive, true);
    const all = new Set(await vscode.commands.getCommands(true));
    for (const id of COMMAND_IDS) {
      assert.ok(all.has(id), `${id} is not registered`);
    }
  });

  it('validates scheduler addresses the way Connect to Scheduler… does', async () => {
    const api = await extension().activate();
    assert.match(api.validateSchedulerAddress('http://127.0.0.1:8786') ?? '', /starts with ws:\/\/ or wss:\/\//);
    assert.equal(api.validateSchedulerAddress('ws://127.0.0.1:8786'), undefined);
    assert.equal(api.connection, undefined);
  });

  it('starts the local scheduler in the extension host and disconnects from it', async () => {
    const api = await extension().activate();
    await vscode.commands.executeCommand('sharedFutures.startLocal');
    assert.deepEqual(api.connection, { address: 'local', kind: 'local' });
    await vscode.commands.executeCommand('sharedFutures.disconnect');
    assert.equal(api.connection, undefined);
  });

  it('runs a cell through the kernel on the local scheduler, with order, success and output', async () => {
    const notebook = await vscode.workspace.openNotebookDocument(
      'shared-futures-notebook',
      new vscode.NotebookData([
        new vscode.NotebookCellData(
          vscode.NotebookCellKind.Code,
          "const doubled = await client.submit((x: number) => x * 2, 21).result();\nconsole.log('doubled', doubled);",
          'typescript',
        ),
      ]),
    );
    const editor = await vscode.window.showNotebookDocument(notebook);
    await vscode.commands.executeCommand('notebook.selectKernel', {
      editor,
      id: 'shared-futures-kernel/shared-futures-notebook',
      extension: EXTENSION_ID,
    });
    const cell = notebook.cellAt(0);
    const ended = new Promise<void>((resolve) => {
      const listener = vscode.workspace.onDidChangeNotebookDocument((change) => {
        if (change.notebook === notebook && cell.executionSummary?.success !== undefined) {
          listener.dispose();
          resolve();
        }
      });
    });
    await vscode.commands.executeCommand('notebook.execute', notebook.uri);
    await ended;
    assert.equal(cell.executionSummary?.success, true, outputText(cell));
    assert.equal(cell.executionSummary?.executionOrder, 1);
    assert.equal(outputText(cell), 'doubled 42\n');
    await vscode.commands.executeCommand('sharedFutures.disconnect');
  }).timeout(120_000);

  it('opens an .sfnb file as a Shared Futures notebook with its cells and saved outputs', async () => {
    const notebook = await vscode.workspace.openNotebookDocument(workspaceFile('hello.sfnb'));
    await vscode.window.showNotebookDocument(notebook);
    assert.equal(notebook.notebookType, 'shared-futures-notebook');
    const cells = notebook.getCells();
    assert.deepEqual(
      cells.map((c) => c.kind),
      [vscode.NotebookCellKind.Markup, vscode.NotebookCellKind.Code, vscode.NotebookCellKind.Code],
    );
    assert.equal(cells[1].document.getText(), 'const answer: number = 6 * 7;');
    assert.equal(cells[1].document.languageId, 'typescript');
    assert.equal(cells[2].executionSummary?.executionOrder, 2);
    assert.equal(outputText(cells[2]), 'saved output: the answer is 42\n');
  });

  it('saves an edited notebook as nbformat 4, keeping cell ids and adding the new cell', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sf-vscode-save-'));
    const file = path.join(dir, 'edited.sfnb');
    writeFileSync(file, readFileSync(workspaceFile('hello.sfnb').fsPath));
    const notebook = await vscode.workspace.openNotebookDocument(vscode.Uri.file(file));
    const edit = new vscode.WorkspaceEdit();
    edit.set(notebook.uri, [
      vscode.NotebookEdit.insertCells(notebook.cellCount, [
        new vscode.NotebookCellData(vscode.NotebookCellKind.Code, 'answer + 1', 'typescript'),
      ]),
    ]);
    assert.equal(await vscode.workspace.applyEdit(edit), true);
    assert.equal(await notebook.save(), true);
    const json = JSON.parse(readFileSync(file, 'utf8')) as { nbformat: number; cells: { id?: string; source: string[] }[] };
    assert.equal(json.nbformat, 4);
    assert.deepEqual(
      json.cells.slice(0, 3).map((c) => c.id),
      ['intro', 'define', 'show'],
    );
    assert.deepEqual(json.cells[3].source, ['answer + 1']);
    assert.equal(typeof json.cells[3].id, 'string');
  });
});
