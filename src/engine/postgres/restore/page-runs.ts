// A set of page numbers of one file kept as sorted, disjoint runs [start, end): what a
// chain restore remembers of the pages a newer level already wrote. Memory follows the
// number of runs (changed pages arrive mostly ascending and clustered), never the file size.

export class PageRuns {
  /** start0, end0, start1, end1, ...: sorted, disjoint, not adjacent */
  private runs: number[] = [];

  get runCount(): number {
    return this.runs.length / 2;
  }

  /** Adds [from, to); the common case (ascending input) appends or extends the last run. */
  addRange(from: number, to: number): void {
    if (to <= from) return;
    const r = this.runs;
    const n = r.length;
    if (n === 0 || from > r[n - 1]!) {
      r.push(from, to);
      return;
    }
    if (from >= r[n - 2]!) {
      r[n - 1] = Math.max(r[n - 1]!, to);
      return;
    }
    // out of order: merge every run touching [from, to]
    const i = this.firstEndingAtOrAfter(from);
    let j = i;
    let lo = from;
    let hi = to;
    while (j < n && r[j]! <= to) {
      lo = Math.min(lo, r[j]!);
      hi = Math.max(hi, r[j + 1]!);
      j += 2;
    }
    r.splice(i, j - i, lo, hi);
  }

  add(page: number): void {
    this.addRange(page, page + 1);
  }

  has(page: number): boolean {
    const i = this.firstEndingAtOrAfter(page + 1);
    return i < this.runs.length && this.runs[i]! <= page;
  }

  /** The parts of [from, to) not in the set, ascending. */
  *gaps(from: number, to: number): Generator<[number, number]> {
    const r = this.runs;
    let at = from;
    for (let i = this.firstEndingAtOrAfter(from + 1); i < r.length && at < to; i += 2) {
      if (r[i]! > at) yield [at, Math.min(r[i]!, to)];
      at = Math.max(at, r[i + 1]!);
    }
    if (at < to) yield [at, to];
  }

  /** Index (even) of the first run whose end is >= x, or runs.length. */
  private firstEndingAtOrAfter(x: number): number {
    let lo = 0;
    let hi = this.runs.length / 2;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.runs[mid * 2 + 1]! < x) lo = mid + 1;
      else hi = mid;
    }
    return lo * 2;
  }
}
