/**
 * A Map from key to record that answers lookups made in the order the records were added without hashing.
 *
 * The scheduler's tables hold one record per key — 100,000 of them during a large `map` — and are read in
 * the order the keys were made: a map's tasks are submitted, dispatched, finished, gathered and released in
 * that order, so each lookup asks for the record added just after the one asked for before. A lookup in a
 * Map that large costs a cache miss or two in its hash table (~100 ns); following one pointer from the last
 * record found costs a few ns. The records are linked in the order they were added (`newer`/`older`, kept
 * by the table alone); `get` first tries the record after the last one found, and only then hashes.
 *
 * Records enter only through `add` (a key not in the table) and leave through `remove` or `delete`, so the
 * links are exactly the table's records: a record that left keeps no neighbour alive.
 */
export interface Linked<V> {
  readonly key: string;
  /** The next record added after this one still in the table (the table's own link). */
  newer: V | undefined;
  /** The record added before this one still in the table (the table's own link). */
  older: V | undefined;
}

/** A table's records in the order they were added, linked through their own `newer`/`older` fields. */
class Chain<V extends Linked<V>> {
  oldest: V | undefined;
  newest: V | undefined;

  /** Links `v` as the newest record. */
  push(v: V): void {
    const last = this.newest;
    v.older = last;
    v.newer = undefined;
    if (last === undefined) this.oldest = v;
    else last.newer = v;
    this.newest = v;
  }

  /** Whether `v` is linked here (a record is in one table at most: its links are that table's). */
  holds(v: V): boolean {
    return v.older !== undefined || this.oldest === v;
  }

  /** Unlinks `v`, which keeps no neighbour alive afterwards. */
  unlink(v: V): void {
    const { older, newer } = v;
    if (older === undefined) this.oldest = newer;
    else older.newer = newer;
    if (newer === undefined) this.newest = older;
    else newer.older = older;
    v.newer = v.older = undefined;
  }

  /** Unlinks every record. */
  clear(): void {
    for (let v = this.oldest; v !== undefined; ) {
      const next: V | undefined = v.newer;
      v.newer = v.older = undefined;
      v = next;
    }
    this.oldest = this.newest = undefined;
  }
}

/**
 * Lookups in a row whose next-in-order try failed, after which a KeyTable tries it only every
 * PROBE_EVERY-th lookup (a power of two): while lookups come in no order (outcomes of thousands of clients'
 * tasks), the try reads a record and its key that the lookup does not need — two cache misses in a large
 * table, more than the hashing it hoped to save — and the sparse tries notice when the order comes back.
 */
const PROBE_GIVE_UP = 16;
const PROBE_EVERY = 16;

export class KeyTable<V extends Linked<V>> extends Map<string, V> {
  private readonly chain = new Chain<V>();
  /** The record the last lookup found; the next one tries the record after it first. */
  private cursor: V | undefined;
  /** Lookups since the next-in-order try last found its record (see PROBE_GIVE_UP). */
  private misses = 0;

  override get(key: string): V | undefined {
    const c = this.cursor;
    const m = this.misses;
    if (m < PROBE_GIVE_UP || (m & (PROBE_EVERY - 1)) === 0) {
      const next = c === undefined ? this.chain.oldest : c.newer;
      if (next !== undefined && next.key === key) {
        this.cursor = next;
        this.misses = 0;
        return next;
      }
    }
    if (c !== undefined && c.key === key) return c;
    if (m < 0x40000000) this.misses = m + 1;
    const v = super.get(key);
    if (v !== undefined) this.cursor = v;
    return v;
  }

  /** Adds `v` under its key, which must not be in the table. */
  add(v: V): void {
    super.set(v.key, v);
    this.chain.push(v);
  }

  /** Sets `key` to `v` (replacing the record there, which then leaves the table); prefer `add` for a key known to be new. */
  override set(key: string, v: V): this {
    if (v.key !== key) throw new Error(`KeyTable: record of ${v.key} set under ${key}`);
    const had = super.get(key);
    if (had === v) return this;
    // Replaced: the key moves to the newest end, in the Map's iteration order as in the links.
    if (had !== undefined) this.remove(had);
    this.add(v);
    return this;
  }

  /** Removes `v` if it is in the table (as the record of its key); true when it was. */
  remove(v: V): boolean {
    if (!this.chain.holds(v)) return false;
    super.delete(v.key);
    // The record after the one removed is still the next to try.
    if (this.cursor === v) this.cursor = v.older;
    this.chain.unlink(v);
    return true;
  }

  override delete(key: string): boolean {
    const v = super.get(key);
    return v !== undefined && this.remove(v);
  }

  override clear(): void {
    this.chain.clear();
    this.cursor = undefined;
    super.clear();
  }
}

/** A record of a LazyKeyTable: its links, and whether its key is in the table's Map yet. */
export interface LazyLinked<V> extends Linked<V> {
  /** In the Map (false: only in the links, among the newest records). */
  indexed: boolean;
}

/**
 * How far a LazyKeyTable looks through the links for a key not in its Map, before it puts every record
 * there instead: a few batches of dispatch (pool batches hold up to 4,096 tasks, and results of batches
 * running at once arrive in any order of batches).
 */
export const LAZY_SCAN = 65_536;

/**
 * Records a LazyKeyTable may search in all, per record not in its Map, before it puts them all there:
 * lookups that keep finding records far from the last ones found (not in order) cost a Map operation
 * per record, as in a Map, rather than a search each.
 */
const SCANS_PER_RECORD = 8;

