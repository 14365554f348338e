import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as runtime from '../../scheduler';
import { Kernel, type CellRun, type KernelOutput } from '../../kernel/kernel';
import type { RuntimeModule } from '../../kernel/runtime-types';
import { STATUS_MIME, type StatusView } from '../../kernel/status-view';
import { waitUntil } from '../support/wait';

// The kernel loads the runtime by path; this line fails to compile if the runtime stops fitting it.
const fitsKernel: RuntimeModule = runtime;

function resultText(run: CellRun): string | undefined {
  const result = run.outputs.find((o) => o.type === 'display' && o.result);
  return result && result.type === 'display' ? String(result.data['text/plain']) : undefined;
}

async function ok(kernel: Kernel, source: string): Promise<CellRun> {
  const run = await kernel.execute(source);
  assert.equal(run.status, 'ok', `cell failed: ${JSON.stringify(run.error)}`);
  return run;
}

describe('kernel with a LocalCluster client', () => {
  let cluster: runtime.LocalCluster;
  let kernel: Kernel;
  let ports = 0;

  before(async () => {
    assert.equal(typeof fitsKernel.Client.connect, 'function');
    cluster = await runtime.LocalCluster.start({ threads: 2 });
    kernel = await Kernel.start({
      connect: () => {
        ports++;
        return cluster.createPort();
      },
      interruptGraceMs: 300,
    });
  });

  after(async () => {
    await kernel.dispose();
    await cluster.close();
  });

  test('the prelude has client, Client, Future, Channel and zip', async () => {
    const run = await ok(kernel, '[typeof client.submit, typeof Client.connect, typeof Future, typeof Channel, typeof zip, typeof display].join()');
    assert.equal(resultText(run), `'function,function,function,function,function,function'`);
  });

  test('a submitted future shows as a live output that ends finished', async () => {
    const outputs: KernelOutput[] = [];
    const subscription = kernel.onOutput((o) => outputs.push(o));
    const run = await ok(kernel, 'const inc = client.submit((x: number) => x + 1, 41);\ninc');
    const shown = run.outputs.find((o) => o.type === 'display');
    assert.ok(shown && shown.type === 'display');
    assert.equal((shown.data[STATUS_MIME] as StatusView).kind, 'future');
    assert.equal(resultText(await ok(kernel, 'await inc.result()')), '42');
    // once finished, the live output's last state says so (an update, or the first render if it was quick)
    await kernel.flushLiveOutputs();
    subscription.dispose();
    const states = [shown, ...outputs.filter((o) => o.type === 'display' && o.outputId === shown.outputId)];
    const last = states[states.length - 1] as Extract<KernelOutput, { type: 'display' }>;
    const view = last.data[STATUS_MIME] as StatusView;
    assert.equal(view.counts.finished, 1);
    assert.equal(view.done, true);
  });

  test('a channel renders with its name and counts', async () => {
    const run = await ok(kernel, 'const chan = client.channel("kernel-test");\nchan.append(inc); chan.append({ v: 1 });\nawait chan.flush();\nchan');
    const shown = run.outputs.find((o) => o.type === 'display');
    assert.ok(shown && shown.type === 'display');
    const view = shown.data[STATUS_MIME] as StatusView;
    assert.equal(view.kind, 'channel');
    assert.equal(view.channel?.name, 'kernel-test');
    assert.equal(view.channel?.count, 2);
    assert.equal(view.futures, 1);
  });

  test('a live channel view does not keep alive the futures the channel evicted', async () => {
    await ok(kernel, 'const rolling = client.channel("kernel-rolling", { maxlen: 2 });\nrolling');
    const observer = await runtime.Client.connect(cluster);
    try {
      // Futures appended one by one while the view is live and refreshing; the appender lets go of each.
      await ok(kernel, 'for (let i = 0; i < 8; i++) { const f = client.submit({ fn: (x: number) => x, args: [i], key: `rolling-${i}` }); rolling.append(f); await rolling.flush(); await f.result(); f.release(); await sleep(30); }');
      await kernel.flushLiveOutputs();
      const held = async () => {
        const keys: string[] = [];
        for (let i = 0; i < 8; i++) if ((await observer.story(`rolling-${i}`)).at(-1)?.to !== 'forgotten') keys.push(`rolling-${i}`);
        return keys;
      };
      await waitUntil('evicted futures forgotten', async () => (await held()).length <= 2);
      assert.deepEqual(await held(), ['rolling-6', 'rolling-7'], 'only what the channel retains is held');
    } finally {
      await observer.close();
    }
  });

  test('interrupting a wait on a result keeps the client usable', async () => {
    const started = new Promise<void>((resolve) => {
      const subscription = kernel.onOutput((o) => {
        if (o.type === 'stream' && o.text.includes('waiting for a result')) {
          subscription.dispose();
          resolve();
        }
      });
    });
    const waiting = kernel.execute('console.log("waiting for a result");\nawait client.submit(async () => { await sleep(60_000); return 1; }).result()');
    await started;
    await kernel.interrupt();
    assert.equal((await waiting).status, 'interrupted');
    assert.equal(resultText(await ok(kernel, 'await client.submit((a: number) => a * 3, 5).result()')), '15');
  });

  test('restart clears state and connects a fresh client', async () => {
    const before = await ok(kernel, 'client.id');
    const portsBefore = ports;
    await kernel.restart();
    const run = await ok(kernel, '[typeof inc, await client.submit((a: number) => a - 1, 1).result()].join()');
    assert.equal(resultText(run), `'undefined,0'`);
    assert.equal(ports, portsBefore + 1);
    assert.notEqual(resultText(await ok(kernel, 'client.id')), resultText(before));
  });
});
