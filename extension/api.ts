/** What the extension returns from `activate`: for other extensions, and for its own VS Code tests. */
export interface SharedFuturesApi {
  /** The extension's version. */
  readonly version: string;
  /** Why `text` is not a scheduler address, or undefined: the check "Connect to Scheduler…" applies. */
  validateSchedulerAddress(text: string): string | undefined;
  /** The current scheduler connection, if any. */
  readonly connection: { readonly address: string; readonly kind: 'local' | 'remote' } | undefined;
}
