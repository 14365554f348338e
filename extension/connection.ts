/**
 * The extension's one current scheduler connection: local (in the extension host) or remote (WebSocket).
 * No `vscode` import; the way to reach a scheduler is a `SchedulerConnector` handed in, so the switching
 * rules (a failed connect keeps the previous connection, the old one is closed only after the new one works)
 * are unit-tested without VS Code or the runtime.
 */

/** A live connection to a scheduler. */
export interface SchedulerConnection {
  /** 'local' for the in-process scheduler, else its ws:// or wss:// address. */
  readonly address: string;
  readonly kind: 'local' | 'remote';
  /** Closes the client (and, for a local scheduler, the scheduler and its thread pool). */
  close(): Promise<void>;
}

/** How connections are made; the runtime provides the real one. */
export interface SchedulerConnector {
  connectRemote(address: string, token: string | undefined): Promise<SchedulerConnection>;
  startLocal(options: { threads: number }): Promise<SchedulerConnection>;
}

/** Something that can be undone; VS Code's Disposable has this shape. */
export interface Disposable {
  dispose(): void;
}

/** Holds the current connection and tells listeners whenever it changes. */
export class ConnectionManager implements Disposable {
  private connection: SchedulerConnection | undefined;
  private readonly listeners = new Set<(connection: SchedulerConnection | undefined) => void>();
  /** Serializes connect/start/disconnect so two commands never race over `connection`. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly connector: SchedulerConnector) {}

  /** The current connection, if any. */
  get current(): SchedulerConnection | undefined {
    return this.connection;
  }

  /** Calls `listener` after every change of the current connection. */
  onDidChange(listener: (connection: SchedulerConnection | undefined) => void): Disposable {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  /** Connects to a remote scheduler; on failure the previous connection stays and the error is thrown. */
  connectRemote(address: string, token: string | undefined): Promise<SchedulerConnection> {
    return this.exclusive(() => this.replaceWith(() => this.connector.connectRemote(address, token)));
  }

  /** Starts the in-process scheduler, or returns it when it is already the current connection. */
  startLocal(threads: number): Promise<SchedulerConnection> {
    return this.exclusive(async () => {
      if (this.connection?.kind === 'local') {
        return this.connection;
      }
      return this.replaceWith(() => this.connector.startLocal({ threads }));
    });
  }

  /** The current connection, starting the local scheduler when there is none (lazy start on first use). */
  ensureConnected(threads: number): Promise<SchedulerConnection> {
    return this.exclusive(async () => this.connection ?? this.replaceWith(() => this.connector.startLocal({ threads })));
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

  private async replaceWith(open: () => Promise<SchedulerConnection>): Promise<SchedulerConnection> {
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

/** The connector used until the runtime is wired in: every attempt fails with a clear message. */
export const runtimeNotBundledConnector: SchedulerConnector = {
  connectRemote: () => Promise.reject(new Error('The Shared Futures runtime is not part of this build yet.')),
  startLocal: () => Promise.reject(new Error('The Shared Futures runtime is not part of this build yet.')),
};
