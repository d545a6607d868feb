// Which pages of each file a copy takes: the one thing a level decides (the rest of the
// copy is the same for all). Level 0: every page of every file. Levels 1 and 2: the pages
// changed since the base, found from the WAL's block references (`wal`) or by reading
// every page and comparing its LSN with the base's start (`scan`); a file last written
// before the base is not opened at all; a file the base lacks, a map and a file that is
// not a relation's go whole (incremental-rules.ts), as do the pages past the size the
// base knew. It must never let a page go on the word of a page LSN or a file time alone
// when the base says it lacks it.

import type { IncrementalSource, SpaceFile, SpaceInfo, SpaceReadOptions } from '../../engine.js';
import { parseLsn } from '../format/lsn.js';
import { checkPage, isAllZero, pageLsn, RELSEG_BLOCKS } from '../format/page.js';
import { isMapFork } from '../format/relation-path.js';
import { PAGE_SIZE } from '../format/page-size.js';
import type { FileImages, PageChanges } from '../wal/page-changes.js';
import { copiedWhole, newSinceBase, pagesKnownToBase, unchangedOnDisk } from './incremental-rules.js';
import { readChunk, type OpenedFile } from './file-reader.js';
import { isSmallFile } from './small-file-cache.js';

/** What a copy takes of an opened file. */
export type Take =
  /** every byte of the piece; `aligned`: large relation pieces padded and read direct (level 0) */
  | { readonly kind: 'whole'; readonly aligned: boolean }
  /** these blocks (ascending, within the piece), some perhaps from the WAL's images */
  | { readonly kind: 'listed'; readonly blocks: readonly number[]; readonly images: FileImages | undefined }
  /** every page read, the kept ones written (block numbers within the file) */
  | { readonly kind: 'scan'; readonly keep: (page: Buffer, block: number) => boolean };

export interface PageChoice {
  /**
   * Before a file is opened: 'unchanged' (it gets an entry with no pages and is not
   * opened), 'small' (read whole, ahead of its turn), or 'open'.
   */
  before(f: SpaceFile): 'unchanged' | 'small' | 'open';
  take(o: OpenedFile): Promise<Take>;
}

export function pageChoice(space: SpaceInfo, opts: SpaceReadOptions): PageChoice {
  return opts.incremental ? new ChangedPages(space, opts.incremental) : allPages;
}

const allPages: PageChoice = {
  before: (f) => (isSmallFile(f) ? 'small' : 'open'),
  take: () => Promise.resolve({ kind: 'whole', aligned: true }),
};

class ChangedPages implements PageChoice {
  private readonly baseLsn: bigint;

  constructor(
    private readonly space: SpaceInfo,
    private readonly src: IncrementalSource,
  ) {
    this.baseLsn = parseLsn(src.baseLsn);
  }

  before(f: SpaceFile): 'unchanged' | 'small' | 'open' {
    // written last before the base read it: the base holds it as it is; older levels fill it in
    if (unchangedOnDisk(f, this.src)) return 'unchanged';
    return isSmallFile(f) && copiedWhole(f, this.src) ? 'small' : 'open';
  }

  async take(o: OpenedFile): Promise<Take> {
    const { f, blockBase } = o;
    const changes = this.src.changes as PageChanges | undefined;
    // free space and visibility maps change without new page LSNs: always whole (they are
    // small); so does a file the base lacks, whatever its pages' LSNs
    const pick =
      blockBase === undefined || isMapFork(f.path) || newSinceBase(f, this.src)
        ? 'whole'
        : this.src.method === 'wal'
          ? changes!.pagesOf(this.space, f.path)
          : 'scan';
    if (pick === 'whole') return { kind: 'whole', aligned: false };
    const known = pagesKnownToBase(f, this.src);
    if (pick === 'scan') {
      // kept: past what the base holds, changed since its start, all zero (a page the base
      // may hold older content for), or failing its check (reported, and kept as read)
      return {
        kind: 'scan',
        keep: (page, block) =>
          block >= known ||
          pageLsn(page) >= this.baseLsn ||
          isAllZero(page) ||
          checkPage(page, blockBase! + block, false) !== undefined,
      };
    }
    const blocks = await this.listed(o, pick, known);
    // pages the WAL's full-page images restore (their blocks' last references) are not read
    return { kind: 'listed', blocks, images: blocks.length > 0 ? changes!.imagesOf(this.space, f.path) : undefined };
  }

  /**
   * Method wal: the listed blocks (within the piece and the file's size), and every block
   * from `known` on (past what the base holds), ascending.
   */
  private async listed(o: OpenedFile, listed: Uint32Array, known: number): Promise<number[]> {
    const lo = o.from / PAGE_SIZE;
    const hi = o.to / PAGE_SIZE;
    const past = Math.max(lo, Math.min(hi, known));
    const mine: number[] = [];
    for (const b of listed) if (b >= lo && b < past) mine.push(b);
    for (let b = past; b < hi; b++) mine.push(b);
    // the file's tail: pages added after this backup started (or truncated and re-grown
    // since the base) are in no WAL range this level reads; walk back from the end while
    // pages are newer than the base or all zero (about one page read per unchanged file).
    // A full segment file (1 GB) grows no more: pages are added to the next one.
    if (o.to === o.size && o.size < RELSEG_BLOCKS * PAGE_SIZE) {
      const tail: number[] = [];
      const page = Buffer.allocUnsafe(PAGE_SIZE);
      // `mine` is ascending: walking back, the listed blocks come in descending order too
      let nextListed = mine.length - 1;
      for (let b = hi - 1; b >= lo; b--) {
        while (nextListed >= 0 && mine[nextListed]! > b) nextListed--;
        if (nextListed >= 0 && mine[nextListed] === b) continue;
        await readChunk(o.fh, page, b * PAGE_SIZE, PAGE_SIZE);
        if (!(pageLsn(page) >= this.baseLsn || isAllZero(page))) break;
        tail.push(b);
      }
      if (tail.length > 0) {
        mine.push(...tail);
        mine.sort((a, b) => a - b);
        for (let i = mine.length - 1; i > 0; i--) if (mine[i] === mine[i - 1]) mine.splice(i, 1);
      }
    }
    return mine;
  }
}
