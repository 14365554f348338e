/**
 * Names a task function finds in scope on a worker. Declared globally so task code type-checks;
 * they exist only inside tasks (see pool/worker-entry.ts).
 */
import type { Client } from '../client/client';
import type { zip as zipChannels } from '../client/channel';

declare global {
  /** Inside a task: a Client connected to the scheduler running it. */
  function localClient(): Client;
  /** Inside a task: resolves after `ms` milliseconds without occupying the thread. */
  function sleep(ms: number): Promise<void>;
  /** Inside a task: iterates channels in lockstep. */
  const zip: typeof zipChannels;
}

export {};
