// What a level 1 or 2 copies of a file whatever its method (wal or scan) finds changed: a
// file its base did not hold goes whole, pages past the size the base knew go whatever
// their LSN (a page's LSN says nothing of a file the base never read: a GiST index by
// sorted build carries LSN 1, an init fork LSN 0). It must never let a file skip its
// pages on the word of a page LSN or a file time alone when the base says it lacks them.

import type { IncrementalSource, SpaceFile } from '../../engine.js';
import { RELSEG_BLOCKS } from '../format/page.js';
import { isMapFork, relationBlockBase } from '../format/relation-path.js';
import { PAGE_SIZE } from '../format/page-size.js';

/** A regular file the base recorded it did not hold: created (or copied in) since. */
export function newSinceBase(f: SpaceFile, src: IncrementalSource): boolean {
  return f.type === 'file' && src.baseFiles !== undefined && src.baseFiles.sizeOf(f.path) === undefined;
}

/**
 * How many pages of the file, from its start, the base holds (older levels can supply
 * them): every page from this one on is copied. Infinity when the base recorded no list.
 */
export function pagesKnownToBase(f: SpaceFile, src: IncrementalSource): number {
  if (!src.baseFiles) return Infinity;
  return Math.floor((src.baseFiles.sizeOf(f.path) ?? 0) / PAGE_SIZE);
}

/**
 * Method wal: a relation file whose last write (its listed mtime) is older than the base's
 * start. Every page changed since is flushed by this backup's start checkpoint, which
 * writes the file, so such a file has no change the WAL could list, nor pages added since.
 * A time in the future (the clock was set back) is not trusted, nor a file the base
 * recorded shorter than it is (or not at all).
 */
export function unchangedOnDisk(f: SpaceFile, src: IncrementalSource): boolean {
  return (
    src.method === 'wal' &&
    src.unchangedBefore !== undefined &&
    f.type === 'file' &&
    f.mtimeMs < src.unchangedBefore &&
    f.mtimeMs <= Date.now() &&
    relationBlockBase(f.path, RELSEG_BLOCKS) !== undefined &&
    pagesKnownToBase(f, src) * PAGE_SIZE >= f.size
  );
}

/**
 * Whether a file is copied whole whatever changed in it: a file that is not a relation's,
 * a free space or visibility map (they change without new page LSNs), or a file new since
 * the base; unless it was last written before the base started.
 */
export function copiedWhole(f: SpaceFile, src: IncrementalSource): boolean {
  return (
    f.type === 'file' &&
    !unchangedOnDisk(f, src) &&
    (relationBlockBase(f.path, RELSEG_BLOCKS) === undefined || isMapFork(f.path) || newSinceBase(f, src))
  );
}
