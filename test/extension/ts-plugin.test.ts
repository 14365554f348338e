/**
 * The TypeScript server plugin in a real tsserver (the one of this package's typescript), loaded the way
 * VS Code loads it: `--globalPlugins shared-futures-ts-plugin --pluginProbeLocations <extension folder>`,
 * with cells opened under the names VS Code gives notebook cells.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';

const root = path.resolve(__dirname, '..', '..', '..');

interface Response {
  success: boolean;
  message?: string;
  body?: unknown;
}

class TsServer {
  private readonly process: ChildProcessWithoutNullStreams;
  private buffer = Buffer.alloc(0);
  private seq = 0;
  private readonly waiting = new Map<number, (response: Response) => void>();

  constructor() {
    const tsserver = path.join(root, 'node_modules', 'typescript', 'lib', 'tsserver.js');
    this.process = spawn(process.execPath, [tsserver, '--globalPlugins', 'shared-futures-ts-plugin', '--pluginProbeLocations', root, '--useInferredProjectPerProjectRoot'], {
      stdio: 'pipe',
    });
    this.process.stdout.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      for (;;) {
        const header = /Content-Length: (\d+)\r\n\r\n/.exec(this.buffer.toString('latin1'));
        if (!header) {
          return;
        }
        const start = header.index + header[0].length;
        const length = Number(header[1]);
        if (this.buffer.length < start + length) {
          return;
        }
        const message = JSON.parse(this.buffer.subarray(start, start + length).toString('utf8')) as Response & { type: string; request_seq: number };
        this.buffer = this.buffer.subarray(start + length);
        if (message.type === 'response') {
          this.waiting.get(message.request_seq)?.(message);
          this.waiting.delete(message.request_seq);
        }
      }
    });
  }

  request(command: string, args: unknown): Promise<Response> {
    const seq = ++this.seq;
    return new Promise((resolve) => {
      this.waiting.set(seq, resolve);
      this.process.stdin.write(`${JSON.stringify({ seq, type: 'request', command, arguments: args })}\n`);
    });
  }

  /** Opens an in-memory file; `projectRoot` is the workspace folder VS Code would give (one inferred project each). */
  async open(file: string, text: string, projectRoot: string): Promise<void> {
    const response = await this.request('updateOpen', { openFiles: [{ file, fileContent: text, scriptKindName: 'TS', projectRootPath: projectRoot }] });
    assert.ok(response.success, response.message);
  }

  async quickInfo(file: string, line: number, offset: number): Promise<string | undefined> {
    const response = await this.request('quickinfo', { file, line, offset });
    return response.success ? (response.body as { displayString: string }).displayString : undefined;
  }

  stop(): void {
    this.process.kill();
  }
}

const cellOf = (notebook: string, n: number) => `^/vscode-notebook-cell/ts-nul-authority${notebook}#W${n}sZmlsZQ==`;

describe('TypeScript server plugin', { timeout: 120_000 }, () => {
  let server: TsServer;

  before(async () => {
    server = new TsServer();
    await server.request('configure', { preferences: {} });
  });

  after(() => server.stop());

  it('in a .sfnb cell: client has the runtime types, submit/channel/map come first, definitions lead into the runtime', async () => {
    const cell = cellOf('/tmp/sf-notebooks/a.sfnb', 0);
    await server.open(cell, "const chan = client.channel<number>('a');\nclient.", '/tmp/sf-notebooks');
    const completions = await server.request('completionInfo', { file: cell, line: 2, offset: 8 });
    assert.ok(completions.success, completions.message);
    const entries = (completions.body as { entries: { name: string; sortText: string }[] }).entries;
    const sorted = [...entries].sort((a, b) => a.sortText.localeCompare(b.sortText) || a.name.localeCompare(b.name));
    assert.deepEqual(sorted.slice(0, 3).map((e) => e.name), ['submit', 'channel', 'map']);
    assert.equal(await server.quickInfo(cell, 1, 8), 'const chan: Channel<number>');
    const definition = await server.request('definition', { file: cell, line: 1, offset: 22 });
    const files = (definition.body as { file: string }[]).map((d) => path.relative(root, d.file));
    assert.deepEqual(files, [path.join('dist', 'types', 'scheduler', 'client', 'client.d.ts')]);
  });

  it('in a .sfnb cell: signature help of client.submit names its parameters and documents it', async () => {
    const cell = cellOf('/tmp/sf-notebooks/c.sfnb', 0);
    await server.open(cell, 'client.submit(', '/tmp/sf-notebooks');
    const help = await server.request('signatureHelp', { file: cell, line: 1, offset: 15 });
    assert.ok(help.success, help.message);
    type Parts = { text: string }[];
    const items = (help.body as { items: { prefixDisplayParts: Parts; documentation: Parts; parameters: { name: string; displayParts: Parts }[] }[] }).items;
    const first = items[0];
    assert.equal(first.prefixDisplayParts.map((p) => p.text).join(''), 'submit(');
    assert.equal(first.parameters[0].name, 'fn');
    assert.match(first.parameters[0].displayParts.map((p) => p.text).join(''), /^fn: \(.*\) => unknown$/);
    assert.ok(items.length >= 4, `the overloads of submit: ${items.length}`);
    assert.match(first.documentation.map((p) => p.text).join(''), /Submits `fn\(\.\.\.args\)`/);
  });

  it('leaves projects without our cells alone, and an .ipynb until the extension says it runs it', async () => {
    const plain = '/tmp/sf-notebooks-plain/loose.ts';
    await server.open(plain, 'client;\n', '/tmp/sf-notebooks-plain');
    assert.doesNotMatch((await server.quickInfo(plain, 1, 2)) ?? 'nothing', /Client/);

    const notebook = '/tmp/sf-notebooks-ipynb/b.ipynb';
    const cell = cellOf(notebook, 0);
    await server.open(cell, 'client;\n', '/tmp/sf-notebooks-ipynb');
    assert.doesNotMatch((await server.quickInfo(cell, 1, 2)) ?? 'nothing', /Client/);
    const configured = await server.request('configurePlugin', { pluginName: 'shared-futures-ts-plugin', configuration: { notebooks: [notebook] } });
    assert.ok(configured.success, configured.message);
    assert.equal(await server.quickInfo(cell, 1, 2), 'const client: Client');
  });
});
