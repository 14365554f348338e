/**
 * Connections made with the Shared Futures runtime (`scheduler/`). The runtime is loaded on the first
 * connect or start, not at activation, so activating the extension stays cheap.
 */
import type { KernelConnect } from '../kernel/kernel';
import type { Client, LocalCluster } from '../scheduler';
import type { SchedulerConnection, SchedulerConnector } from './connection';

/** Where a listening local scheduler can be reached from outside the extension host. */
export interface ListeningAddress {
  /** ws://127.0.0.1:PORT */
  readonly address: string;
  /** The token remote clients must present; shown only on request (Copy token), never logged. */
  readonly token: string;
}

/** A connection with the runtime objects behind it: the kernel and the views use the client. */
export interface RuntimeConnection extends SchedulerConnection {
  readonly client: Client;
  /** The in-process cluster, for a local connection (the kernel thread gets a port to it). */
  readonly cluster: LocalCluster | undefined;
  /** For a local scheduler started with `sharedFutures.listen` on: its WebSocket address and token. */
  readonly listening: ListeningAddress | undefined;
  /** How a notebook kernel's `client` reaches this scheduler: a MessagePort (local) or address and token. */
  kernelConnect(): KernelConnect;
}

/** Client name shown in scheduler logs and stories. */
const CLIENT_NAME = 'vscode';

/** Starts local clusters and connects to remote schedulers with the runtime. */
export const runtimeConnector: SchedulerConnector<RuntimeConnection> = {
  async connectRemote(address, token) {
    const { Client } = await import('../scheduler');
    const client = await Client.connect(address, { token, name: CLIENT_NAME });
    return {
      address,
      kind: 'remote',
      client,
      cluster: undefined,
      listening: undefined,
      // The token stays in this closure: kernels get it, logs and the API never see it.
      kernelConnect: () => ({ address, token }),
      close: () => client.close(),
    };
  },

  async startLocal({ threads, listen, log }) {
    const { Client, LocalCluster } = await import('../scheduler');
    // On loopback the runtime generates the token when none is given.
    const cluster = await LocalCluster.start({ threads, log, listen: listen === undefined ? undefined : { host: '127.0.0.1', port: listen.port } });
    let client: Client;
    try {
      client = await Client.connect(cluster, { name: CLIENT_NAME });
    } catch (err) {
      await cluster.close();
      throw err;
    }
    const token = cluster.token;
    return {
      address: 'local',
      kind: 'local',
      client,
      cluster,
      listening: listen !== undefined && token !== undefined ? { address: cluster.address, token } : undefined,
      kernelConnect: () => () => cluster.createPort(),
      // Closing the cluster ends its pool's threads and its listener: nothing is left behind on deactivate.
      close: async () => {
        try {
          await client.close();
        } finally {
          await cluster.close();
        }
      },
    };
  },
};
