/**
 * Fetches the dependencies of a worker process's tasks from the worker processes that hold them (their
 * peer servers), in parallel across peers and batched per peer: everything wanted from one peer leaves as one
 * request, also when several batches of tasks want from it. A holder that is unreachable or no longer stores
 * a key is followed by the next holder of that key; a key no holder gives is reported missing.
 */
import type { PeerClient } from '../../wire/peer-client';

/**
 * At most this many peers are asked at once (one request each): a few parallel streams fill a link; more
 * only split it and hold more partial results in memory.
 */
export const MAX_PEERS_AT_ONCE = 4;
/**
 * No new request starts while more than this many bytes are arriving for requests not yet answered, so a
 * burst of large dependencies does not hold unbounded partial transfers in memory at once.
 */
export const MAX_BYTES_IN_FLIGHT = 256 * 2 ** 20;

export interface FetchOutcome {
  values: Map<string, unknown>;
  /** Keys no holder gave. */
  missing: Set<string>;
  /**
   * Keys whose value was given to this fetch alone (not also to another fetch that asked for the same key at
   * the same time): the caller may hand such a value on, buffers and all, without copying it.
   */
  exclusive: Set<string>;
}

/** One call of `fetch`: its keys, the holder each one is at, and what came back. */
class Want {
  readonly values = new Map<string, unknown>();
  readonly missing = new Set<string>();
  readonly exclusive = new Set<string>();
  private open: number;
  private readonly next = new Map<string, number>();

  constructor(
    readonly holders: Map<string, string[]>,
    private readonly done: (o: FetchOutcome) => void,
  ) {
    this.open = holders.size;
    if (this.open === 0) this.finish();
  }

  /** The next holder to ask for `key`, or undefined when every one was tried. */
  nextHolder(key: string): string | undefined {
    const i = this.next.get(key) ?? 0;
    this.next.set(key, i + 1);
    return this.holders.get(key)?.[i];
  }

  got(key: string, value: unknown, alone: boolean): void {
    this.values.set(key, value);
    if (alone) this.exclusive.add(key);
    this.settle();
  }

  lost(key: string): void {
    this.missing.add(key);
    this.settle();
  }

  private settle(): void {
    if (--this.open === 0) this.finish();
  }

  private finish(): void {
    this.done({ values: this.values, missing: this.missing, exclusive: this.exclusive });
  }
}

export class DependencyFetcher {
  /** Keys waiting to be asked for, by the worker to ask. */
  private readonly queued = new Map<string, { key: string; want: Want }[]>();
  /** Workers being asked now. */
  private readonly asking = new Set<string>();

  constructor(
    private readonly peers: PeerClient,
    /** The peer address of a worker, when the scheduler said it. */
    private readonly addressOf: (workerId: string) => string | undefined,
  ) {}

  /** Fetches each key from its holders, in order; resolves once every key arrived or was tried everywhere. */
  fetch(holders: Map<string, string[]>): Promise<FetchOutcome> {
    return new Promise((resolve) => {
      const want = new Want(holders, resolve);
      for (const key of holders.keys()) this.route(key, want);
      this.pump();
    });
  }

  /** Queues `key` for its next holder (or reports it missing when none is left). */
  private route(key: string, want: Want): void {
    for (;;) {
      const holder = want.nextHolder(key);
      if (holder === undefined) return want.lost(key);
      if (this.addressOf(holder) === undefined) continue;
      let q = this.queued.get(holder);
      if (!q) this.queued.set(holder, (q = []));
      q.push({ key, want });
      return;
    }
  }

  private pump(): void {
    for (const [holder, items] of this.queued) {
      if (this.asking.size >= MAX_PEERS_AT_ONCE || this.peers.bytesInFlight > MAX_BYTES_IN_FLIGHT) return;
      if (this.asking.has(holder)) continue;
      this.queued.delete(holder);
      this.ask(holder, items);
    }
  }

  private ask(holder: string, items: { key: string; want: Want }[]): void {
    const address = this.addressOf(holder);
    if (address === undefined) {
      for (const it of items) this.route(it.key, it.want);
      return;
    }
    this.asking.add(holder);
    // One request per peer: a key several batches want is asked for once.
    const keys = [...new Set(items.map((it) => it.key))];
    const finish = (answer: Map<string, unknown> | undefined) => {
      this.asking.delete(holder);
      // A key several fetches wanted gives them one value: none of them has it alone.
      const wanted = new Map<string, number>();
      for (const it of items) wanted.set(it.key, (wanted.get(it.key) ?? 0) + 1);
      for (const it of items) {
        if (answer?.has(it.key)) it.want.got(it.key, answer.get(it.key), wanted.get(it.key) === 1);
        else this.route(it.key, it.want);
      }
      this.pump();
    };
    this.peers.get(address, keys).then(
      ({ values, missing }) => {
        const lost = new Set(missing);
        const answer = new Map<string, unknown>();
        keys.forEach((k, i) => {
          if (!lost.has(k)) answer.set(k, values[i]);
        });
        finish(answer);
      },
      () => finish(undefined),
    );
  }
}
