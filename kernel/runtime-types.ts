/**
 * The parts of the runtime (`scheduler/index.ts`, DESIGN §2) that the kernel relies on, as structural
 * types. The kernel loads the runtime with `require` at run time (see `loadRuntime`), so it builds and
 * its non-client parts run before and without a scheduler.
 */
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import type { MessagePort } from 'node:worker_threads';
import { isFuture } from '../scheduler/client/future-brand';

/** What a user sees of a task (DESIGN §2). */
export type FutureStatus = 'pending' | 'processing' | 'finished' | 'error' | 'cancelled' | 'lost';

/** A disposable registration. */
export interface Disposable {
  dispose(): void;
}

/** The duck type of a runtime Future that rich outputs rely on. */
export interface FutureLike {
  readonly key: string;
  readonly status: FutureStatus;
  onStatus(listener: (status: FutureStatus) => void): Disposable;
}

/** The duck type of a runtime Channel that rich outputs rely on. */
export interface ChannelLike {
  readonly name: string;
  readonly count: number;
  readonly length: number;
  readonly stopped: boolean;
  readonly futures: readonly unknown[];
  /** Keys and statuses without taking handles (a live view must keep nothing alive). */
  snapshot?(): readonly ({ key: string; status: FutureStatus } | { value: unknown })[];
}

/** A connected client: the kernel only closes it; cells use the full runtime API. */
export interface ClientLike {
  close(): Promise<void>;
}

/** A running in-process cluster. */
export interface LocalClusterLike {
  createPort(): MessagePort;
  close(): Promise<void>;
}

/** The runtime module's exports that the kernel uses or puts into the prelude. */
export interface RuntimeModule {
  Client: {
    connect(target?: MessagePort | string, options?: { token?: string }): Promise<ClientLike>;
  };
  LocalCluster: {
    start(options?: { threads?: number }): Promise<LocalClusterLike>;
  };
  Future: unknown;
  Channel: unknown;
  zip: unknown;
}

/**
 * Where the runtime is: beside the kernel when built by tsc (`build/kernel` → `build/scheduler`), or
 * `runtime.js` in the same folder when bundled into `dist/`.
 */
export function defaultRuntimeModule(kernelDir: string): string {
  const candidates = [path.join(kernelDir, '..', 'scheduler', 'index.js'), path.join(kernelDir, 'runtime.js')];
  return candidates.find((file) => fs.existsSync(file)) ?? candidates[0];
}

/** Loads the runtime; the error says where it looked. */
export function loadRuntime(modulePath: string): RuntimeModule {
  let loaded: unknown;
  try {
    // createRequire, not a bare require(variable): webpack would replace the latter with an empty context.
    loaded = createRequire(__filename)(path.resolve(modulePath));
  } catch (err) {
    throw new Error(`the Shared Futures runtime could not be loaded from ${modulePath}: ${(err as Error).message}`, { cause: err });
  }
  const runtime = loaded as Partial<RuntimeModule>;
  if (typeof runtime.Client?.connect !== 'function') {
    throw new Error(`${modulePath} does not export Client.connect: it is not the Shared Futures runtime`);
  }
  return runtime as RuntimeModule;
}

/** True for a runtime Future (of any bundle of the runtime: the check is the runtime's own brand). */
export function isFutureLike(value: unknown): value is FutureLike {
  return isFuture(value);
}

/** True for anything shaped like a runtime Channel. */
export function isChannelLike(value: unknown): value is ChannelLike {
  if (typeof value !== 'object' || value === null) {
    return false;
  }
  const candidate = value as Partial<ChannelLike>;
  return typeof candidate.name === 'string' && typeof candidate.count === 'number' && Array.isArray(candidate.futures);
}
