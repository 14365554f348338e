/**
 * DirectGather in 'auto' mode remembers a worker it could not reach: its results go through the scheduler
 * without another connection attempt until a back-off (doubling per failure, capped) has passed, and a
 * worker that answers again is tried on every gather.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DirectGather, UNREACHABLE_FIRST_MS, UNREACHABLE_MAX_MS, type Peers } from '../../scheduler/client/direct';
import { ConnectionError } from '../../scheduler/protocol/errors';
import type { GatherWhere } from '../../scheduler/protocol/messages';

function setup(reachable: Set<string>) {
  let clock = 0;
  const attempts: string[] = [];
  const peers: Peers = {
    get: async (address, keys) => {
      attempts.push(address);
      if (!reachable.has(address)) throw new ConnectionError(`cannot reach peer ${address}`);
      return { values: keys.map((k) => `direct:${k}`), missing: [] };
    },
    close: () => undefined,
  };
  const gather = new DirectGather(undefined, 'test', 'auto', { peers, now: () => clock });
  const relayed: string[][] = [];
  const relay = async (keys: string[]) => {
    relayed.push(keys);
    return keys.map((k) => `relayed:${k}`);
  };
  const reply: GatherWhere = {
    values: [],
    where: [
      { worker: 'w1', address: 'ws://127.0.0.1:1', keys: ['a'], index: [0] },
      { worker: 'w2', address: 'ws://127.0.0.1:2', keys: ['b'], index: [1] },
    ],
  };
  return { gather, attempts, relayed, relay, reply, advance: (ms: number) => (clock += ms) };
}

test("an unreachable worker is not retried on every gather, and is tried again after its back-off", async () => {
  const reachable = new Set(['ws://127.0.0.1:2']);
  const s = setup(reachable);
  const gatherOnce = () => s.gather.complete(s.reply, ['a', 'b'], s.relay);

  assert.deepEqual(await gatherOnce(), ['relayed:a', 'direct:b']);
  assert.deepEqual(await gatherOnce(), ['relayed:a', 'direct:b']);
  assert.deepEqual(await gatherOnce(), ['relayed:a', 'direct:b']);
  assert.deepEqual(s.attempts.filter((a) => a.endsWith(':1')).length, 1, 'one failed connect, then the relay directly');
  assert.deepEqual(s.attempts.filter((a) => a.endsWith(':2')).length, 3, 'a reachable worker is asked every time');
  assert.deepEqual(s.relayed, [['a'], ['a'], ['a']]);

  // The back-off doubles while the worker keeps failing, up to the cap.
  let expected = UNREACHABLE_FIRST_MS;
  for (let failures = 1; failures <= 10; failures++) {
    s.advance(expected - 1);
    await gatherOnce();
    assert.equal(s.attempts.filter((a) => a.endsWith(':1')).length, failures, `not retried before ${expected} ms`);
    s.advance(1);
    await gatherOnce();
    assert.equal(s.attempts.filter((a) => a.endsWith(':1')).length, failures + 1, `retried after ${expected} ms`);
    expected = Math.min(expected * 2, UNREACHABLE_MAX_MS);
  }
  assert.equal(expected, UNREACHABLE_MAX_MS, 'the back-off reached its cap');

  // Reachable again: fetched directly, and on every gather from then on.
  reachable.add('ws://127.0.0.1:1');
  s.advance(UNREACHABLE_MAX_MS);
  assert.deepEqual(await gatherOnce(), ['direct:a', 'direct:b']);
  const before = s.attempts.length;
  assert.deepEqual(await gatherOnce(), ['direct:a', 'direct:b']);
  assert.equal(s.attempts.length, before + 2);
  assert.deepEqual(s.gather.counts.direct > 0 && s.gather.counts.relayed > 0, true);
});
