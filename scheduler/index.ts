/** Public API of Shared Futures (built to dist/runtime.js). */
import { Client } from './client';
import { LOCAL_CLIENT_HOOK } from './pool/batch';
import './task-globals';

export { Client } from './client';
export type { ConnectOptions, FutureResult, SubmitOptions, TaskArg, TaskArgs, TaskFunction, TaskGraph } from './client';
export { LocalCluster, defaultLocalCluster } from './local-cluster';
export type { LocalClusterOptions } from './local-cluster';
export { Future } from './future';
export type { Disposable } from './future';
export { Channel, zip } from './channel';
export type { ChannelItem, ChannelSnapshotItem } from './channel';
export { sleep } from './sleep';
export * from './errors';
export { AuthenticationError, ConnectionError } from './wire/errors';
export type { ChannelInfo, FutureStatus, SchedulerEvent, SchedulerInfo, StoryEntry, WorkerInfo } from './protocol';

/** Inside a task: a Client connected to the scheduler that runs it. */
export function localClient(): Client {
  const hook = (globalThis as Record<symbol, unknown>)[LOCAL_CLIENT_HOOK];
  if (typeof hook !== 'function') throw new Error('localClient() is only available inside a task running on a Shared Futures worker');
  return (hook as () => Client)();
}
