/** A TCP proxy for the remote tests. */
import net from 'node:net';

/** A TCP proxy whose connections can be cut, to drop a client's connection without closing it. */
export async function proxyTo(port: number): Promise<{ port: number; cut(): void; refuse(on: boolean): void; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  let refusing = false;
  const server = net.createServer((inbound) => {
    if (refusing) {
      inbound.destroy();
      return;
    }
    const outbound = net.connect(port, '127.0.0.1');
    sockets.add(inbound).add(outbound);
    inbound.pipe(outbound).pipe(inbound);
    const drop = () => {
      inbound.destroy();
      outbound.destroy();
    };
    inbound.on('error', drop).on('close', drop);
    outbound.on('error', drop).on('close', drop);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    cut: () => {
      for (const s of sockets) s.destroy();
      sockets.clear();
    },
    /** While on, new connections are dropped at once: a client stays away until it is turned off. */
    refuse: (on: boolean) => {
      refusing = on;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
