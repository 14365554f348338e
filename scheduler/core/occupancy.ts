/**
 * The least occupancy (tasks queued on a worker and running there, per thread) over all workers, kept as
 * occupancies change rather than found by a scan of every worker each time a task is placed by its data:
 * with 1,000 workers that scan was most of a placement's cost. It holds the least value and how many workers
 * have it; only when the last of those becomes busier or leaves is it found again by one scan.
 */
import type { WorkerState } from './tasks';

/** Tasks queued on `w` and running there, per thread. */
export function occupancy(w: WorkerState): number {
  return (w.queued + w.processing.length) / w.threads;
}

export class LeastOccupancy {
  private least = Infinity;
  /** Workers whose occupancy is `least`. */
  private atLeast = 0;
  private known = true;

  constructor(private readonly workers: ReadonlyMap<string, WorkerState>) {}

  /** `w` joined, or its queue or running tasks changed: counts its occupancy now. */
  update(w: WorkerState): void {
    const before = w.counted;
    const now = occupancy(w);
    w.counted = now;
    if (!this.known || before === now) return;
    if (before === this.least && --this.atLeast === 0) {
      this.known = false;
      return;
    }
    if (now < this.least) {
      this.least = now;
      this.atLeast = 1;
    } else if (now === this.least) this.atLeast++;
  }

  /** `w` left (after its own queue was emptied). */
  left(w: WorkerState): void {
    if (this.known && w.counted === this.least && --this.atLeast === 0) this.known = false;
  }

  value(): number {
    if (!this.known) {
      this.least = Infinity;
      this.atLeast = 0;
      for (const w of this.workers.values()) {
        const o = occupancy(w);
        if (o < this.least) {
          this.least = o;
          this.atLeast = 1;
        } else if (o === this.least) this.atLeast++;
      }
      this.known = true;
    }
    return this.least;
  }
}

/**
 * The workers with tasks in their own queue, by how many (`queued`): the longest queue, which an idle worker
 * steals from, is found without a scan of every worker on each dispatch. A worker's count changes by one at a
 * time (a task placed on it, or leaving its queue), so each change moves it between two neighbouring buckets.
 */
export class QueueLengths {
  /** buckets[n]: the workers with n tasks queued (n >= 1). */
  private readonly buckets: Set<WorkerState>[] = [];
  private longest = 0;

  /** `w.queued` just went up by one. */
  grew(w: WorkerState): void {
    const n = w.queued;
    if (n > 1) this.buckets[n - 1].delete(w);
    (this.buckets[n] ??= new Set()).add(w);
    if (n > this.longest) this.longest = n;
  }

  /** `w.queued` just went down by one. */
  shrank(w: WorkerState): void {
    const n = w.queued;
    this.buckets[n + 1].delete(w);
    if (n > 0) (this.buckets[n] ??= new Set()).add(w);
    while (this.longest > 0 && this.buckets[this.longest].size === 0) this.longest--;
  }

  /** A worker other than `except` with the longest own queue, or undefined when no other has one. */
  longestExcept(except: WorkerState): WorkerState | undefined {
    for (let n = this.longest; n > 0; n--) for (const v of this.buckets[n]) if (v !== except) return v;
    return undefined;
  }
}
