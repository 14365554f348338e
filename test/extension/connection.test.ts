import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConnectionManager, type SchedulerConnection, type SchedulerConnector } from '../../extension/connection';

/** A connector whose connections record when they are closed. */
function fakeConnector(failRemote = new Set<string>()) {
  const closed: string[] = [];
  let localStarts = 0;
  const make = (address: string, kind: 'local' | 'remote'): SchedulerConnection => ({
    address,
    kind,
    close: async () => {
      closed.push(address);
    },
  });
  const connector: SchedulerConnector = {
    async connectRemote(address) {
      if (failRemote.has(address)) {
        throw new Error(`refused: ${address}`);
      }
      return make(address, 'remote');
    },
    async startLocal() {
      localStarts += 1;
      return make('local', 'local');
    },
  };
  return { connector, closed, localStarts: () => localStarts };
}

describe('ConnectionManager', () => {
  it('switches connections, closing the old one only after the new one is up', async () => {
    const { connector, closed } = fakeConnector();
    const manager = new ConnectionManager(connector);
    const seen: (string | undefined)[] = [];
    manager.onDidChange((c) => seen.push(c?.address));
    await manager.connectRemote('ws://a:1', undefined);
    await manager.connectRemote('ws://b:1', 't');
    assert.equal(manager.current?.address, 'ws://b:1');
    assert.deepEqual(closed, ['ws://a:1']);
    assert.deepEqual(seen, ['ws://a:1', 'ws://b:1']);
  });

  it('keeps the previous connection when a connect fails', async () => {
    const { connector, closed } = fakeConnector(new Set(['ws://bad:1']));
    const manager = new ConnectionManager(connector);
    await manager.connectRemote('ws://good:1', undefined);
    await assert.rejects(manager.connectRemote('ws://bad:1', undefined), /refused/);
    assert.equal(manager.current?.address, 'ws://good:1');
    assert.deepEqual(closed, []);
  });

  it('starts the local scheduler once, lazily, and reuses it', async () => {
    const fake = fakeConnector();
    const manager = new ConnectionManager(fake.connector);
    assert.equal(manager.current, undefined);
    assert.equal(fake.localStarts(), 0);
    const [a, b] = await Promise.all([manager.ensureConnected({ threads: 2 }), manager.startLocal({ threads: 2 })]);
    assert.equal(a, b);
    assert.equal(fake.localStarts(), 1);
  });

  it('closes the connection on disconnect and on dispose', async () => {
    const { connector, closed } = fakeConnector();
    const manager = new ConnectionManager(connector);
    await manager.startLocal({ threads: 1 });
    await manager.disconnect();
    assert.equal(manager.current, undefined);
    await manager.connectRemote('ws://a:1', undefined);
    await manager.dispose();
    assert.deepEqual(closed, ['local', 'ws://a:1']);
    await manager.disconnect(); // nothing left: a no-op
  });
});