/**
 * A KeyTable for records whose keys are new when they are added (a client's fresh unique keys), which often
 * leave the table before anyone looks one up other than in order. It puts a record in its Map only when a
 * lookup needs it to: added records are only linked (the newest records, from `firstPending` on), and a
 * lookup that is not the next in order searches them near the last record found, then, failing that, puts
 * them all in the Map. A record that leaves before it was put there costs no Map operation at all — a
 * `map` of 100,000 tasks whose statuses arrive in order of batches pays neither the insert nor the delete.
 * Each record enters the Map at most once, a search looks at most LAZY_SCAN records around each of the last
 * three found, and the searches between two indexings look at about SCANS_PER_RECORD times as many records as
 * are waiting to be indexed.
 */
export class LazyKeyTable<V extends LazyLinked<V>> {
  private readonly map = new Map<string, V>();
  private readonly chain = new Chain<V>();
  private cursor: V | undefined;
  /** The records found last before `cursor` elsewhere: other streams of lookups in order. */
  private other: V | undefined;
  private third: V | undefined;
  /** The oldest record not in the Map: it and every newer one are only linked. */
  private firstPending: V | undefined;
  private pending = 0;

  /** `scan`: how many records a lookup searches before it indexes them all (LAZY_SCAN; tests ask for fewer). */
  constructor(private readonly scan = LAZY_SCAN) {}

  get size(): number {
    return this.map.size + this.pending;
  }

  get(key: string): V | undefined {
    const c = this.cursor;
    const next = c === undefined ? this.chain.oldest : c.newer;
    if (next !== undefined && next.key === key) {
      this.cursor = next;
      return next;
    }
    // The other streams of lookups in order: statuses of tasks starting, and of tasks finishing on each
    // thread, a few batches apart.
    const o = this.other;
    if (o !== undefined && o.newer !== undefined && o.newer.key === key) {
      this.other = c;
      this.cursor = o.newer;
      return this.cursor;
    }
    const t = this.third;
    if (t !== undefined && t.newer !== undefined && t.newer.key === key) {
      this.third = o;
      this.other = c;
      this.cursor = t.newer;
      return this.cursor;
    }
    if (c !== undefined && c.key === key) return c;
    let v = this.map.get(key);
    if (v === undefined && this.pending > 0) v = this.findPending(key);
    if (v !== undefined) {
      this.third = o;
      this.other = c;
      this.cursor = v;
    }
    return v;
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  /** Adds `v`, whose key must not be in the table. */
  add(v: V): void {
    v.indexed = false;
    this.chain.push(v);
    if (this.firstPending === undefined) this.firstPending = v;
    this.pending++;
  }

  /** Removes `v` if it is in the table; true when it was. */
  remove(v: V): boolean {
    if (!this.chain.holds(v)) return false;
    if (v.indexed) this.map.delete(v.key);
    else {
      if (this.firstPending === v) this.firstPending = v.newer;
      this.pending--;
    }
    const older = v.older;
    if (this.cursor === v) this.cursor = older;
    if (this.other === v) this.other = older;
    if (this.third === v) this.third = older;
    this.chain.unlink(v);
    return true;
  }

  /** Every record, oldest first (a copy: the caller may remove records meanwhile). */
  values(): V[] {
    const out: V[] = [];
    for (let v = this.chain.oldest; v !== undefined; v = v.newer) out.push(v);
    return out;
  }

  /**
   * `key` among the records not in the Map: outward from the last three records found, those of them that
   * are not in the Map (results of the batches running at once arrive in any order of batches), else from the
   * oldest of them; when not found within `scan` records, every one of them goes into the Map, which answers.
   */
  private findPending(key: string): V | undefined {
    let found: V | undefined;
    let near = false;
    for (const c of [this.cursor, this.other, this.third]) {
      if (c === undefined || c.indexed) continue;
      near = true;
      found = this.around(c, key);
      if (found !== undefined) break;
    }
    if (!near) {
      let steps = 0;
      for (let v = this.firstPending; v !== undefined && steps < this.scan; v = v.newer, steps++) {
        if (v.key === key) {
          found = v;
          break;
        }
      }
      this.scanned += steps;
    }
    if (found !== undefined && this.scanned <= SCANS_PER_RECORD * this.pending) return found;
    return this.indexAll(key);
  }

  /** Records searched since the last indexAll. */
  private scanned = 0;

  /** `key` among the records not in the Map within `scan` records of `c` (one of them), outward both ways. */
  private around(c: V, key: string): V | undefined {
    let fwd = c.newer;
    let back = c.older;
    let steps = 0;
    let found: V | undefined;
    while ((fwd !== undefined || (back !== undefined && !back.indexed)) && steps < this.scan) {
      if (fwd !== undefined) {
        steps++;
        if (fwd.key === key) {
          found = fwd;
          break;
        }
        fwd = fwd.newer;
      }
      if (back !== undefined && !back.indexed) {
        steps++;
        if (back.key === key) {
          found = back;
          break;
        }
        back = back.older;
      }
    }
    this.scanned += steps;
    return found;
  }

  /**
   * Puts every record not yet in the Map there (a lookup did not find `key` among them, or gave up
   * searching), then asks the Map. A key looked up and missing is usually about to be added (a submit of a
   * pure task asks first): indexing now keeps the next such lookup from searching the same records again.
   */
  private indexAll(key: string): V | undefined {
    for (let v = this.firstPending; v !== undefined; v = v.newer) {
      v.indexed = true;
      this.map.set(v.key, v);
    }
    this.firstPending = undefined;
    this.pending = 0;
    this.scanned = 0;
    return this.map.get(key);
  }
}
