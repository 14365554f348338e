/**
 * A growable ring buffer: O(1) push at the back and shift at the front, indexable. Its capacity is a power
 * of two, so an index wraps with a mask rather than a division (a channel window reads and writes several
 * rings per item, for every subscriber).
 */
export class Ring<T> {
  private buf: (T | undefined)[];
  /** `buf.length - 1`. */
  private mask: number;
  private head = 0;
  private size = 0;

  constructor(capacity = 16) {
    let n = 4;
    while (n < capacity) n *= 2;
    this.buf = new Array<T | undefined>(n);
    this.mask = n - 1;
  }

  get length(): number {
    return this.size;
  }

  push(item: T): void {
    if (this.size === this.buf.length) this.grow();
    this.buf[(this.head + this.size) & this.mask] = item;
    this.size++;
  }

  shift(): T | undefined {
    if (this.size === 0) return undefined;
    const item = this.buf[this.head];
    this.buf[this.head] = undefined;
    this.head = (this.head + 1) & this.mask;
    this.size--;
    return item;
  }

  /** Replaces item `i` counted from the oldest (which must exist). */
  set(i: number, item: T): void {
    if (i < 0 || i >= this.size) throw new RangeError(`no item ${i} in a ring of ${this.size}`);
    this.buf[(this.head + i) & this.mask] = item;
  }

  /** Item `i` counted from the oldest. */
  at(i: number): T | undefined {
    if (i < 0 || i >= this.size) return undefined;
    return this.buf[(this.head + i) & this.mask];
  }

  private grow(): void {
    const next = new Array<T | undefined>(this.buf.length * 2);
    for (let i = 0; i < this.size; i++) next[i] = this.buf[(this.head + i) & this.mask];
    this.buf = next;
    this.mask = next.length - 1;
    this.head = 0;
  }
}
