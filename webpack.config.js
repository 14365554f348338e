// Builds the runtime library, its Piscina worker entry and the CLI into dist/.
// piscina and ws stay external: piscina spawns its own worker file from its package folder.
const path = require('path');
const webpack = require('webpack');

/** Shared settings for every Node-side bundle. */
const nodeBundle = (entry, filename, extra = {}) => ({
  target: 'node20',
  entry,
  output: {
    path: path.resolve(__dirname, 'dist'),
    filename,
    library: { type: 'commonjs2' },
  },
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
  externals: {
    piscina: 'commonjs piscina',
    ws: 'commonjs ws',
    typescript: 'commonjs typescript',
    vscode: 'commonjs vscode',
    bufferutil: 'commonjs bufferutil',
    'utf-8-validate': 'commonjs utf-8-validate',
  },
  node: { __dirname: false, __filename: false },
  devtool: 'source-map',
  optimization: { minimize: false },
  ...extra,
});

module.exports = [
  nodeBundle('./scheduler/index.ts', 'runtime.js'),
  nodeBundle('./scheduler/pool/worker-entry.ts', 'pool-worker.js'),
  nodeBundle('./scheduler/cli-main.ts', 'cli.js', {
    plugins: [new webpack.BannerPlugin({ banner: '#!/usr/bin/env node', raw: true, entryOnly: true })],
  }),
  nodeBundle('./extension/extension.ts', 'extension.js'),
  // The notebook kernel's worker thread; it loads dist/runtime.js at run time (see kernel/runtime-types.ts).
  nodeBundle('./kernel/kernel-worker.ts', 'kernel-worker.js'),
  // The dashboard webview: a classic script (the page loads it with a CSP nonce), comlink bundled in.
  {
    target: 'web',
    entry: './media/dashboard.ts',
    output: { path: path.resolve(__dirname, 'dist'), filename: 'dashboard.js' },
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
    devtool: false,
    optimization: { minimize: false },
  },
  // The notebook renderer for application/vnd.shared-futures+json: an ES module for the notebook webview.
  {
    target: 'web',
    entry: './media/renderer.ts',
    experiments: { outputModule: true },
    output: { path: path.resolve(__dirname, 'dist'), filename: 'renderer.js', library: { type: 'module' } },
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
    devtool: false,
    optimization: { minimize: false },
  },
];
