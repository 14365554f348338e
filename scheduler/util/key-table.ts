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

export class KeyTable<V extends Linked<V>> extends Map<string, V> {
  private oldest: V | undefined;
  private newest: V | undefined;
  /** The record the last lookup found; the next one tries the record after it first. */
  private cursor: V | undefined;

  override get(key: string): V | undefined {
    const c = this.cursor;
    const next = c === undefined ? this.oldest : c.newer;
    if (next !== undefined && next.key === key) {
      this.cursor = next;
      return next;
    }
    if (c !== undefined && c.key === key) return c;
    const v = super.get(key);
    if (v !== undefined) this.cursor = v;
    return v;
  }

  /** Adds `v` under its key, which must not be in the table. */
  add(v: V): void {
    super.set(v.key, v);
    const last = this.newest;
    v.older = last;
    v.newer = undefined;
    if (last === undefined) this.oldest = v;
    else last.newer = v;
    this.newest = v;
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
    if (v.older === undefined && this.oldest !== v) return false;
    super.delete(v.key);
    this.unlink(v);
    return true;
  }

  override delete(key: string): boolean {
    const v = super.get(key);
    return v !== undefined && this.remove(v);
  }

  override clear(): void {
    for (let v = this.oldest; v !== undefined; ) {
      const next: V | undefined = v.newer;
      v.newer = v.older = undefined;
      v = next;
    }
    this.oldest = this.newest = this.cursor = undefined;
    super.clear();
  }

  private unlink(v: V): void {
    const { older, newer } = v;
    if (older === undefined) this.oldest = newer;
    else older.newer = newer;
    if (newer === undefined) this.newest = older;
    else newer.older = older;
    // The record after the one removed is still the next to try.
    if (this.cursor === v) this.cursor = older;
    v.newer = v.older = undefined;
  }
}
