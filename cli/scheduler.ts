/** `shared-futures scheduler`: a standalone scheduler with a local thread pool, serving ws:// (or wss://). */
import { availableParallelism } from 'node:os';
import { LocalCluster } from '../scheduler/server/local-cluster';
import { command, parseCommand } from './args';
import type { CliIo } from './io';

export const SCHEDULER = command({
  name: 'scheduler',
  summary: 'Starts a standalone scheduler that workers, notebooks and scripts connect to.',
  positionals: [],
  options: {
    host: { kind: 'string', value: 'HOST', default: '127.0.0.1', help: 'address to listen on; beyond loopback a --token is required' },
    port: { kind: 'int', value: 'PORT', min: 0, max: 65535, default: 8786, help: 'port to listen on, 0 for a free one' },
    threads: { kind: 'int', value: 'N', min: 0, max: 1024, help: 'local worker threads, 0 for none (default: the number of CPUs)' },
    token: { kind: 'string', value: 'TOKEN', help: 'token clients and workers must present, at least 8 characters (default: SHARED_FUTURES_TOKEN, else one is generated and printed)' },
    cert: { kind: 'string', value: 'FILE', help: 'TLS certificate (PEM), to serve wss:// (with --key)' },
    key: { kind: 'string', value: 'FILE', help: 'TLS private key (PEM), with --cert' },
  },
});

/** Starts a scheduler; resolves with a function that stops it. */
export async function schedulerCommand(argv: readonly string[], io: CliIo): Promise<() => Promise<void>> {
  const { values } = parseCommand(SCHEDULER, argv);
  const threads = values.threads ?? Math.max(1, availableParallelism());
  const token = values.token ?? process.env.SHARED_FUTURES_TOKEN;
  const cluster = await LocalCluster.start({
    threads,
    log: (level, message) => (level === 'warn' ? io.err : io.out)(`[scheduler] ${message}`),
    listen: { host: values.host, port: values.port, token, cert: values.cert, key: values.key },
  });
  io.out(`Shared Futures scheduler at ${cluster.address} (${threads > 0 ? `${threads} local threads` : 'no local threads'})`);
  if (token === undefined) {
    // Shown once, like Jupyter's, so the user can pass it on; a token the user chose is never printed.
    io.out(`Connect with the token printed here (it was generated):`);
    io.out(`    ${cluster.address}/?token=${cluster.token}`);
  }
  return () => cluster.close();
}
