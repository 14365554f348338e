/** An in-process cluster: the scheduler on this thread plus a Piscina pool of worker threads. */
import { availableParallelism } from 'node:os';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { randomUUID } from 'node:crypto';
import { setDefaultClusterStarter, type ClientSide, type InProcessScheduler } from '../client/client';
import { InvalidArgumentError } from '../protocol/errors';
import { ThreadPool } from '../worker/pool/thread-pool';
import type { ClientMessage, SchedulerMessage } from '../protocol/messages';
import { SchedulerServer } from './server';
import { inThreadPair } from '../transport/in-thread';
import { listen, type ListenOptions, type Listener } from './ws-server';

export interface LocalClusterOptions {
  /** Worker threads of the pool (default: the machine's parallelism). 0 runs no local worker. */
  threads?: number;
  /** Serve the scheduler over WebSocket too (ws://host:port; a token is generated on loopback when absent). */
  listen?: ListenOptions;
}

export class LocalCluster implements InProcessScheduler {
  /** `ws://host:port` when listening, else `local://…`. */
  get address(): string {
    return this.listener?.address ?? this.server.address;
  }
  /** The token remote clients and workers must present (when listening). */
  get token(): string | undefined {
    return this.listener?.token;
  }
  private listener: Listener | undefined;
  /** @internal */
  readonly server: SchedulerServer;
  private pool: ThreadPool | undefined;
  private closed = false;

  private constructor(readonly threads: number) {
    this.server = new SchedulerServer(`local://${randomUUID().slice(0, 8)}`);
    if (threads > 0) {
      this.pool = new ThreadPool(this.server, threads);
      this.server.addWorker(this.pool, threads);
    }
  }

  /** Starts a scheduler and its thread pool in this process. */
  static async start(opts: LocalClusterOptions = {}): Promise<LocalCluster> {
    const threads = opts.threads ?? Math.max(1, availableParallelism());
    if (!Number.isInteger(threads) || threads < 0 || threads > 1024) {
      throw new InvalidArgumentError(`threads must be an integer from 0 to 1024, got ${String(opts.threads)}`);
    }
    const cluster = new LocalCluster(threads);
    if (opts.listen !== undefined) {
      try {
        cluster.listener = await listen(cluster.server, opts.listen);
      } catch (err) {
        await cluster.close();
        throw err;
      }
    }
    return cluster;
  }

  /** @internal a transport for a client on this thread. */
  connectInThread(): ClientSide {
    if (this.closed) throw new InvalidArgumentError('the cluster is closed');
    const [clientEnd, schedulerEnd] = inThreadPair<ClientMessage, SchedulerMessage>();
    this.server.accept(schedulerEnd);
    return clientEnd;
  }

  /** A MessagePort connected to this scheduler, for `Client.connect(port)` in another thread. */
  createPort(): MessagePort {
    if (this.closed) throw new InvalidArgumentError('the cluster is closed');
    const { port1, port2 } = new MessageChannel();
    this.server.acceptPort(port1);
    return port2;
  }

  /** Closes every connection and terminates the pool's threads. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (defaultCluster === this) defaultCluster = undefined;
    await this.listener?.close();
    await this.server.close();
  }
}

let defaultCluster: LocalCluster | undefined;
let starting: Promise<LocalCluster> | undefined;

/** The process-wide cluster `Client.connect()` uses, started on first use. */
export async function defaultLocalCluster(threads?: number): Promise<LocalCluster> {
  if (defaultCluster) return defaultCluster;
  starting ??= LocalCluster.start({ threads }).then((c) => {
    defaultCluster = c;
    starting = undefined;
    return c;
  });
  return starting;
}

setDefaultClusterStarter(defaultLocalCluster);
