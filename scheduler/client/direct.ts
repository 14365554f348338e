/**
 * Gathers straight from the worker processes that hold the results (the `direct` option of
 * `Client.connect`). A client that says `direct` in its handshake gets, for results held on worker
 * processes, a GatherWhere (which worker holds each, and where its peer server listens) instead of the
 * values; it fetches them from those workers in parallel, one request per worker, and asks the scheduler to
 * relay whatever a worker could not give: it was unreachable ('auto' only), or no longer holds the key (the
 * scheduler then answers as it always did: the value, or the error of a lost or recomputed key).
 */
import { ConnectionError, InvalidArgumentError } from '../protocol/errors';
import type { GatherWhere } from '../protocol/messages';
import { PeerClient } from '../wire/peer-client';

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
  private readonly peers: PeerClient;
  /** Results fetched from workers and through the scheduler, for tests and diagnostics. */
  readonly counts = { direct: 0, relayed: 0 };

  constructor(
    token: string | undefined,
    name: string,
    private readonly mode: 'auto' | 'always',
  ) {
    this.peers = new PeerClient(token, name);
  }

  /** The gathered values: those in `reply`, those fetched from workers, and the rest relayed by `relay`. */
  async complete(reply: GatherWhere, keys: string[], relay: (keys: string[]) => Promise<unknown[]>): Promise<unknown[]> {
    const values = reply.values.slice();
    values.length = keys.length;
    const again: number[] = [];
    await Promise.all(
      reply.where.map(async (w) => {
        let answer;
        try {
          answer = await this.peers.get(w.address, w.keys);
        } catch (err) {
          if (this.mode === 'always') throw new ConnectionError(`cannot fetch results from worker ${w.worker} at ${w.address} (direct: 'always'): ${(err as Error).message}`, { cause: err });
          again.push(...w.index);
          return;
        }
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

  close(): void {
    this.peers.close();
  }
}
