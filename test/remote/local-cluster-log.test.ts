// LocalClusterOptions.log: the scheduler's log lines (a worker process joining, then lost) reach the caller's
// function, which is how the CLI and the extension's output channel show them.
import { test } from 'node:test';
import { LocalCluster } from '../../scheduler';
import { WorkerProcess } from '../../scheduler/worker/remote/worker-process';
import { waitUntil } from '../support/wait';

test('a LocalCluster hands its log lines to the log option', async () => {
  const lines: string[] = [];
  const cluster = await LocalCluster.start({ threads: 0, listen: { port: 0 }, log: (level, message) => lines.push(`${level}: ${message}`) });
  try {
    const worker = await WorkerProcess.start(cluster.address, { threads: 1, token: cluster.token, name: 'logged' });
    await waitUntil('the join logged', () => lines.some((l) => /^info: worker .* \(logged\) joined with 1 threads$/.test(l)), 10_000);
    await worker.close();
    await waitUntil('the loss logged', () => lines.some((l) => /^warn: worker .* lost: .*its tasks are rescheduled$/.test(l)), 10_000);
  } finally {
    await cluster.close();
  }
});
