// Shares a space's files among the parallel streams that copy it. Large files are cut
// into ranges; the pieces wait in one queue per space that every part of the space pulls
// from as it goes, so the parts finish together whatever each piece costs to read,
// check and compress. Each part becomes one save set; directories and links go to part 0.

import type { SpaceFile } from '../../engine/engine.js';

/** Files larger than this are cut into ranges of this size, so one big table does not hold up a stream. */
export const RANGE_BYTES = 32 * 1024 * 1024;

/**
 * The pieces of a space, handed out one at a time to whichever part asks next: the
 * largest first (files in path order, ranges in file order among equals), so the last
 * pieces are the small ones and the streams end within a small piece of each other.
 */
export class PieceQueue implements Iterable<SpaceFile> {
  /** directories and symlinks: written by part 0 before it pulls pieces */
  readonly tree: readonly SpaceFile[];
  readonly bytes: number;
  private readonly pieces: SpaceFile[];
  private next = 0;
  private stopped = false;

  /** `cost`: bytes a piece takes to copy (an incremental reads less than the file); default its size */
  constructor(files: readonly SpaceFile[], cost: (f: SpaceFile) => number = sizeOf) {
    this.tree = files.filter((f) => f.type !== 'file');
    // each piece's cost worked out once (for an incremental it looks the file up in the changes)
    const costed = files
      .filter((f) => f.type === 'file')
      .flatMap((f) => {
        if (f.size <= RANGE_BYTES) return [f];
        const out: SpaceFile[] = [];
        for (let offset = 0; offset < f.size; offset += RANGE_BYTES)
          out.push({ ...f, range: { offset, length: Math.min(RANGE_BYTES, f.size - offset) } });
        return out;
      })
      .map((f) => ({ f, cost: cost(f) }));
    costed.sort(
      (a, b) =>
        b.cost - a.cost ||
        (a.f.path < b.f.path ? -1 : a.f.path > b.f.path ? 1 : (a.f.range?.offset ?? 0) - (b.f.range?.offset ?? 0)),
    );
    this.pieces = costed.map((c) => c.f);
    this.bytes = costed.reduce((a, c) => a + c.cost, 0);
  }

  /** Every piece, in the order they are handed out. */
  order(): readonly SpaceFile[] {
    return this.pieces.slice();
  }

  /** No more pieces for anyone (a part failed: the backup is lost anyway). */
  stop(): void {
    this.stopped = true;
  }

  /** The pieces part `part` copies: the tree first for part 0, then whatever is left in the queue as it asks. */
  forPart(part: number): Iterable<SpaceFile> {
    const prologue = part === 0 ? this.tree : [];
    const queue = this[Symbol.iterator]();
    return {
      [Symbol.iterator]: () => {
        let i = 0;
        return {
          next: (): IteratorResult<SpaceFile> =>
            i < prologue.length ? { done: false, value: prologue[i++]! } : queue.next(),
        };
      },
    };
  }

  /** Pulls from the shared queue; no `return`, so one consumer stopping early does not end it for the others. */
  [Symbol.iterator](): Iterator<SpaceFile> {
    return {
      next: (): IteratorResult<SpaceFile> =>
        this.stopped || this.next >= this.pieces.length
          ? { done: true, value: undefined }
          : { done: false, value: this.pieces[this.next++]! },
    };
  }
}

/** How many parts a space of `bytes` gets: enough to keep the streams busy, none tiny. */
export function partsFor(bytes: number, streams: number): number {
  const minPart = 64 * 1024 * 1024;
  return Math.max(1, Math.min(streams, Math.floor(bytes / minPart)));
}

function sizeOf(f: SpaceFile): number {
  return f.range ? f.range.length : f.size;
}
