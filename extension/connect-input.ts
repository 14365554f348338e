/**
 * What "Connect to Scheduler…" asks for and keeps: address validation, the recent-addresses list and the
 * per-address token in secret storage. No `vscode` import: the stores and prompts are small interfaces that
 * VS Code's Memento, SecretStorage and input boxes satisfy, so the flow is unit-tested without VS Code.
 */
import { EXAMPLE_SCHEDULER_ADDRESS, schedulerAddressProblem } from '../scheduler/wire/address';

/** Key of the recent-addresses list in the extension's global state. */
export const RECENT_ADDRESSES_KEY = 'sharedFutures.recentAddresses';
/** How many recent addresses are offered. */
export const MAX_RECENT_ADDRESSES = 8;
/** An example address shown in prompts and messages. */
export const EXAMPLE_ADDRESS = EXAMPLE_SCHEDULER_ADDRESS;

/** Returns why `text` is not a scheduler address, or undefined when it is one. */
export function validateSchedulerAddress(text: string): string | undefined {
  const problem = schedulerAddressProblem(text);
  if (problem !== undefined) {
    return problem.charAt(0).toUpperCase() + problem.slice(1);
  }
  const url = new URL(text.trim());
  if (url.username !== '' || url.password !== '') {
    return 'Leave credentials out of the address: the token is asked for next and kept in secret storage';
  }
  if (url.search !== '' || url.hash !== '') {
    return 'A scheduler address has no query (?…) or fragment (#…)';
  }
  return undefined;
}

/** The canonical form of a valid address (lower-case scheme and host, no trailing slash). */
export function normalizeSchedulerAddress(text: string): string {
  const problem = validateSchedulerAddress(text);
  if (problem !== undefined) {
    throw new TypeError(problem);
  }
  const url = new URL(text.trim());
  const path = url.pathname === '/' ? '' : url.pathname;
  return `${url.protocol}//${url.host}${path}`;
}

/** The part of VS Code's Memento that the recent-addresses list uses. */
export interface KeyValueStore {
  get<T>(key: string): T | undefined;
  update(key: string, value: unknown): PromiseLike<void>;
}

/** The recently connected scheduler addresses, newest first, without duplicates. */
export class RecentAddresses {
  constructor(
    private readonly store: KeyValueStore,
    private readonly limit = MAX_RECENT_ADDRESSES,
  ) {}

  /** The stored addresses that are still valid, newest first. */
  list(): string[] {
    const stored = this.store.get<unknown>(RECENT_ADDRESSES_KEY);
    if (!Array.isArray(stored)) {
      return [];
    }
    return stored.filter((a): a is string => typeof a === 'string' && validateSchedulerAddress(a) === undefined);
  }

  /** Puts `address` first, dropping older duplicates and the oldest entries past the limit. */
  async remember(address: string): Promise<void> {
    const list = [address, ...this.list().filter((a) => a !== address)].slice(0, this.limit);
    await this.store.update(RECENT_ADDRESSES_KEY, list);
  }

  /** Removes `address` from the list. */
  async forget(address: string): Promise<void> {
    await this.store.update(
      RECENT_ADDRESSES_KEY,
      this.list().filter((a) => a !== address),
    );
  }
}

/** The part of VS Code's SecretStorage that tokens use. */
export interface SecretStore {
  get(key: string): PromiseLike<string | undefined>;
  store(key: string, value: string): PromiseLike<void>;
  delete(key: string): PromiseLike<void>;
}

/** Secret-storage key of the token for one scheduler address. */
export function tokenSecretKey(address: string): string {
  return `sharedFutures.token/${address}`;
}

/** Scheduler tokens, one per address, in secret storage (never in settings or global state). */
export class SchedulerTokens {
  constructor(private readonly secrets: SecretStore) {}

  /** The stored token for `address`, if any. */
  async get(address: string): Promise<string | undefined> {
    return await this.secrets.get(tokenSecretKey(address));
  }

  /** Stores `token` for `address`; an empty or missing token removes the stored one. */
  async set(address: string, token: string | undefined): Promise<void> {
    if (token === undefined || token === '') {
      await this.secrets.delete(tokenSecretKey(address));
    } else {
      await this.secrets.store(tokenSecretKey(address), token);
    }
  }
}

/** The prompts the connect flow shows; undefined from either means the user cancelled. */
export interface ConnectPrompts {
  /** Asks for an address, offering `recent` (newest first); the answer is validated by the prompt. */
  address(recent: readonly string[]): PromiseLike<string | undefined>;
  /** Asks for the token of `address`; `stored` is the token kept for it, offered as the default. */
  token(address: string, stored: string | undefined): PromiseLike<string | undefined>;
}

/** How the connect flow ended. */
export type ConnectOutcome =
  | { kind: 'cancelled' }
  | { kind: 'connected'; address: string }
  | { kind: 'failed'; address: string; error: unknown };

/**
 * Asks for an address and token, then calls `connect`. Only a connection that succeeded is remembered in the
 * recent list and has its token stored, so a typo never replaces a working entry.
 */
export async function runConnectFlow(
  prompts: ConnectPrompts,
  recent: RecentAddresses,
  tokens: SchedulerTokens,
  connect: (address: string, token: string | undefined) => Promise<void>,
): Promise<ConnectOutcome> {
  const answer = await prompts.address(recent.list());
  if (answer === undefined) {
    return { kind: 'cancelled' };
  }
  const problem = validateSchedulerAddress(answer);
  if (problem !== undefined) {
    return { kind: 'failed', address: answer, error: new TypeError(problem) };
  }
  const address = normalizeSchedulerAddress(answer);
  const token = await prompts.token(address, await tokens.get(address));
  if (token === undefined) {
    return { kind: 'cancelled' };
  }
  try {
    await connect(address, token === '' ? undefined : token);
  } catch (error) {
    return { kind: 'failed', address, error };
  }
  await tokens.set(address, token);
  await recent.remember(address);
  return { kind: 'connected', address };
}
