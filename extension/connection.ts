/**
 * The extension's one current scheduler connection: local (in the extension host) or remote (WebSocket).
 * No `vscode` import; the way to reach a scheduler is a `SchedulerConnector` handed in, so the switching
 * rules (a failed connect keeps the previous connection, the old one is closed only after the new one works)
 * are unit-tested without VS Code or the runtime.
 */
import type { Disposable } from '../scheduler';

/** A live connection to a scheduler. */
export interface SchedulerConnection {
  /** 'local' for the in-process scheduler, else its ws:// or wss:// address. */
  readonly address: string;
  readonly kind: 'local' | 'remote';
  /** Closes the client (and, for a local scheduler, the scheduler and its thread pool). */
  close(): Promise<void>;
}

/** How the local scheduler is started (from the `sharedFutures.*` settings). */
export interface LocalSchedulerOptions {
  /** Worker threads of its pool. */
  threads: number;
  /** Also serve it on ws://127.0.0.1:port with a generated token (port 0 picks a free one). */
  listen?: { port: number };
  /** Receives the scheduler's own events (workers joining or lost, clients reconnecting). */
  log?: (level: 'info' | 'warn', message: string) => void;
}

/** How connections are made; the runtime provides the real one. */
export interface SchedulerConnector<C extends SchedulerConnection = SchedulerConnection> {
  connectRemote(address: string, token: string | undefined): Promise<C>;
  startLocal(options: LocalSchedulerOptions): Promise<C>;
}

/** The read side of the connection manager, for views that show the connection. */
export interface ConnectionSource {
  readonly current: SchedulerConnection | undefined;
  onDidChange(listener: (connection: SchedulerConnection | undefined) => void): Disposable;
}

/** Holds the current connection and tells listeners whenever it changes. */
export class ConnectionManager<C extends SchedulerConnection = SchedulerConnection> implements Disposable {
  private connection: C | undefined;
  private readonly listeners = new Set<(connection: C | undefined) => void>();
  /** Serializes connect/start/disconnect so two commands never race over `connection`. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly connector: SchedulerConnector<C>) {}

  /** The current connection, if any. */
  get current(): C | undefined {
    return this.connection;
  }

  /** Calls `listener` after every change of the current connection. */
  onDidChange(listener: (connection: C | undefined) => void): Disposable {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  /** Connects to a remote scheduler; on failure the previous connection stays and the error is thrown. */
  connectRemote(address: string, token: string | undefined): Promise<C> {
    return this.exclusive(() => this.replaceWith(() => this.connector.connectRemote(address, token)));
  }

  /** Starts the in-process scheduler, or returns it when it is already the current connection. */
  startLocal(options: LocalSchedulerOptions): Promise<C> {
    return this.exclusive(async () => {
      if (this.connection?.kind === 'local') {
        return this.connection;
      }
      return this.replaceWith(() => this.connector.startLocal(options));
    });
  }

  /** The current connection, starting the local scheduler when there is none (lazy start on first use). */
  ensureConnected(options: LocalSchedulerOptions): Promise<C> {
    return this.exclusive(async () => this.connection ?? this.replaceWith(() => this.connector.startLocal(options)));
  }

  /** Closes the current connection, if any. */
  disconnect(): Promise<void> {
    return this.exclusive(async () => {
      const old = this.connection;
      if (old === undefined) {
        return;
      }
      this.connection = undefined;
      this.emit();
      await old.close();
    });
  }

  /** Closes the current connection; used on deactivate, so it returns the promise to await. */
  dispose(): Promise<void> {
    const closing = this.disconnect();
    this.listeners.clear();
    return closing;
  }

  private async replaceWith(open: () => Promise<C>): Promise<C> {
    const next = await open();
    const old = this.connection;
    this.connection = next;
    this.emit();
    if (old !== undefined) {
      await old.close();
    }
    return next;
  }

  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private emit(): void {
    for (const listener of [...this.listeners]) {
      listener(this.connection);
    }
  }
}
