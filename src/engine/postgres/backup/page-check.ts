// The archive scanner of a backup, for every level: each relation page is checked as it
// streams by (header sanity and, on clusters with data checksums, the checksum), in place
// in the buffer it was read into. A page that fails is read again once (it may have been
// caught half-written); if it fails again it is reported and stored as read the second
// time. Pages newer than the backup's start are not judged: WAL replay rewrites them.

import type { BadPage } from '../../engine.js';
import { checkChunk, checkPage, pageLsn, pageProblemText } from '../format/page.js';
import { PAGE_SIZE } from '../format/page-size.js';

/** Reads a page again into `into` from `offset` of its file; how many bytes came. */
export type Reread = (into: Buffer, offset: number) => Promise<number>;

export interface PageCheckOptions {
  readonly space: string;
  readonly startLsn: bigint;
  readonly checksums: boolean;
  /** a page that failed twice */
  onBad(p: BadPage): void;
}

export class PageCheck {
  private readonly startText: string;

  constructor(private readonly o: PageCheckOptions) {
    this.startText = `${o.startLsn}`;
  }

  /** whether the cluster has data checksums (pages made from WAL images get theirs) */
  get checksums(): boolean {
    return this.o.checksums;
  }

  /**
   * Checks the pages of `buf`: blocks `at` on of the file (consecutive pages), or the blocks
   * `at` lists, one per page (scattered pages); `blockBase` is the file's first block in its
   * relation. On this thread: with SIMD checksums (5 GB/s) a worker round trip costs more
   * latency than the check itself.
   */
  async check(
    buf: Buffer,
    at: number | readonly number[],
    blockBase: number,
    relPath: string,
    reread: Reread,
  ): Promise<void> {
    const blocks = typeof at === 'number' ? blockBase + at : at.map((b) => blockBase + b);
    for (const { index } of checkChunk(buf, blocks, this.startText, this.o.checksums).bad) {
      const fileBlock = typeof at === 'number' ? at + index : at[index]!;
      await this.recheck(
        buf.subarray(index * PAGE_SIZE, (index + 1) * PAGE_SIZE),
        fileBlock * PAGE_SIZE,
        blockBase + fileBlock,
        relPath,
        reread,
      );
    }
  }

  /** A failed page read again once into `page`, reported if it fails again. */
  private async recheck(
    page: Buffer,
    fileOffset: number,
    block: number,
    relPath: string,
    reread: Reread,
  ): Promise<void> {
    const again = Buffer.allocUnsafe(PAGE_SIZE);
    if ((await reread(again, fileOffset)) !== PAGE_SIZE) return; // truncated meanwhile: replay handles it
    again.copy(page);
    if (pageLsn(again) >= this.o.startLsn) return;
    const problem = checkPage(again, block, this.o.checksums);
    if (problem === undefined) return;
    this.o.onBad({ space: this.o.space, path: relPath, block, problem: pageProblemText(problem) });
  }
}
