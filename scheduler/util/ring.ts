/** A growable ring buffer: O(1) push at the back and shift at the front, indexable. */
export class Ring<T> {
  private buf: (T | undefined)[];
  private head = 0;
  private size = 0;

  constructor(capacity = 16) {
    this.buf = new Array<T | undefined>(Math.max(4, capacity));
  }

  get length(): number {
    return this.size;
  }

  push(item: T): void {
    if (this.size === this.buf.length) this.grow();
    this.buf[(this.head + this.size) % this.buf.length] = item;
    this.size++;
  }

  shift(): T | undefined {
    if (this.size === 0) return undefined;
    const item = this.buf[this.head];
    this.buf[this.head] = undefined;
    this.head = (this.head + 1) % this.buf.length;
    this.size--;
    return item;
  }

  /** Replaces item `i` counted from the oldest (which must exist). */
  set(i: number, item: T): void {
    if (i < 0 || i >= this.size) throw new RangeError(`no item ${i} in a ring of ${this.size}`);
    this.buf[(this.head + i) % this.buf.length] = item;
  }

  /** Item `i` counted from the oldest. */
  at(i: number): T | undefined {
    if (i < 0 || i >= this.size) return undefined;
    return this.buf[(this.head + i) % this.buf.length];
  }

  /** Items from index `from` (oldest = 0) to the newest. */
  slice(from = 0): T[] {
    const out: T[] = [];
    for (let i = Math.max(0, from); i < this.size; i++) out.push(this.buf[(this.head + i) % this.buf.length] as T);
    return out;
  }

  clear(): void {
    this.buf = new Array<T | undefined>(16);
    this.head = 0;
    this.size = 0;
  }

  *[Symbol.iterator](): IterableIterator<T> {
    for (let i = 0; i < this.size; i++) yield this.buf[(this.head + i) % this.buf.length] as T;
  }

  private grow(): void {
    const next = new Array<T | undefined>(this.buf.length * 2);
    for (let i = 0; i < this.size; i++) next[i] = this.buf[(this.head + i) % this.buf.length];
    this.buf = next;
    this.head = 0;
  }
}
