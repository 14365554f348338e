/**
 * Connections made with the Shared Futures runtime (`scheduler/`). The runtime is loaded on the first
 * connect or start, not at activation, so activating the extension stays cheap.
 */
import type { Client, LocalCluster } from '../scheduler';
import type { SchedulerConnection, SchedulerConnector } from './connection';

/** A connection with the runtime objects behind it: the kernel and the views use the client. */
export interface RuntimeConnection extends SchedulerConnection {
  readonly client: Client;
  /** The in-process cluster, for a local connection (the kernel's worker gets a port to it). */
  readonly cluster: LocalCluster | undefined;
}

/** Client name shown in scheduler logs and stories. */
const CLIENT_NAME = 'vscode';

/** Starts local clusters and connects to remote schedulers with the runtime. */
export const runtimeConnector: SchedulerConnector<RuntimeConnection> = {
  async connectRemote(address, token) {
    const { Client } = await import('../scheduler');
    const client = await Client.connect(address, { token, name: CLIENT_NAME });
    return { address, kind: 'remote', client, cluster: undefined, close: () => client.close() };
  },

  async startLocal({ threads }) {
    const { Client, LocalCluster } = await import('../scheduler');
    const cluster = await LocalCluster.start({ threads });
    let client: Client;
    try {
      client = await Client.connect(cluster, { name: CLIENT_NAME });
    } catch (err) {
      await cluster.close();
      throw err;
    }
    return {
      address: 'local',
      kind: 'local',
      client,
      cluster,
      // Closing the cluster ends its pool's threads: nothing is left behind on deactivate.
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
