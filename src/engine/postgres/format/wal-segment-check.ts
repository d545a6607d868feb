// Archive validation of one stored WAL segment: every page header in order (magic of
// one PostgreSQL version, xlp_pageaddr where the page sits, a long header on the first
// page naming this cluster's system identifier and the segment size, timelines never
// going back). Fed the segment's bytes in any chunking; reads only, and checks pages
// where they lie (only a page cut between chunks is gathered into its own buffer).

import { parseWalFileName } from './lsn.js';
import { isAllZero } from './page.js';
import { checkPageHeader, emptyPageHeader, readPageHeader, sniffWalFormat } from './wal-page.js';
import { SUPPORTED_TEXT } from './server-version.js';
import type { WalFormat } from './wal-format.js';
import { WAL_PAGE_SIZE } from './page-size.js';

export class WalSegmentCheck {
  /** a page cut between two chunks, gathered here; whole pages are checked where they lie */
  private readonly page = Buffer.alloc(WAL_PAGE_SIZE);
  private readonly pageView = new DataView(this.page.buffer, this.page.byteOffset, WAL_PAGE_SIZE);
  private fill = 0;
  private pageNo = 0;
  private format: WalFormat | undefined;
  private readonly header = emptyPageHeader();
  /** a segment that opens a timeline starts with pages of the timeline before it */
  private minTli = 1;
  private readonly nameTli: number;
  private readonly segStart: number;
  private readonly sysid: bigint | undefined;
  private zeroFrom: number | undefined;
  readonly problems: string[] = [];
  /** the page of the first problem (checking stops there) */
  badPage: number | undefined;

  constructor(
    readonly name: string,
    private readonly segSize: number,
    systemId: string | undefined,
  ) {
    const w = parseWalFileName(name, segSize);
    this.nameTli = w?.timeline ?? 1;
    this.segStart = w ? Number(w.segno) * segSize : 0;
    this.sysid = systemId === undefined ? undefined : BigInt(systemId);
  }

  push(chunk: Uint8Array): void {
    let pos = 0;
    if (this.fill > 0) {
      const n = Math.min(WAL_PAGE_SIZE - this.fill, chunk.length);
      this.page.set(chunk.subarray(0, n), this.fill);
      this.fill += n;
      pos = n;
      if (this.fill < WAL_PAGE_SIZE) return;
      this.next(this.page, this.pageView, 0);
      this.fill = 0;
    }
    const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    for (; pos + WAL_PAGE_SIZE <= chunk.length && this.problems.length === 0; pos += WAL_PAGE_SIZE)
      this.next(chunk, view, pos);
    if (pos < chunk.length && this.problems.length === 0) {
      this.page.set(chunk.subarray(pos), 0);
      this.fill = chunk.length - pos;
    }
  }

  /** The problems found; a segment of the wrong length is one. */
  end(): string[] {
    const bytes = this.pageNo * WAL_PAGE_SIZE + this.fill;
    if (this.problems.length === 0 && bytes !== this.segSize)
      this.problems.push(`is ${bytes} bytes, a segment is ${this.segSize}`);
    return this.problems;
  }

  private next(bytes: Uint8Array, view: DataView, off: number): void {
    const why = this.checkPage(bytes, view, off);
    if (why) {
      this.problems.push(`page ${this.pageNo} (offset ${this.pageNo * WAL_PAGE_SIZE}): ${why}`);
      this.badPage ??= this.pageNo;
    }
    this.pageNo++;
  }

  /** Why the page at `off` is not valid here, or undefined. */
  private checkPage(bytes: Uint8Array, view: DataView, off: number): string | undefined {
    if (view.getUint32(off, true) === 0 && isAllZero(bytes.subarray(off, off + WAL_PAGE_SIZE))) {
      // pages past the end of written WAL in a segment closed early are zero; its first never is
      if (this.pageNo === 0) return 'all zero: not a WAL segment';
      this.zeroFrom ??= this.pageNo;
      return undefined;
    }
    if (this.zeroFrom !== undefined) return `WAL after zeroed pages from page ${this.zeroFrom}`;
    if (this.pageNo === 0) {
      this.format = sniffWalFormat(bytes.subarray(off, off + WAL_PAGE_SIZE));
      if (!this.format)
        return `not a WAL page of ${SUPPORTED_TEXT} (magic 0x${view.getUint16(off, true).toString(16)})`;
    }
    if (!this.format) return undefined;
    const h = readPageHeader(view, off, this.header);
    const why = checkPageHeader(h, {
      format: this.format,
      pageAddr: this.segStart + this.pageNo * WAL_PAGE_SIZE,
      segSize: this.segSize,
      pageSize: WAL_PAGE_SIZE,
      sysid: this.sysid,
      minTli: this.minTli,
    });
    if (why) return why;
    if (h.tli > this.nameTli) return `a page of timeline ${h.tli} in a file of timeline ${this.nameTli}`;
    this.minTli = h.tli;
    return undefined;
  }
}
