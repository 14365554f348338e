/** The VS Code input boxes and quick pick behind "Connect to Scheduler…" (the flow is in connect-input.ts). */
import * as vscode from 'vscode';
import { EXAMPLE_ADDRESS, validateSchedulerAddress, type ConnectPrompts } from './connect-input';

const TITLE = 'Connect to Scheduler';

/** Prompts shown with VS Code's quick input. */
export const vscodeConnectPrompts: ConnectPrompts = {
  async address(recent) {
    if (recent.length > 0) {
      const other: vscode.QuickPickItem = { label: '$(add) Enter another address…', alwaysShow: true };
      const picked = await vscode.window.showQuickPick(
        [...recent.map((address): vscode.QuickPickItem => ({ label: address, description: 'recent' })), other],
        { title: TITLE, placeHolder: 'Pick a recent scheduler address or enter another one', ignoreFocusOut: true },
      );
      if (picked === undefined) {
        return undefined;
      }
      if (picked !== other) {
        return picked.label;
      }
    }
    return vscode.window.showInputBox({
      title: TITLE,
      prompt: 'Address of a Shared Futures scheduler (ws:// or wss://)',
      placeHolder: EXAMPLE_ADDRESS,
      ignoreFocusOut: true,
      validateInput: (text) => {
        const problem = validateSchedulerAddress(text);
        return problem === undefined ? undefined : { message: problem, severity: vscode.InputBoxValidationSeverity.Error };
      },
    });
  },

  token(address, stored) {
    return vscode.window.showInputBox({
      title: `${TITLE}: token`,
      prompt: `Token for ${address} (leave empty if the scheduler needs none; kept in VS Code's secret storage)`,
      password: true,
      value: stored ?? '',
      ignoreFocusOut: true,
    });
  },
};
