/** How the three programs find the scheduler: the first argument or SHARED_FUTURES_SCHEDULER, and SHARED_FUTURES_TOKEN. */
import { Client, type Channel } from 'shared-futures';

export function connect(address = process.env.SHARED_FUTURES_SCHEDULER): Promise<Client> {
  if (!address) throw new Error('pass the scheduler address (ws://host:port) or set SHARED_FUTURES_SCHEDULER');
  return Client.connect(address, { token: process.env.SHARED_FUTURES_TOKEN });
}

/**
 * Waits for a channel's history. An idle connection does not keep a process alive, and a pending
 * `ready` alone does not count as waiting yet, so a timer holds the process meanwhile.
 */
export async function whenReady(channel: Channel): Promise<void> {
  const hold = setInterval(() => undefined, 60_000);
  try {
    await channel.ready;
  } finally {
    clearInterval(hold);
  }
}
