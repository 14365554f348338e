/**
 * What a scheduler address is: `ws://host:port` or `wss://host:port`, optionally with the token in the
 * query as the scheduler prints it (`ws://host:port/?token=…`). One check, shared by the client, the CLI
 * and the extension's prompt, so that they accept the same addresses and say the same thing about a wrong one.
 */
import { InvalidArgumentError } from '../protocol/errors';

/** An address shown in messages. */
export const EXAMPLE_SCHEDULER_ADDRESS = 'ws://127.0.0.1:8786';

/**
 * Why `text` is not a scheduler address, as one lower-case sentence that says what to write, or undefined
 * when it is one.
 */
export function schedulerAddressProblem(text: string): string | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return `enter a scheduler address, for example ${EXAMPLE_SCHEDULER_ADDRESS}`;
  if (!/^wss?:\/\//i.test(trimmed)) {
    // host:port without a scheme is the usual slip: name the address that was probably meant.
    const meant = /^([\w.-]+|\[[\da-f:.]+\]):\d+\/?$/i.test(trimmed) ? `ws://${trimmed}` : undefined;
    return meant !== undefined && isUrl(meant)
      ? `a scheduler address starts with ws:// or wss://: write ${meant}`
      : `a scheduler address starts with ws:// or wss://, for example ${EXAMPLE_SCHEDULER_ADDRESS} (got '${trimmed}')`;
  }
  if (!isUrl(trimmed) || new URL(trimmed).hostname === '') {
    return `not a valid address: '${trimmed}' (expected ws://host:port or wss://host:port)`;
  }
  return undefined;
}

/** The address as a URL; throws InvalidArgumentError saying what is wrong. */
export function parseSchedulerAddress(text: string): URL {
  const problem = schedulerAddressProblem(text);
  if (problem !== undefined) throw new InvalidArgumentError(problem);
  return new URL(text.trim());
}

/** Splits `ws://host:port/?token=…` into the address to connect to and the token it carries, if any. */
export function splitSchedulerAddress(text: string): { address: string; token?: string } {
  const url = parseSchedulerAddress(text);
  const token = url.searchParams.get('token') ?? undefined;
  url.search = '';
  return { address: url.toString().replace(/\/$/, ''), ...(token !== undefined ? { token } : {}) };
}

function isUrl(text: string): boolean {
  try {
    new URL(text);
    return true;
  } catch {
    return false;
  }
}
