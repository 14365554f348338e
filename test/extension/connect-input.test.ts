import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  MAX_RECENT_ADDRESSES,
  normalizeSchedulerAddress,
  RECENT_ADDRESSES_KEY,
  RecentAddresses,
  runConnectFlow,
  SchedulerTokens,
  tokenSecretKey,
  validateSchedulerAddress,
  type ConnectPrompts,
  type KeyValueStore,
  type SecretStore,
} from '../../extension/connect-input';

class MemoryState implements KeyValueStore {
  readonly values = new Map<string, unknown>();
  get<T>(key: string): T | undefined {
    return this.values.get(key) as T | undefined;
  }
  async update(key: string, value: unknown): Promise<void> {
    this.values.set(key, value);
  }
}

class MemorySecrets implements SecretStore {
  readonly values = new Map<string, string>();
  async get(key: string): Promise<string | undefined> {
    return this.values.get(key);
  }
  async store(key: string, value: string): Promise<void> {
    this.values.set(key, value);
  }
  async delete(key: string): Promise<void> {
    this.values.delete(key);
  }
}

/** Prompts answering from a script and recording what they were offered. */
function scripted(address: string | undefined, token: string | undefined) {
  const seen: { recent?: readonly string[]; stored?: string } = {};
  const prompts: ConnectPrompts = {
    async address(recent) {
      seen.recent = recent;
      return address;
    },
    async token(_address, stored) {
      seen.stored = stored;
      return token;
    },
  };
  return { prompts, seen };
}

