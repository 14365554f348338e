/**
 * ui-tree: the live UI's models under a flood. 100,000 futures are appended to one channel and go
 * pending → processing → finished, reported the way the scheduler reports them (event batches every 10 ms,
 * about 3,000 events each) through the real SchedulerFeed into the tree and dashboard models, with listeners
 * that do what the tree provider and the dashboard do on each update (read the changed nodes' children, build
 * a JSON snapshot). Prints the longest synchronous slice of that work, the event loop's worst delay, and the
 * updates per second the tree and the dashboard emitted. Targets: no slice over 50 ms; ≤ 10 updates/s.
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import type { ChannelInfo, FutureStatus, SchedulerEvent, SchedulerInfo } from '../scheduler';
import { TreeViewModel, type TreeNode } from '../extension/view-model';
import { DashboardModel } from '../extension/view-model-dashboard';
import { SchedulerFeed, type ObservedChannel, type ObservedClient } from '../extension/view-model-feed';
import { report } from './report';

const FUTURES = 100_000;
const EVENTS_PER_TICK = 3_000;
const TICK_MS = 10;
const CHANNEL = 'flood';

/** A client that reports what the benchmark says, as the real one would. */
class FloodClient implements ObservedClient {
  readonly status = new Map<string, FutureStatus>();
  readonly keys: string[] = [];
  private push: ((batch: SchedulerEvent[]) => void) | undefined;
  private readonly queue: SchedulerEvent[][] = [];
  private ended = false;
  private wake: (() => void) | undefined;
  private handedAt: number | undefined;
  /** Told how long the consumer worked on each batch synchronously (from handing it over to asking again). */
  onConsumed: (ms: number) => void = () => {};

  emit(batch: SchedulerEvent[]): void {
    this.queue.push(batch);
    this.wake?.();
  }

  end(): void {
    this.ended = true;
    this.wake?.();
  }

  events(): AsyncIterable<SchedulerEvent[]> {
    return {
      [Symbol.asyncIterator]: () => ({
        next: async () => {
          if (this.handedAt !== undefined) this.onConsumed(performance.now() - this.handedAt);
          this.handedAt = undefined;
          while (this.queue.length === 0 && !this.ended) await new Promise<void>((r) => (this.wake = r));
          const value = this.queue.shift();
          if (value !== undefined) this.handedAt = performance.now();
          return value === undefined ? { value: undefined, done: true as const } : { value, done: false as const };
        },
        return: async () => ({ value: undefined, done: true as const }),
      }),
    };
  }

  async channels(): Promise<ChannelInfo[]> {
    return [];
  }

  async schedulerInfo(): Promise<SchedulerInfo> {
    const tasks: Partial<Record<FutureStatus, number>> = {};
    for (const s of this.status.values()) tasks[s] = (tasks[s] ?? 0) + 1;
    return { address: 'local://bench', workers: [{ id: 'local', threads: 2, running: [] }], tasks };
  }

  channel(_name: string, opts: { maxlen: number | null }): ObservedChannel {
    const window = opts.maxlen ?? FUTURES;
    const { keys, status } = this;
    return {
      get futures() {
        // The client's window holds the newest `maxlen` items as future handles with their live status.
        return keys.slice(-window).map((key) => ({ key, status: status.get(key) ?? 'pending', result: async () => undefined }));
      },
      snapshot() {
        return keys.slice(-window).map((key) => ({ key, status: status.get(key) ?? 'pending' }));
      },
      get count() {
        return keys.length;
      },
      ready: Promise.resolve(),
      close() {},
    };
  }
}

