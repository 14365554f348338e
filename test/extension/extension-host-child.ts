/**
 * Run by lifecycle.test.ts in its own process: loads the bundled extension (dist/extension.js) with the fake
 * `vscode`, activates it, runs a notebook cell through its controller (which starts the local scheduler,
 * listening, and a kernel), deactivates it, and prints what it saw as one JSON line. It never calls
 * process.exit: the process has to end by itself, which it only does when nothing is left running.
 */
import { readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { installFakeVscode } from './fake-vscode';
import { spawnCli } from '../support/processes';
import { waitUntil } from '../support/wait';

/** OS threads of this process (main, libuv pool, V8 platform, and every worker thread). */
function threadCount(): number {
  return readdirSync('/proc/self/task').length;
}

/** True once `check` holds, false when it did not within `timeoutMs`: the parent test asserts on the report. */
function held(what: string, check: () => boolean, timeoutMs: number): Promise<boolean> {
  return waitUntil(what, check, { timeoutMs, intervalMs: 50 }).then(
    () => true,
    () => false,
  );
}

function portAccepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function main(): Promise<void> {
  const fake = installFakeVscode({ 'sharedFutures.localThreads': 2, 'sharedFutures.listen': true, 'sharedFutures.listenPort': 0 });
  await readFile(__filename); // starts libuv's thread pool, so the baseline includes it
  const baseline = threadCount();

  const extension = createRequire(__filename)(path.resolve(__dirname, '..', '..', '..', 'dist', 'extension.js')) as {
    activate(context: unknown): unknown;
    deactivate(): Promise<void>;
  };
  const context = fake.context();
  // The listening scheduler's message offers Copy token: take it, as a user handing the token to a script would.
  fake.chooseInformationItem = (_message, items) => (items.includes('Copy token') ? 'Copy token' : undefined);
  extension.activate(context);
  const controller = fake.controllers.find((c) => c.notebookType === 'shared-futures-notebook');
  if (!controller?.executeHandler) throw new Error('no controller for shared-futures-notebook');
  const { cell, notebook } = fake.cell('const x: number = 6 * 7;\nconsole.log(`answer ${x}`);\nclient.submit((a: number) => a + 1, x)');
  await controller.executeHandler([cell], notebook, controller);
  const run = controller.executions[0];
  // The result is a live future view: its update to "finished" arrives after the cell ended.
  const allText = () => (controller.executions.at(-1)?.outputs ?? []).flat().map((i) => i.text).join('\n');
  const liveUpdated = await held('the live view to show finished', () => /: finished>/.test(allText()), 20_000);
  const during = threadCount();
  const listening = fake.logged.map((line) => /listening at ws:\/\/127\.0\.0\.1:(\d+)/.exec(line)).find((m) => m !== null);
  const port = listening ? Number(listening[1]) : 0;
  const acceptedBefore = port > 0 && (await portAccepts(port));

  // A worker process outside the extension host joins the listening scheduler with the copied token; the
  // scheduler's own events reach the extension's log.
  await held('the copied token', () => fake.clipboard.text !== undefined, 10_000);
  const token = fake.clipboard.text ?? '';
  const worker = spawnCli(['worker', `ws://127.0.0.1:${port}`, '--threads', '1', '--token', token]);
  const workerJoined = await held('the worker joined', () => fake.logged.some((line) => /scheduler: worker .* joined/.test(line)), 30_000);
  await worker.stop('SIGKILL');
  const workerLost = await held('the worker lost', () => fake.logged.some((line) => /scheduler: worker .* lost/.test(line)), 30_000);
  const tokenLogged = token !== '' && fake.logged.some((line) => line.includes(token));

  await extension.deactivate();
  for (const subscription of context.subscriptions) subscription.dispose();
  await held('the threads to end', () => threadCount() <= baseline, 10_000);
  const after = threadCount();
  const acceptedAfter = port > 0 && (await portAccepts(port));
  fake.uninstall();
  process.stdout.write(
    `${JSON.stringify({
      baseline,
      during,
      after,
      success: run.success,
      executionOrder: run.executionOrder,
      outputs: run.outputs,
      lateText: allText(),
      liveUpdated,
      acceptedBefore,
      acceptedAfter,
      tokenCopied: token.length > 0,
      workerJoined,
      workerLost,
      tokenLogged,
      logged: fake.logged,
    })}\n`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
