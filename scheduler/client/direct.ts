/**
 * Gathers straight from the worker processes that hold the results (the `direct` option of
 * `Client.connect`). A client that says `direct` in its handshake gets, for results held on worker
 * processes, a GatherWhere (which worker holds each, and where its peer server listens) instead of the
 * values; it fetches them from those workers in parallel, one request per worker, and asks the scheduler to
 * relay whatever a worker could not give: it was unreachable ('auto' only), or no longer holds the key (the
 * scheduler then answers as it always did: the value, or the error of a lost or recomputed key).
 *
 * In 'auto' mode a worker that could not be reached is remembered: its results go through the scheduler
 * without another connection attempt for a while (1 s after the first failure, doubling up to a minute while
 * it keeps failing), so a client that cannot reach the workers at all (behind NAT, a firewall) pays one
 * failed connect per worker and back-off period instead of one per gather.
 */
import { ConnectionError, InvalidArgumentError } from '../protocol/errors';
import type { GatherWhere } from '../protocol/messages';
import { PeerClient, type PeerAnswer } from '../wire/peer-client';

/** How long an unreachable worker is skipped after its first failure; doubled per failure up to the cap. */
export const UNREACHABLE_FIRST_MS = 1_000;
export const UNREACHABLE_MAX_MS = 60_000;

/** What DirectGather needs of a PeerClient (tests give a fake). */
export interface Peers {
  get(address: string, keys: string[]): Promise<PeerAnswer>;
  close(): void;
}

/**
 * How a WebSocket client fetches results held on worker processes: 'auto' (the default) from the workers,
 * through the scheduler when a worker cannot be reached; 'always' from the workers only (an unreachable
 * worker is an error); 'never' through the scheduler.
 */
export type DirectMode = 'auto' | 'always' | 'never';

const MODES: readonly DirectMode[] = ['auto', 'always', 'never'];

/** The mode of `Client.connect`'s `direct` option, checked. */
export function directMode(value: unknown): DirectMode {
  if (value === undefined) return 'auto';
  if (!MODES.includes(value as DirectMode)) throw new InvalidArgumentError(`direct must be 'auto', 'always' or 'never', got ${JSON.stringify(value)}`);
  return value as DirectMode;
}

/** A reply to a gather that is not the values but where they are. */
export function isGatherWhere(value: unknown): value is GatherWhere {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Array.isArray((value as GatherWhere).where) && Array.isArray((value as GatherWhere).values);
}

export class DirectGather {
  private readonly peers: Peers;
  /** Results fetched from workers and through the scheduler, for tests and diagnostics. */
  readonly counts = { direct: 0, relayed: 0 };
  /** Worker address -> when to try it again and the back-off that set it ('auto' only). */
  private readonly unreachable = new Map<string, { until: number; backoffMs: number }>();
  private readonly now: () => number;

  constructor(
    token: string | undefined,
    name: string,
    private readonly mode: 'auto' | 'always',
    opts: { peers?: Peers; now?: () => number } = {},
  ) {
    this.peers = opts.peers ?? new PeerClient(token, name);
    this.now = opts.now ?? Date.now;
  }

  /** The gathered values: those in `reply`, those fetched from workers, and the rest relayed by `relay`. */
  async complete(reply: GatherWhere, keys: string[], relay: (keys: string[]) => Promise<unknown[]>): Promise<unknown[]> {
    const values = reply.values.slice();
    values.length = keys.length;
    const again: number[] = [];
    await Promise.all(
      reply.where.map(async (w) => {
        const skip = this.unreachable.get(w.address);
        if (skip && this.now() < skip.until) {
          again.push(...w.index);
          return;
        }
        let answer;
        try {
          answer = await this.peers.get(w.address, w.keys);
        } catch (err) {
          if (this.mode === 'always') throw new ConnectionError(`cannot fetch results from worker ${w.worker} at ${w.address} (direct: 'always'): ${(err as Error).message}`, { cause: err });
          this.markUnreachable(w.address, skip);
          again.push(...w.index);
          return;
        }
        this.unreachable.delete(w.address);
        const missing = new Set(answer.missing);
        w.keys.forEach((k, j) => {
          if (missing.has(k)) again.push(w.index[j]);
          else {
            values[w.index[j]] = answer.values[j];
            this.counts.direct++;
          }
        });
      }),
    );
    if (again.length > 0) {
      const relayed = await relay(again.map((i) => keys[i]));
      again.forEach((i, j) => (values[i] = relayed[j]));
      this.counts.relayed += again.length;
    }
    return values;
  }

  private markUnreachable(address: string, skip: { backoffMs: number } | undefined): void {
    const now = this.now();
    // Forget workers not seen failing for a while (they left, or came back and were not asked since).
    for (const [a, u] of this.unreachable) if (u.until + UNREACHABLE_MAX_MS < now) this.unreachable.delete(a);
    const backoffMs = skip ? Math.min(skip.backoffMs * 2, UNREACHABLE_MAX_MS) : UNREACHABLE_FIRST_MS;
    this.unreachable.set(address, { until: now + backoffMs, backoffMs });
  }

  close(): void {
    this.peers.close();
  }
}
