/** How the CLI reaches a scheduler: the address argument checked, and a first connection that says in one line why it failed. */
import { Client } from '../scheduler/client/client';
import { schedulerAddressProblem, splitSchedulerAddress } from '../scheduler/wire/address';
import { UsageError } from './args';
import { CliFailure, connectAdvice } from './failures';

/** The address to connect to and the token: `--token`, else one in the address (`?token=`), else SHARED_FUTURES_TOKEN. */
export function schedulerTarget(text: string, token: string | undefined): { address: string; token?: string } {
  const problem = schedulerAddressProblem(text);
  if (problem !== undefined) throw new UsageError(problem);
  const split = splitSchedulerAddress(text);
  const chosen = token ?? split.token ?? process.env.SHARED_FUTURES_TOKEN;
  return { address: split.address, ...(chosen !== undefined ? { token: chosen } : {}) };
}

/** Connects a client, or throws a CliFailure that says what to do (start a scheduler, pass the token, …). */
export async function reachScheduler(address: string, token: string | undefined): Promise<Client> {
  try {
    return await Client.connect(address, { token, reconnect: false });
  } catch (err) {
    const advice = connectAdvice(err, address);
    if (advice !== undefined) throw new CliFailure(advice, 1);
    throw err;
  }
}