export async function run(): Promise<void> {
  const tree = new TreeViewModel();
  const dashboard = new DashboardModel(tree);
  const feed = new SchedulerFeed(tree, dashboard, { infoIntervalMs: 2000 });
  const client = new FloodClient();

  let longest = 0;
  let longestWhat = '';
  const timed = (what: string, fn: () => void) => {
    const t0 = performance.now();
    fn();
    const ms = performance.now() - t0;
    if (ms > longest) {
      longest = ms;
      longestWhat = what;
    }
  };
  let treeUpdates = 0;
  let refreshedNodes = 0;
  tree.onDidChange((change) =>
    timed('tree update', () => {
      treeUpdates++;
      // What VS Code asks the provider for after onDidChangeTreeData: the nodes and their shown children.
      const nodes: TreeNode[] = change === 'all' ? tree.children() : [...change];
      for (const n of nodes) {
        refreshedNodes++;
        for (const c of tree.children(n)) refreshedNodes += c.id.length > 0 ? 1 : 0;
      }
    }),
  );
  let dashboardUpdates = 0;
  let snapshotBytes = 0;
  dashboard.onDidChange(() =>
    timed('dashboard snapshot', () => {
      dashboardUpdates++;
      snapshotBytes = JSON.stringify(dashboard.snapshot()).length;
    }),
  );

  client.onConsumed = (ms) => {
    if (ms > longest) {
      longest = ms;
      longestWhat = 'feed applying an event batch';
    }
  };
  feed.follow(client, { kind: 'local', address: 'local' });

  // The scheduler's story of 100,000 futures: submitted and appended, dispatched, finished, in that order per
  // key, with the three phases overlapping like a pipeline.
  const script: SchedulerEvent[] = [];
  const phase = (i: number) => `t-${i}`;
  const CHUNK = 1000;
  for (let start = 0; start < FUTURES + 2 * CHUNK; start += CHUNK) {
    for (let i = start; i < Math.min(start + CHUNK, FUTURES); i++) script.push({ type: 'task', key: phase(i), status: 'pending', time: 0 });
    if (start < FUTURES) script.push({ type: 'channel', name: CHANNEL, count: Math.min(start + CHUNK, FUTURES), length: Math.min(start + CHUNK, FUTURES), maxlen: null, stopped: false });
    for (let i = start - CHUNK; i < Math.min(start, FUTURES); i++) if (i >= 0) script.push({ type: 'task', key: phase(i), status: 'processing', worker: 'local', time: 0 });
    for (let i = start - 2 * CHUNK; i < Math.min(start - CHUNK, FUTURES); i++) if (i >= 0) script.push({ type: 'task', key: phase(i), status: 'finished', worker: 'local', time: 0 });
  }

  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  const started = performance.now();
  let simulation = 0;
  let at = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      // The simulated scheduler's own work is not the UI's: it is timed apart.
      const t0 = performance.now();
      {
        const batch = script.slice(at, at + EVENTS_PER_TICK);
        at += batch.length;
        const now = Date.now();
        for (const e of batch) {
          if (e.type === 'task') {
            (e as { time: number }).time = now;
            if (e.status === 'pending') client.keys.push(e.key);
            client.status.set(e.key, e.status);
          }
        }
        client.emit(batch);
      }
      simulation = Math.max(simulation, performance.now() - t0);
      if (at < script.length) setTimeout(tick, TICK_MS);
      else resolve();
    };
    setTimeout(tick, TICK_MS);
  });
  // Let the last batches and the last throttled updates through.
  await new Promise((r) => setTimeout(r, 400));
  const seconds = (performance.now() - started) / 1000;
  loop.disable();
  client.end();
  feed.dispose();

  const shown = tree.children(tree.channel(CHANNEL));
  const finishedShown = shown.filter((n) => n.kind === 'item' && n.status === 'finished').length;
  const extra = { futures: FUTURES, events: script.length, seconds: Number(seconds.toFixed(2)), longestWas: longestWhat, simulatedSchedulerSliceMs: Number(simulation.toFixed(2)) };
  report('ui-tree-longest-slice', longest, 'ms', extra);
  report('ui-tree-event-loop-delay-max', loop.max / 1e6, 'ms', { note: 'includes the simulated scheduler' });
  report('ui-tree-updates-per-second', treeUpdates / seconds, 'updates/s', { updates: treeUpdates, refreshedNodes });
  report('ui-dashboard-updates-per-second', dashboardUpdates / seconds, 'updates/s', { updates: dashboardUpdates, snapshotBytes });
  report('ui-tree-window', shown.length, 'nodes', { finishedShown, more: shown.at(-1)?.kind === 'more' ? (shown.at(-1) as { hidden: number }).hidden : 0 });
}