describe('validateSchedulerAddress', () => {
  it('accepts ws:// and wss:// addresses with host, port and path', () => {
    for (const ok of ['ws://127.0.0.1:8786', 'wss://scheduler.example:443', 'WS://Host:1/path', '  ws://localhost  ', 'ws://[::1]:8786']) {
      assert.equal(validateSchedulerAddress(ok), undefined, ok);
    }
  });

  it('rejects other schemes, bare host:port, credentials, queries and empty text with a reason', () => {
    assert.match(validateSchedulerAddress('http://127.0.0.1:8786') ?? '', /starts with ws:\/\/ or wss:\/\//);
    assert.match(validateSchedulerAddress('127.0.0.1:8786') ?? '', /starts with ws:\/\/ or wss:\/\//);
    assert.match(validateSchedulerAddress('') ?? '', /Enter a scheduler address/);
    assert.match(validateSchedulerAddress('ws://') ?? '', /Not a valid address/);
    assert.match(validateSchedulerAddress('ws://host:99999') ?? '', /Not a valid address/);
    assert.match(validateSchedulerAddress('ws://user:secret@host:1') ?? '', /credentials/);
    assert.match(validateSchedulerAddress('ws://host:1/?token=x') ?? '', /no query/);
  });

  it('normalizes scheme and host case and drops a bare trailing slash', () => {
    assert.equal(normalizeSchedulerAddress(' WS://LocalHost:8786/ '), 'ws://localhost:8786');
    assert.equal(normalizeSchedulerAddress('wss://h:9/sub'), 'wss://h:9/sub');
    assert.throws(() => normalizeSchedulerAddress('http://h'), TypeError);
  });
});

describe('RecentAddresses', () => {
  it('keeps the newest first, without duplicates, up to the limit', async () => {
    const recent = new RecentAddresses(new MemoryState(), 3);
    for (const a of ['ws://a:1', 'ws://b:1', 'ws://a:1', 'ws://c:1', 'ws://d:1']) {
      await recent.remember(a);
    }
    assert.deepEqual(recent.list(), ['ws://d:1', 'ws://c:1', 'ws://a:1']);
    await recent.forget('ws://c:1');
    assert.deepEqual(recent.list(), ['ws://d:1', 'ws://a:1']);
  });

  it('ignores stored entries that are not valid addresses', () => {
    const state = new MemoryState();
    state.values.set(RECENT_ADDRESSES_KEY, ['ws://ok:1', 42, 'http://no', null]);
    assert.deepEqual(new RecentAddresses(state).list(), ['ws://ok:1']);
    state.values.set(RECENT_ADDRESSES_KEY, 'not a list');
    assert.deepEqual(new RecentAddresses(state).list(), []);
    assert.ok(MAX_RECENT_ADDRESSES >= 3);
  });
});

describe('SchedulerTokens', () => {
  it('stores one token per address in secret storage and removes it when set empty', async () => {
    const secrets = new MemorySecrets();
    const tokens = new SchedulerTokens(secrets);
    await tokens.set('ws://a:1', 's3cret');
    assert.equal(secrets.values.get(tokenSecretKey('ws://a:1')), 's3cret');
    assert.equal(await tokens.get('ws://a:1'), 's3cret');
    assert.equal(await tokens.get('ws://b:1'), undefined);
    await tokens.set('ws://a:1', '');
    assert.equal(secrets.values.size, 0);
  });
});

describe('runConnectFlow', () => {
  it('connects with the normalized address and token, then remembers both', async () => {
    const state = new MemoryState();
    const secrets = new MemorySecrets();
    const { prompts } = scripted('WS://Sched:8786/', 'tok');
    const calls: [string, string | undefined][] = [];
    const outcome = await runConnectFlow(prompts, new RecentAddresses(state), new SchedulerTokens(secrets), async (a, t) => {
      calls.push([a, t]);
    });
    assert.deepEqual(outcome, { kind: 'connected', address: 'ws://sched:8786' });
    assert.deepEqual(calls, [['ws://sched:8786', 'tok']]);
    assert.deepEqual(state.values.get(RECENT_ADDRESSES_KEY), ['ws://sched:8786']);
    assert.equal(secrets.values.get(tokenSecretKey('ws://sched:8786')), 'tok');
  });

  it('offers the recent addresses and the stored token; an empty token connects without one', async () => {
    const state = new MemoryState();
    const secrets = new MemorySecrets();
    const recent = new RecentAddresses(state);
    const tokens = new SchedulerTokens(secrets);
    await recent.remember('ws://old:1');
    await tokens.set('ws://old:1', 'kept');
    const { prompts, seen } = scripted('ws://old:1', '');
    let usedToken: string | undefined = 'unset';
    await runConnectFlow(prompts, recent, tokens, async (_a, t) => {
      usedToken = t;
    });
    assert.deepEqual(seen.recent, ['ws://old:1']);
    assert.equal(seen.stored, 'kept');
    assert.equal(usedToken, undefined);
    assert.equal(await tokens.get('ws://old:1'), undefined);
  });

  it('stores nothing when the connection fails, and reports the error', async () => {
    const state = new MemoryState();
    const secrets = new MemorySecrets();
    const { prompts } = scripted('ws://bad:1', 'wrong');
    const outcome = await runConnectFlow(prompts, new RecentAddresses(state), new SchedulerTokens(secrets), async () => {
      throw new Error('token rejected');
    });
    assert.equal(outcome.kind, 'failed');
    assert.equal(outcome.kind === 'failed' && (outcome.error as Error).message, 'token rejected');
    assert.equal(state.values.size, 0);
    assert.equal(secrets.values.size, 0);
  });

  it('does not connect when either prompt is cancelled or the address is invalid', async () => {
    const never = async () => assert.fail('connect must not be called');
    const recent = new RecentAddresses(new MemoryState());
    const tokens = new SchedulerTokens(new MemorySecrets());
    assert.deepEqual(await runConnectFlow(scripted(undefined, 't').prompts, recent, tokens, never), { kind: 'cancelled' });
    assert.deepEqual(await runConnectFlow(scripted('ws://a:1', undefined).prompts, recent, tokens, never), { kind: 'cancelled' });
    const invalid = await runConnectFlow(scripted('http://a:1', 't').prompts, recent, tokens, never);
    assert.equal(invalid.kind, 'failed');
  });
});
