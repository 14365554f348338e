/**
 * What every Shared Futures notebook cell finds in scope, as the kernel's worker thread provides it
 * (kernel/kernel-worker.ts): `client`, `Client`, `Future`, `Channel`, `zip`, `display`, `sleep`.
 * `localClient`, `sleep` and `zip` come from the runtime's task globals (scheduler/worker/task-globals.ts), so a
 * function submitted from a cell that uses them type-checks too.
 *
 * The build copies this file to dist/types/, beside the runtime's declarations it imports; the language
 * engine (kernel/language-engine.ts) and the TypeScript server plugin (extension/ts-plugin.ts) read it there.
 * It is not part of the project's own compilation (tsconfig.json excludes it).
 */
import type * as SharedFutures from './scheduler/index';

declare global {
  /** The notebook's client, connected to the current Shared Futures scheduler. */
  const client: SharedFutures.Client;
  /** The runtime's Client class: `await Client.connect('ws://host:8786', { token })` opens another one. */
  const Client: typeof SharedFutures.Client;
  /** A client of a Shared Futures scheduler. */
  type Client = SharedFutures.Client;
  /** The runtime's Future class (a handle on a task's result). */
  const Future: typeof SharedFutures.Future;
  /** A handle on a task's result, typed by that result. */
  type Future<T = unknown> = SharedFutures.Future<T>;
  /** The runtime's Channel class (an ordered stream of futures and values shared by clients). */
  const Channel: typeof SharedFutures.Channel;
  /** An ordered stream of futures and values shared by clients; `T` is the type of its items. */
  type Channel<T = unknown> = SharedFutures.Channel<T>;
  /**
   * Shows `value` in the running cell's output; a Future, a list of futures or a Channel shows as a live
   * status view. `mime` forces the output type (e.g. `'text/html'`).
   */
  function display(value: unknown, mime?: string): void;
}

export {};
