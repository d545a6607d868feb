// Archive validation of one stored WAL segment: every page header in order (magic of
// one PostgreSQL version, xlp_pageaddr where the page sits, a long header on the first
// page naming this cluster's system identifier and the segment size, timelines never
// going back). Fed the segment's bytes in any chunking; reads only, keeps one page.

import { parseWalFileName } from './lsn.js';
import { isAllZero } from './page.js';
import { checkPageHeader, emptyPageHeader, readPageHeader, sniffWalFormat } from './wal/wal-page.js';
import type { WalFormat } from './wal/wal-format.js';

const WAL_PAGE = 8192;

export class WalSegmentCheck {
  private readonly page = Buffer.alloc(WAL_PAGE);
  private fill = 0;
  private pageNo = 0;
  private format: WalFormat | undefined;
  private readonly header = emptyPageHeader();
  /** a segment that opens a timeline starts with pages of the timeline before it */
  private minTli = 1;
  private readonly nameTli: number;
  private readonly segStart: number;
  private zeroFrom: number | undefined;
  readonly problems: string[] = [];

  constructor(readonly name: string, private readonly segSize: number, private readonly systemId: string | undefined) {
    const w = parseWalFileName(name, segSize);
    this.nameTli = w?.timeline ?? 1;
    this.segStart = w ? Number(w.segno) * segSize : 0;
  }

  push(chunk: Uint8Array): void {
    let pos = 0;
    while (pos < chunk.length && this.problems.length === 0) {
      const n = Math.min(WAL_PAGE - this.fill, chunk.length - pos);
      this.page.set(chunk.subarray(pos, pos + n), this.fill);
      this.fill += n;
      pos += n;
      if (this.fill === WAL_PAGE) { this.checkPage(); this.fill = 0; this.pageNo++; }
    }
  }

  /** The problems found; a segment of the wrong length is one. */
  end(): string[] {
    const bytes = this.pageNo * WAL_PAGE + this.fill;
    if (this.problems.length === 0 && bytes !== this.segSize) this.problems.push(`is ${bytes} bytes, a segment is ${this.segSize}`);
    return this.problems;
  }

  private checkPage(): void {
    const at = `page ${this.pageNo} (offset ${this.pageNo * WAL_PAGE})`;
    if (this.page.readUInt32LE(0) === 0 && isAllZero(this.page)) {
      // pages past the end of written WAL in a segment closed early are zero
      this.zeroFrom ??= this.pageNo;
      return;
    }
    if (this.zeroFrom !== undefined) {
      this.problems.push(`${at}: WAL after zeroed pages from page ${this.zeroFrom}`);
      return;
    }
    if (this.pageNo === 0) {
      this.format = sniffWalFormat(this.page);
      if (!this.format) { this.problems.push(`${at}: not a WAL page of PostgreSQL 13 to 17 (magic 0x${this.page.readUInt16LE(0).toString(16)})`); return; }
    }
    if (!this.format) return;
    const h = readPageHeader(new DataView(this.page.buffer, this.page.byteOffset, WAL_PAGE), 0, this.header);
    const why = checkPageHeader(h, {
      format: this.format, pageAddr: this.segStart + this.pageNo * WAL_PAGE, segSize: this.segSize, pageSize: WAL_PAGE,
      sysid: this.systemId === undefined ? undefined : BigInt(this.systemId), minTli: this.minTli,
    });
    if (why) { this.problems.push(`${at}: ${why}`); return; }
    if (h.tli > this.nameTli) { this.problems.push(`${at}: a page of timeline ${h.tli} in a file of timeline ${this.nameTli}`); return; }
    this.minTli = h.tli;
  }
}
