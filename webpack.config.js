// Builds everything the package ships into dist/: the runtime library, its Piscina worker entry, the CLI,
// the extension, the kernel's worker thread, and the two browser-side bundles (dashboard, renderer).
// piscina and ws stay external: piscina spawns its own worker file from its package folder.
const path = require('path');
const webpack = require('webpack');

const dist = path.resolve(__dirname, 'dist');

/** TypeScript through ts-loader; type checking is `npm run typecheck`'s job. */
const typescript = {
  resolve: { extensions: ['.ts', '.js'] },
  module: {
    rules: [
      {
        test: /\.ts$/,
        exclude: /node_modules/,
        use: { loader: 'ts-loader', options: { transpileOnly: true, configFile: 'tsconfig.json' } },
      },
    ],
  },
  optimization: { minimize: false },
};

/** A Node-side bundle (CommonJS). */
const nodeBundle = (entry, filename, extra = {}) => ({
  ...typescript,
  target: 'node20',
  entry,
  output: { path: dist, filename, library: { type: 'commonjs2' } },
  externals: {
    piscina: 'commonjs piscina',
    ws: 'commonjs ws',
    typescript: 'commonjs typescript',
    vscode: 'commonjs vscode',
    bufferutil: 'commonjs bufferutil',
    'utf-8-validate': 'commonjs utf-8-validate',
    // A native addon (its prebuilt binaries sit in the package), loaded from node_modules.
    zeromq: 'commonjs zeromq',
  },
  node: { __dirname: false, __filename: false },
  devtool: 'source-map',
  ...extra,
});

/** A bundle for a webview (no Node APIs). */
const webBundle = (entry, output, extra = {}) => ({
  ...typescript,
  target: 'web',
  entry,
  output: { path: dist, ...output },
  devtool: false,
  ...extra,
});

module.exports = [
  nodeBundle('./scheduler/index.ts', 'runtime.js'),
  nodeBundle('./scheduler/worker/pool/worker-entry.ts', 'pool-worker.js'),
  nodeBundle('./cli/main.ts', 'cli.js', {
    plugins: [new webpack.BannerPlugin({ banner: '#!/usr/bin/env node', raw: true, entryOnly: true })],
  }),
  nodeBundle('./extension/extension.ts', 'extension.js'),
  // The notebook kernel's worker thread; it loads dist/runtime.js at run time (see kernel/runtime-types.ts).
  nodeBundle('./kernel/kernel-worker.ts', 'kernel-worker.js'),
  // The TypeScript server plugin: the package ts-plugin/ (a file: dependency, so it is node_modules/shared-futures-ts-plugin).
  nodeBundle('./extension/ts-plugin.ts', 'index.js', { output: { path: path.resolve(__dirname, 'ts-plugin'), filename: 'index.js', library: { type: 'commonjs2' } }, devtool: false }),
  // The dashboard webview: a classic script (the page loads it with a CSP nonce), comlink bundled in.
  webBundle('./media/dashboard.ts', { filename: 'dashboard.js' }),
  // The notebook renderer for application/vnd.shared-futures+json: an ES module for the notebook webview.
  webBundle('./media/renderer.ts', { filename: 'renderer.js', library: { type: 'module' } }, { experiments: { outputModule: true } }),
];
