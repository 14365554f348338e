/** What the extension and its TypeScript server plugin (ts-plugin.ts) agree on. */

/** The plugin's name, as in package.json's `typescriptServerPlugins`. */
export const TS_PLUGIN_NAME = 'shared-futures-ts-plugin';

/** What the extension sends with `configurePlugin`. */
export interface TsPluginConfiguration {
  /** Paths (`Uri.path`) of `.ipynb` notebooks run by our controller. */
  notebooks: string[];
}
