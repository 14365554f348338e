/**
 * The globals every cell finds (kernel/notebook-prelude.d.ts declares them): the module helpers of the
 * transpiled code, `require`, `__dirname`, `display`, `sleep`, and from the runtime `Client`, `Future`,
 * `Channel`, `zip` and the connected `client`.
 */
import * as path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { loadRuntime, type ClientLike, type RuntimeModule } from '../runtime-types';
import { KERNEL_HELPERS } from '../transpile';
import type { FromKernelThread, KernelThreadData } from './messages';
import type { NotebookModules } from './modules';

const globals = globalThis as unknown as Record<string, unknown>;

/** Puts the globals that need no runtime into this thread's context. */
export function installPrelude(notebookDir: string, modules: NotebookModules, display: (value: unknown, mime?: string) => void): void {
  globals[KERNEL_HELPERS] = { load: modules.load, dynamicImport: modules.dynamicImport, interopDefault: modules.interopDefault };
  globals.require = modules.require;
  globals.__dirname = notebookDir;
  globals.__filename = path.join(notebookDir, '__notebook__.js');
  globals.display = (value: unknown, mime?: string): void => display(value, mime);
  globals.sleep = (ms: number): Promise<void> => delay(ms);
}

/**
 * Loads the runtime into the globals and connects `client` as `data.connect` says; the `ready` message to
 * send. Without a scheduler to connect to, a runtime that cannot be loaded is a warning, not a failure.
 */
export async function connectRuntime(data: KernelThreadData): Promise<Extract<FromKernelThread, { t: 'ready' }>> {
  let runtime: RuntimeModule | undefined;
  let warning: string | undefined;
  if (data.runtimeModule) {
    try {
      runtime = loadRuntime(data.runtimeModule);
    } catch (err) {
      if (data.connect.kind !== 'none') {
        throw err;
      }
      warning = (err as Error).message;
    }
  }
  if (runtime) {
    globals.Client = runtime.Client;
    globals.Future = runtime.Future;
    globals.Channel = runtime.Channel;
    globals.zip = runtime.zip;
  }
  let client: ClientLike | undefined;
  if (runtime && data.connect.kind === 'port') {
    client = await runtime.Client.connect(data.connect.port);
  } else if (runtime && data.connect.kind === 'remote') {
    client = await runtime.Client.connect(data.connect.address, { token: data.connect.token });
  }
  globals.client = client;
  return { t: 'ready', warning };
}
