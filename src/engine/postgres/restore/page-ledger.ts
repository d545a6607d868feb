// What a restore (newest level first) has made final, per file of one space: the newest
// level decides which files exist and their sizes; a file written whole by a level is
// final for every older level; pages written by a page list are remembered (as runs, only
// for files an incremental touched) so no older level overwrites them. A chain of one
// level (a level 0 alone) needs no memory at all: nothing older reads it. Decides only: it
// never touches a file. Its state follows from the entries alone, in any order within a
// level (the entries of one file agree on its size), so the entries of the parts an
// interrupted run wrote, read again, rebuild it.

import type { FileEntry } from '../format/space-stream.js';
import { PageRuns } from './page-runs.js';

interface FileState {
  readonly size: number;
  /** depth (0 = newest level) of the level that wrote the file whole, if one did */
  completeAt: number | undefined;
  written: PageRuns | undefined;
}

/** What to do with a file entry of a level: nothing, or write it (`create`: first sight in the newest level). */
export type Claim =
  { readonly write: false } | { readonly write: true; readonly size: number; readonly create: boolean };

export class PageLedger {
  private readonly files = new Map<string, FileState>();

  /** `levels`: the chain's length; the oldest level needs no memory of what it writes. */
  constructor(
    private readonly levels: number,
    private readonly pageSize: number,
  ) {}

  /**
   * A file entry of the level at `depth`. The newest level registers the file (its size
   * is final); an older level writes only files the newest has and a newer level did not
   * write whole. Levels must come newest first, every part of a level before the next.
   * In a chain of one every entry is a first sight (the file's entries are its own parts).
   */
  claim(e: FileEntry, depth: number): Claim {
    if (this.levels === 1) return { write: true, size: e.size, create: true };
    let f = this.files.get(e.path);
    if (depth === 0) {
      const create = f === undefined;
      if (!f) {
        f = { size: e.size, completeAt: undefined, written: undefined };
        this.files.set(e.path, f);
      }
      if (e.pages === undefined && f.completeAt === undefined) f.completeAt = 0;
      return { write: true, size: f.size, create };
    }
    if (!f || (f.completeAt !== undefined && f.completeAt < depth)) return { write: false };
    // whole content from this level: final for the older ones (other parts of this level still write theirs)
    if (e.pages === undefined && depth < this.levels - 1) f.completeAt ??= depth;
    return { write: true, size: f.size, create: false };
  }

  /** Whether a level newer than `depth` wrote block `page` of the file. */
  taken(path: string, page: number, depth: number): boolean {
    return depth > 0 && this.files.get(path)?.written?.has(page) === true;
  }

  /**
   * The parts of byte range [from, to) of the file (below its final size) that no level
   * newer than `depth` wrote, ascending (whole-file content).
   */
  *free(path: string, from: number, to: number, depth: number): Generator<[number, number]> {
    const written = depth > 0 ? this.files.get(path)?.written : undefined;
    if (!written) {
      if (from < to) yield [from, to];
      return;
    }
    const ps = this.pageSize;
    for (const [a, b] of written.gaps(Math.floor(from / ps), Math.ceil(to / ps))) {
      const lo = Math.max(from, a * ps);
      const hi = Math.min(to, b * ps);
      if (lo < hi) yield [lo, hi];
    }
  }

  /** The pages a page-list entry of the level at `depth` carried: final for older levels. */
  markWritten(path: string, pages: readonly number[], depth: number): void {
    if (depth >= this.levels - 1 || pages.length === 0) return;
    const f = this.files.get(path);
    if (!f) return;
    f.written ??= new PageRuns();
    for (const p of pages) f.written.add(p);
  }
}
