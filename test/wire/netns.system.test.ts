/**
 * Several hosts: the scheduler, two workers and two clients are separate processes,
 * each in a network namespace of its own, joined by veth pairs to a bridge in a sixth namespace, with
 * addresses 10.77.0.x/24 that exist only inside them. The producer's tasks run on the workers, the
 * consumer in another namespace iterates the channel and fetches the results across the bridge.
 *
 * Needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN) and iproute2; CI runs as root and .ci/run installs it.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import path from 'node:path';
import { CLI, spawnProc, stopAll, type Proc } from '../support/processes';

const TOKEN = `netns-${randomUUID()}`;
const PEER = path.join(__dirname, 'netns-peer.js');
const TASKS = 40;

/** Runs `ip ...`; throws with its stderr. */
function ip(...args: string[]): string {
  try {
    return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stderr?: string; code?: string; message: string };
    if (e.code === 'ENOENT') throw new Error('the several-hosts test needs iproute2 (`ip`); install it (apt-get install -y iproute2)');
    throw new Error(`ip ${args.join(' ')} failed: ${(e.stderr ?? e.message).trim()}`);
  }
}

/** Network namespaces of one run, deleted (with their links) by `remove`, even after a failure. */
class Hosts {
  readonly names: string[] = [];
  constructor(readonly prefix: string) {}

  add(role: string): string {
    const name = `${this.prefix}-${role}`;
    try {
      ip('netns', 'add', name);
    } catch (err) {
      const msg = (err as Error).message;
      if (/permission denied|operation not permitted/i.test(msg)) {
        throw new Error(`the several-hosts test must run as root (it creates network namespaces with 'ip netns add'): ${msg}`);
      }
      throw err;
    }
    this.names.push(name);
    ip('-n', name, 'link', 'set', 'lo', 'up');
    return name;
  }

  remove(): void {
    const failures: string[] = [];
    for (const name of this.names.splice(0).reverse()) {
      try {
        ip('netns', 'del', name);
      } catch (err) {
        failures.push((err as Error).message);
      }
    }
    if (failures.length > 0) throw new Error(`cleaning up namespaces failed:\n${failures.join('\n')}`);
  }
}

const hosts = new Hosts(`sf${randomBytes(3).toString('hex')}`);
after(async () => {
  await stopAll();
  hosts.remove();
});

/** Runs node with `args` inside namespace `ns`; `ip netns exec` execs, so the pid is node's. */
function nodeIn(ns: string, args: string[]): Proc {
  return spawnProc('ip', ['netns', 'exec', ns, process.execPath, ...args], { env: { ...process.env, SF_TOKEN: TOKEN } });
}

test('scheduler, two workers and two clients in five network namespaces run the channel pipeline', { timeout: 120_000 }, async () => {
  const hub = hosts.add('hub');
  ip('-n', hub, 'link', 'add', 'br0', 'type', 'bridge');
  ip('-n', hub, 'link', 'set', 'br0', 'up');
  const roles = ['sched', 'w1', 'w2', 'prod', 'cons'];
  const addr: Record<string, string> = {};
  const ns: Record<string, string> = {};
  roles.forEach((role, i) => {
    const name = hosts.add(role);
    ns[role] = name;
    addr[role] = `10.77.0.${i + 1}`;
    // eth0 inside the host, its peer on the hub's bridge: nothing is created in the test's own namespace.
    ip('-n', name, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', `p-${role}`, 'netns', hub);
    ip('-n', hub, 'link', 'set', `p-${role}`, 'master', 'br0');
    ip('-n', hub, 'link', 'set', `p-${role}`, 'up');
    ip('-n', name, 'addr', 'add', `${addr[role]}/24`, 'dev', 'eth0');
    ip('-n', name, 'link', 'set', 'eth0', 'up');
  });
  // Each namespace sees only its own address and the bridge's subnet.
  assert.match(ip('-n', ns.cons, '-4', 'addr', 'show', 'dev', 'eth0'), /inet 10\.77\.0\.5\/24/);

  // A non-loopback listener needs a token.
  const refused = nodeIn(ns.sched, [CLI, 'scheduler', '--host', addr.sched, '--port', '0', '--threads', '0']);
  assert.notEqual(await refused.exited, 0);
  assert.match(refused.output(), /token is required/);

  const scheduler = nodeIn(ns.sched, [CLI, 'scheduler', '--host', addr.sched, '--port', '0', '--threads', '0', '--token', TOKEN]);
  const address = (await scheduler.waitFor(/scheduler at (ws:\/\/\S+)/))[1];
  assert.ok(address.startsWith(`ws://${addr.sched}:`), address);
  assert.doesNotMatch(scheduler.output(), new RegExp(TOKEN), 'a chosen token is never printed');

  const workers = [nodeIn(ns.w1, [CLI, 'worker', address, '--threads', '1', '--token', TOKEN]), nodeIn(ns.w2, [CLI, 'worker', address, '--threads', '1', '--token', TOKEN])];
  await Promise.all(workers.map((w) => w.waitFor(/Shared Futures worker/)));
  await scheduler.waitFor(/worker .* joined[\s\S]*worker .* joined/);

  const consumer = nodeIn(ns.cons, [PEER, 'consume', address]);
  await consumer.waitFor(/^READY$/m);
  const producer = nodeIn(ns.prod, [PEER, 'produce', address, String(TASKS)]);
  const produced = JSON.parse((await producer.waitFor(/^RESULT (.*)\n/m, 60_000))[1]) as { appended: number };
  assert.equal(produced.appended, TASKS + 2);
  assert.equal(await producer.exited, 0, 'the producer exits once it has flushed (the scheduler keeps its futures)');

  const { values } = JSON.parse((await consumer.waitFor(/^RESULT (.*)\n/m, 60_000))[1]) as { values: unknown[] };
  assert.equal(values.length, TASKS + 2, 'the consumer saw every append, then the stop');
  const parts = values.slice(0, TASKS) as { x: number; sq: number; pid: number }[];
  parts.forEach((p, i) => assert.deepEqual({ x: p.x, sq: p.sq }, { x: i, sq: i * i }, `item ${i}`));
  assert.equal(values[TASKS], parts.reduce((a, p) => a + p.sq, 0), 'the sum, computed from inputs held by both workers');
  assert.deepEqual(values[TASKS + 1], { done: TASKS });
  const ran = new Set(parts.map((p) => p.pid));
  assert.deepEqual([...ran].sort(), workers.map((w) => w.proc.pid).sort(), 'the tasks ran on both worker processes, in their namespaces');
  assert.equal(await consumer.exited, 0);
  assert.equal(scheduler.proc.exitCode, null, 'the scheduler is still up');
});
