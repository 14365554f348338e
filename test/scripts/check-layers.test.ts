// The layer check of `npm run lint` (scripts/check-layers.mjs), run on small trees made for the purpose:
// it passes the project, and fails — naming the file and line — on each kind of wrong import.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';

const project = path.resolve(__dirname, '..', '..', '..');
const script = path.join(project, 'scripts', 'check-layers.mjs');

/** The command, as `npm run lint` runs it. */
function checkCommand(root?: string): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, root ? [script, root] : [script], { encoding: 'utf8' });
  return { status: r.status, out: r.stdout + r.stderr };
}

type CheckLayers = (root: string) => { modules: number; problems: string[] };
// The checker is an ES module; this file is compiled to CommonJS, where TypeScript would turn import() into
// require(), so the import is made at run time.
const importModule = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<{ checkLayers: CheckLayers }>;
const checker = importModule(pathToFileURL(script).href);

/** The checker in this process (each case takes milliseconds, not a Node start). */
async function check(root: string): Promise<{ status: number; out: string }> {
  const { problems } = (await checker).checkLayers(root);
  return { status: problems.length === 0 ? 0 : 1, out: problems.join('\n') };
}

/** A throwaway tree: file path → source. */
function tree(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sf-layers-'));
  for (const [file, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), text);
  }
  return dir;
}

const base = {
  'scheduler/index.ts': "export { Client } from './client/client';\n",
  'scheduler/protocol/messages.ts': 'export type Msg = { op: string };\n',
  'scheduler/client/client.ts': "import type { Msg } from '../protocol/messages';\nexport class Client { m?: Msg; }\n",
  'scheduler/core/state.ts': "import type { Msg } from '../protocol/messages';\nexport class State { m?: Msg; }\n",
  'kernel/kernel.ts': "import { Client } from '../scheduler';\nexport const c = Client;\n",
  'extension/extension.ts': "import { c } from '../kernel/kernel';\nexport const e = c;\n",
  'cli/cli.ts': "import { c } from '../kernel/kernel';\nexport const x = c;\n",
  'media/dashboard.ts': "import type { Snapshot } from '../extension/dashboard-rpc';\nexport let s: Snapshot | undefined;\n",
  'extension/dashboard-rpc.ts': "import type { Msg } from '../scheduler/protocol/messages';\nexport type Snapshot = Msg;\n",
  'kernel/status-view.ts': 'export const STATUS = 1;\n',
};

test('the command passes the project', () => {
  const r = checkCommand();
  assert.equal(r.status, 0, r.out);
  assert.match(r.out, /imports point one way, no cycles/);
});

test('the command fails, naming the problem, on a wrong-way import', () => {
  const r = checkCommand(tree({ ...base, 'kernel/kernel.ts': "import { e } from '../extension/extension';\nexport const c = e;\n" }));
  assert.equal(r.status, 1, r.out);
  assert.match(r.out, /kernel\/kernel\.ts:1: kernel\/ must not import extension\//);
  assert.match(r.out, /check-layers: 2 problem\(s\)/); // and the cycle it closes with extension → kernel
});

test('a tree that follows the arrows passes', async () => {
  const r = await check(tree(base));
  assert.equal(r.status, 0, r.out);
});

const wrong: [string, Record<string, string>, RegExp][] = [
  ['the runtime importing the kernel', { 'scheduler/client/client.ts': "import { c } from '../../kernel/kernel';\nexport const y = c;\n" }, /scheduler\/client\/client\.ts:1: scheduler\/ must not import kernel\//],
  ['the kernel importing the extension', { 'kernel/kernel.ts': "import { e } from '../extension/extension';\nexport const c = e;\n" }, /kernel\/kernel\.ts:1: kernel\/ must not import extension\//],
  ['the runtime importing the CLI', { 'scheduler/core/state.ts': "import type { x } from '../../cli/cli';\nexport type S = typeof x;\n" }, /scheduler\/ must not import cli\//],
  ['the client importing the core', { 'scheduler/client/client.ts': "import { State } from '../core/state';\nexport const Client = State;\n" }, /scheduler\/client\/ must not import scheduler\/core\//],
  ['a role importing the public surface', { 'scheduler/core/state.ts': "import { Client } from '..';\nexport const S = Client;\n" }, /must not import the public surface scheduler\/index\.ts/],
  ['a webview importing the extension', { 'media/dashboard.ts': "import { e } from '../extension/extension';\nexport const d = e;\n" }, /media\/ may import only the message modules/],
  ['a message module importing values', { 'extension/dashboard-rpc.ts': "import { c } from '../kernel/kernel';\nexport const Snapshot = c;\n" }, /a message module may only import types/],
  ['an import that resolves nowhere', { 'kernel/kernel.ts': "import { c } from './gone';\nexport const k = c;\n" }, /kernel\/kernel\.ts:1: cannot resolve '\.\/gone'/],
  ['an unknown role', { 'scheduler/misc/thing.ts': "import type { Msg } from '../protocol/messages';\nexport type T = Msg;\n" }, /scheduler\/misc\/ is not a known role/],
  [
    'a cycle',
    { 'kernel/a.ts': "import { b } from './b';\nexport const a = () => b;\n", 'kernel/b.ts': "import { a } from './a';\nexport const b = () => a;\n" },
    /import cycle: kernel\/a\.ts ↔ kernel\/b\.ts/,
  ],
  ['a dynamic require the wrong way', { 'scheduler/client/client.ts': "export const load = () => require('../../extension/extension');\n" }, /scheduler\/ must not import extension\//],
];

for (const [what, change, expected] of wrong) {
  test(`fails on ${what}`, async () => {
    const r = await check(tree({ ...base, ...change }));
    assert.equal(r.status, 1, r.out);
    assert.match(r.out, expected);
  });
}
