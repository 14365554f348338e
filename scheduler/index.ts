/** Public API of Shared Futures (built to dist/runtime.js). */
import { Client } from './client/client';
import { LOCAL_CLIENT_HOOK } from './worker/pool/batch';
import './worker/task-globals';

export { Client } from './client/client';
export type { ConnectOptions, DirectMode, FutureResult, SubmitOptions, TaskArg, TaskArgs, TaskFunction, TaskGraph } from './client/client';
export { LocalCluster, defaultLocalCluster } from './server/local-cluster';
export type { LocalClusterOptions } from './server/local-cluster';
export type { SchedulerLog } from './server/server';
export { Future } from './client/future';
export type { Disposable } from './client/future';
export { Channel, zip } from './client/channel';
export type { ChannelItem, ChannelSnapshotItem } from './client/channel';
export { sleep } from './worker/sleep';
export * from './protocol/errors';
export type { ChannelInfo, FutureStatus, SchedulerEvent, SchedulerInfo, StoryEntry, WorkerInfo } from './protocol/messages';

/** Inside a task: a Client connected to the scheduler that runs it. */
export function localClient(): Client {
  const hook = (globalThis as Record<symbol, unknown>)[LOCAL_CLIENT_HOOK];
  if (typeof hook !== 'function') throw new Error('localClient() is only available inside a task running on a Shared Futures worker');
  return (hook as () => Client)();
}
