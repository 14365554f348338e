/**
 * A cluster listening on loopback with many subscriber clients of one channel, each watched as its channel
 * receives items (a batch at a time, before any iterator sees them): for tests of how a fan-out reaches
 * its subscribers. The transports' slices are restored and every client and the cluster closed by `close`.
 */
import { Client, LocalCluster } from '../../scheduler';
import type { WireItem } from '../../scheduler/protocol/messages';
import { setSlices } from '../../scheduler/wire/ws-transport';

export interface Fanout {
  cluster: LocalCluster;
  /** A new client of the cluster, closed with it. */
  connect(): Promise<Client>;
  close(): Promise<void>;
}

/**
 * A cluster running no tasks, listening on loopback, and `subscribers` clients subscribed to `channel` (each
 * with its replay): `onItems(i, start, items)` hears each batch subscriber `i` receives.
 */
export async function fanout(token: string, channel: string, subscribers: number, onItems: (i: number, start: number, items: WireItem[]) => void): Promise<Fanout> {
  const cluster = await LocalCluster.start({ threads: 0, listen: { port: 0, token } });
  const clients: Client[] = [];
  const slices = setSlices({});
  const f: Fanout = {
    cluster,
    async connect() {
      const c = await Client.connect(cluster.address, { token, reconnect: false });
      clients.push(c);
      return c;
    },
    async close() {
      setSlices(slices);
      for (const c of clients) await c.close();
      await cluster.close();
    },
  };
  try {
    for (let i = 0; i < subscribers; i++) {
      const chan = (await f.connect()).channel(channel);
      await chan.ready;
      const receive = chan.receiveItems.bind(chan);
      chan.receiveItems = (start: number, items: WireItem[]) => {
        receive(start, items);
        onItems(i, start, items);
      };
    }
  } catch (err) {
    await f.close();
    throw err;
  }
  return f;
}
