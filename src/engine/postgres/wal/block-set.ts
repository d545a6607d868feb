// A compact set of block numbers for one relation fork: appended to a Uint32Array,
// sorted and deduplicated in place when full, so memory follows the number of distinct
// blocks (4 to 8 bytes each), not the number of WAL references. Never stores anything else.

export class BlockSet {
  private buf: Uint32Array;
  private n = 0;
  private last = -1;
  /** buf[0, sortedUpTo) is sorted and unique */
  private sortedUpTo = 0;

  constructor(initial = 16) {
    this.buf = new Uint32Array(initial);
  }

  add(block: number): void {
    if (block === this.last) return; // the common case: the same page again
    if (this.n === this.buf.length) this.compact();
    this.buf[this.n++] = block;
    this.last = block;
  }

  /** Sorts and dedups; grows when more than half stays full, so adds stay amortised O(1). */
  private compact(): void {
    this.normalise();
    if (this.n * 2 > this.buf.length) {
      const bigger = new Uint32Array(this.buf.length * 2);
      bigger.set(this.buf.subarray(0, this.n));
      this.buf = bigger;
    }
  }

  /** The distinct blocks, ascending; a new array the set no longer touches. */
  toSortedArray(): Uint32Array {
    return this.buf.slice(0, this.normalise());
  }

  /** Distinct blocks so far. */
  get size(): number {
    return this.normalise();
  }

  private normalise(): number {
    this.n = sortUnique(this.buf, this.n, this.sortedUpTo);
    this.sortedUpTo = this.n;
    return this.n;
  }
}

/** Sorts a[0, n) (numeric: typed arrays sort by value) and removes duplicates; the new length. */
function sortUnique(a: Uint32Array, n: number, sortedUpTo: number): number {
  if (sortedUpTo === n) return n;
  a.subarray(0, n).sort();
  let w = n > 0 ? 1 : 0;
  for (let r = 1; r < n; r++) if (a[r] !== a[w - 1]) a[w++] = a[r]!;
  return w;
}
