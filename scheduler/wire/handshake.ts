/** The handshake both ends of a WebSocket connection agree on (ws-client.ts sends it, server/ws-server.ts checks it). */

/** The first frame of every connection: a JSON text frame. */
export interface Handshake {
  op: 'hello';
  version: number;
  role: 'client' | 'worker';
  /** Client id (role client) or worker id (role worker). */
  id: string;
  name?: string;
  threads?: number;
  token?: string;
  /** A client coming back after a lost connection. */
  resume?: boolean;
}
