/** The handshake both ends of a WebSocket connection agree on (ws-client.ts sends it, server/ws-server.ts checks it). */

/** The first frame of every connection: a JSON text frame. */
export interface Handshake {
  op: 'hello';
  version: number;
  /** 'peer': a worker process or a client fetching results from a worker process's peer server. */
  role: 'client' | 'worker' | 'peer';
  /** Client id (role client) or worker id (role worker). */
  id: string;
  name?: string;
  threads?: number;
  token?: string;
  /** A client coming back after a lost connection. */
  resume?: boolean;
  /** Role worker: the `ws://host:port` address where its peer server listens (other workers and clients fetch results there). */
  peer?: string;
  /** Role client: it can fetch results from worker processes itself, so a gather may answer with where they are. */
  direct?: boolean;
}
