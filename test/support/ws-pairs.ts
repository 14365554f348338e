/** Connected pairs of WebSocket transports on loopback, for tests of the wire. */
import { WebSocket, WebSocketServer } from 'ws';
import { DEFAULT_LIMITS } from '../../scheduler/wire/limits';
import { WebSocketTransport, type WsTransportOptions } from '../../scheduler/wire/ws-transport';

export type Msg = { op: string; [k: string]: unknown };

/** `n` connected pairs of WebSocket transports: [sender (server side, with `options`), receiver (client side)]. */
export async function wsPairs(n: number, options: Partial<WsTransportOptions> = {}): Promise<{ ends: [WebSocketTransport<Msg, Msg>, WebSocketTransport<Msg, Msg>][]; close: () => Promise<void> }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const port = (wss.address() as { port: number }).port;
  const ends: [WebSocketTransport<Msg, Msg>, WebSocketTransport<Msg, Msg>][] = [];
  for (let i = 0; i < n; i++) {
    const accepted = new Promise<WebSocket>((resolve) => wss.once('connection', resolve));
    const ws = new WebSocket(`ws://127.0.0.1:${port}`);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const server = new WebSocketTransport<Msg, Msg>(await accepted, { limits: DEFAULT_LIMITS, ...options });
    ends.push([server, new WebSocketTransport<Msg, Msg>(ws, { limits: DEFAULT_LIMITS })]);
  }
  return {
    ends,
    close: async () => {
      for (const [a, b] of ends) {
        a.close();
        b.close();
      }
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
