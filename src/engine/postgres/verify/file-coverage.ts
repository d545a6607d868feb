// Which bytes of which files a backup holds, across the save sets (parts, levels) of
// one space: merged intervals per file, so a whole file costs one interval and memory
// follows the number of gaps, not the data size. The verification phase asks it for
// the gaps between 0 and each file's recorded size. In a chain of levels, the newest
// level (depth 0) says which files exist and how long they are; bytes count from any level.

export interface CoverageGap {
  readonly path: string;
  readonly relation: boolean;
  readonly size: number;
  /** byte range [from, to) that no save set holds */
  readonly from: number;
  readonly to: number;
}

interface FileState {
  size: number;
  relation: boolean;
  spans: number[];
  depth: number;
}

export class FileCoverage {
  private readonly files = new Map<string, FileState>();

  /**
   * A file entry was seen at `depth` of the chain (0: the newest level, 1: its base, …):
   * the newest level's size is the one the file must be restored to.
   */
  declare(path: string, size: number, relation: boolean, depth = 0): void {
    const f = this.files.get(path);
    if (!f) this.files.set(path, { size, relation, spans: [], depth });
    else if (depth <= f.depth) {
      f.size = size;
      f.relation = relation;
      f.depth = depth;
    }
  }

  addRange(path: string, size: number, offset: number, length: number): void {
    if (length <= 0) return;
    this.add(this.state(path, size), offset, offset + length);
  }

  addPages(path: string, size: number, pages: readonly number[], pageSize: number): void {
    const f = this.state(path, size);
    let runStart = -1;
    let prev = -2;
    for (const p of pages) {
      if (p !== prev + 1) {
        if (runStart >= 0) this.add(f, runStart * pageSize, (prev + 1) * pageSize);
        runStart = p;
      }
      prev = p;
    }
    if (runStart >= 0) this.add(f, runStart * pageSize, (prev + 1) * pageSize);
  }

  /** Files of the newest level. */
  get fileCount(): number {
    let n = 0;
    for (const f of this.files.values()) if (f.depth === 0) n++;
    return n;
  }

  /** Every byte range of [0, size) of every file of the newest level that no level covers. */
  *gaps(): Generator<CoverageGap> {
    for (const [path, f] of this.files) {
      if (f.depth !== 0) continue; // dropped since an older level: not restored
      let at = 0;
      for (let i = 0; i < f.spans.length && at < f.size; i += 2) {
        if (f.spans[i]! > at)
          yield { path, relation: f.relation, size: f.size, from: at, to: Math.min(f.spans[i]!, f.size) };
        at = Math.max(at, f.spans[i + 1]!);
      }
      if (at < f.size) yield { path, relation: f.relation, size: f.size, from: at, to: f.size };
    }
  }

  private state(path: string, size: number): FileState {
    let f = this.files.get(path);
    if (!f) {
      f = { size, relation: false, spans: [], depth: 0 };
      this.files.set(path, f);
    }
    return f;
  }

  /** Inserts [from, to) into the sorted, disjoint spans, merging neighbours. */
  private add(f: FileState, from: number, to: number): void {
    const s = f.spans;
    // common case: appending after the last span
    if (s.length === 0 || from > s[s.length - 1]!) {
      s.push(from, to);
      return;
    }
    if (from >= s[s.length - 2]!) {
      s[s.length - 1] = Math.max(s[s.length - 1]!, to);
      return;
    }
    const merged: number[] = [];
    let placed = false;
    for (let i = 0; i < s.length; i += 2) {
      const a = s[i]!,
        b = s[i + 1]!;
      if (b < from) {
        merged.push(a, b);
        continue;
      }
      if (a > to) {
        if (!placed) {
          merged.push(from, to);
          placed = true;
        }
        merged.push(a, b);
        continue;
      }
      from = Math.min(from, a);
      to = Math.max(to, b);
    }
    if (!placed) merged.push(from, to);
    f.spans = merged;
  }
}
