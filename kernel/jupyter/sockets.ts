/**
 * The kernel's five ZeroMQ sockets, bound as the connection file says: heartbeat (REP, echoes), shell and
 * control (ROUTER), stdin (ROUTER) and iopub (PUB). Sends are serialised per socket, since a zeromq 6
 * socket refuses a send while another is in flight.
 */
import * as zmq from 'zeromq';
import { endpoint, type ConnectionInfo } from './connection';

export type RequestChannel = 'shell' | 'control' | 'stdin';

/** Queues sends on one socket so that at most one is in flight, in order. */
class SerialSender {
  private tail: Promise<void> = Promise.resolve();

  constructor(
    private readonly socket: zmq.Writable,
    private readonly onError: (err: Error) => void,
  ) {}

  send(frames: Buffer[]): Promise<void> {
    const next = this.tail.then(() => this.socket.send(frames)).catch((err: Error) => this.onError(err));
    this.tail = next;
    return next;
  }

  /** Resolves when everything queued so far was handed to ZeroMQ. */
  drained(): Promise<void> {
    return this.tail;
  }
}

/** The bound sockets. */
export class KernelSockets {
  private readonly routers: Record<RequestChannel, zmq.Router>;
  private readonly iopub: zmq.Publisher;
  private readonly heartbeat: zmq.Reply;
  private readonly senders: Record<RequestChannel | 'iopub', SerialSender>;
  private closed = false;

  private constructor(private readonly log: (line: string) => void) {
    // linger: pending replies get a moment to leave on close (a shutdown_reply must reach the client).
    this.routers = { shell: new zmq.Router({ linger: 1000 }), control: new zmq.Router({ linger: 1000 }), stdin: new zmq.Router({ linger: 0 }) };
    this.iopub = new zmq.Publisher({ linger: 1000 });
    this.heartbeat = new zmq.Reply({ linger: 0 });
    const onError = (name: string) => (err: Error) => {
      if (!this.closed) this.log(`could not send on ${name}: ${err.message}`);
    };
    this.senders = {
      shell: new SerialSender(this.routers.shell, onError('shell')),
      control: new SerialSender(this.routers.control, onError('control')),
      stdin: new SerialSender(this.routers.stdin, onError('stdin')),
      iopub: new SerialSender(this.iopub, onError('iopub')),
    };
  }

  /** Binds every socket; fails (with the endpoint named) when a port is taken. */
  static async bind(info: ConnectionInfo, log: (line: string) => void): Promise<KernelSockets> {
    const sockets = new KernelSockets(log);
    const binds: [zmq.Socket, number][] = [
      [sockets.routers.shell, info.shell_port],
      [sockets.routers.control, info.control_port],
      [sockets.routers.stdin, info.stdin_port],
      [sockets.iopub, info.iopub_port],
      [sockets.heartbeat, info.hb_port],
    ];
    try {
      for (const [socket, port] of binds) {
        const address = endpoint(info, port);
        try {
          await socket.bind(address);
        } catch (err) {
          throw new Error(`cannot bind ${address}: ${(err as Error).message}`);
        }
      }
    } catch (err) {
      sockets.close();
      throw err;
    }
    void sockets.echoHeartbeats();
    return sockets;
  }

  /** Incoming multipart messages of a request channel, until the sockets close. */
  async *receive(channel: RequestChannel): AsyncGenerator<Buffer[]> {
    const socket = this.routers[channel];
    while (!this.closed) {
      let frames: Buffer[];
      try {
        frames = await socket.receive();
      } catch (err) {
        if (this.closed) return;
        throw err;
      }
      yield frames;
    }
  }

  /** Sends on a request channel (a reply, routed by its identities) or on iopub. */
  send(channel: RequestChannel | 'iopub', frames: Buffer[]): Promise<void> {
    return this.closed ? Promise.resolve() : this.senders[channel].send(frames);
  }

  /** Resolves when every send queued so far has been handed to ZeroMQ. */
  async drained(): Promise<void> {
    await Promise.all(Object.values(this.senders).map((sender) => sender.drained()));
  }

  /** Closes every socket (queued sends linger briefly). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const socket of [...Object.values(this.routers), this.iopub, this.heartbeat]) {
      socket.close();
    }
  }

  private async echoHeartbeats(): Promise<void> {
    try {
      for await (const frames of this.heartbeat) {
        await this.heartbeat.send(frames);
      }
    } catch (err) {
      if (!this.closed) this.log(`heartbeat stopped: ${(err as Error).message}`);
    }
  }
}
