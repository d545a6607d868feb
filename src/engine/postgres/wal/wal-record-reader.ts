// Cuts whole WAL records out of segment files fed in order: follows records across pages
// and segments, checks page headers, record headers and each record's CRC-32C as
// PostgreSQL's xlogreader does. Copies only records that span pages; never throws on bad
// WAL: it stops and says where valid WAL ended and why.

import { CRC32C_INIT, crc32cAt, crc32cFinish, crcViews, type CrcViews } from '../../../common/io/crc32c.js';
import type { ErrorCode } from '../../../common/errors.js';
import { INFO, isKnownRmgr, RM, WAL, type WalFormat } from '../format/wal-format.js';
import { checkPageHeader, emptyPageHeader, lsnText, readPageHeader, sniffWalFormat } from '../format/wal-page.js';
import { WAL_PAGE_SIZE } from '../format/page-size.js';
import { SUPPORTED_TEXT } from '../format/server-version.js';

export type WalStopReason =
  | 'end-of-range' // every record starting before the end LSN was read
  | 'end-of-wal' // zeroed or recycled WAL: where a server would stop replaying
  | 'bad-crc'
  | 'bad-record'
  | 'bad-page'
  | 'missing-segment'; // the segment holding the next byte was not supplied

export interface WalStop {
  readonly reason: WalStopReason;
  /** the error code a caller throwing on an incomplete read should use */
  readonly code: ErrorCode;
  /** the record (or byte) where reading stopped: valid WAL ends before it */
  readonly lsn: number;
  readonly message: string;
}

/**
 * Called for each whole record starting in [start, end): bytes[off, off + xl_tot_len) is the
 * record, valid only during the call. Returns an error message to stop the reader there.
 */
export type WalRecordSink = (bytes: Uint8Array, view: DataView, off: number, lsn: number) => string | undefined;

export interface WalRecordReaderOptions {
  readonly startLsn: number;
  readonly endLsn: number;
  readonly onRecord: WalRecordSink;
  /** else taken from the first segment's page magic */
  readonly format?: WalFormat;
  /** else taken from the first segment's long page header */
  readonly segSize?: number;
  readonly sysid?: bigint;
  /** where reading starts (a page is read from its start, to find a record boundary); startLsn when absent */
  readonly readFrom?: number;
  /**
   * A record whose first bytes an earlier reader kept (`partial()` at the end of the segment
   * before `readFrom`): its continuation is read first, and it is handed to the sink whole.
   */
  readonly resume?: PartialRecord;
}

/** A record cut off at a segment's end: its LSN, its length and the bytes read of it so far. */
export interface PartialRecord {
  readonly lsn: number;
  readonly totLen: number;
  readonly bytes: Uint8Array;
}

const STOP_CODES: Record<WalStopReason, ErrorCode> = {
  'end-of-range': 'INTERNAL', // not an error: nothing to throw
  'end-of-wal': 'TRUNCATED',
  'missing-segment': 'TRUNCATED',
  'bad-crc': 'CHECKSUM',
  'bad-record': 'FORMAT',
  'bad-page': 'FORMAT',
};

const MAX_RECORD = 1 << 30;
const SCAN = 0,
  CONT = 1,
  SKIP = 2;
const align8 = (n: number) => (n + 7) & ~7;
const powerOf2 = (n: number) => n > 0 && (n & (n - 1)) === 0;

export class WalRecordReader {
  format: WalFormat | undefined;
  segSize: number | undefined;
  pageSize = 0;
  private sysid: bigint | undefined;
  private readonly start: number;
  private end: number;
  private readonly sink: WalRecordSink;
  private pos: number;
  private state = SKIP;
  private prevLsn = -1;
  private tli = 0;
  private asm = new Uint8Array(64 * 1024);
  private asmView = new DataView(this.asm.buffer);
  private asmCrc = crcViews(this.asm);
  private asmLen = 0;
  private totLen = 0;
  private recLsn = 0;
  private headerChecked = false;
  private switched = false;
  private readonly hdr = emptyPageHeader();
  private stopped: WalStop | undefined;
  private skippedContinuation = false;

  constructor(o: WalRecordReaderOptions) {
    this.start = o.startLsn;
    this.end = o.endLsn;
    this.sink = o.onRecord;
    this.format = o.format;
    this.segSize = o.segSize;
    this.sysid = o.sysid;
    this.pos = o.readFrom ?? o.startLsn;
    const r = o.resume;
    if (r) {
      if (r.bytes.length >= r.totLen || r.totLen > MAX_RECORD)
        throw new RangeError(`a partial record of ${r.bytes.length} of ${r.totLen} bytes cannot be resumed`);
      this.asm = new Uint8Array(Math.max(r.totLen, this.asm.length));
      this.asmView = new DataView(this.asm.buffer);
      this.asmCrc = crcViews(this.asm);
      this.asm.set(r.bytes, 0);
      this.asmLen = r.bytes.length;
      this.totLen = r.totLen;
      this.recLsn = r.lsn;
      this.headerChecked = false; // checked (prev-link aside) once the header is whole
      this.state = CONT;
    }
  }

  /** The record being put together when the data ran out (a record running on into the next segment). */
  partial(): PartialRecord | undefined {
    return this.state === CONT && !this.stopped
      ? { lsn: this.recLsn, totLen: this.totLen, bytes: this.asm.slice(0, this.asmLen) }
      : undefined;
  }

  /** The system identifier the page headers carry (or were checked against). */
  get systemId(): bigint | undefined {
    return this.sysid;
  }

  /** Whether a segment's first page opened with the tail of a record that started before it, which was skipped. */
  get skippedHead(): boolean {
    return this.skippedContinuation;
  }

  /** Set once reading is over, for good or bad. */
  get stop(): WalStop | undefined {
    return this.stopped;
  }

  /** The LSN of the next byte the reader needs. */
  get nextLsn(): number {
    return this.state === CONT ? this.recLsn : this.pos;
  }

  /** Whether the reader has stopped or still wants segments. */
  get done(): boolean {
    return this.stopped !== undefined;
  }

  /**
   * Feeds one segment file; `segno` from its name, else read from its first page. `filled`:
   * only the pages below it hold data yet (a segment arriving in pieces): the same buffer is
   * pushed again as more arrives, and reading goes on where it stopped.
   */
  push(data: Uint8Array, segno?: number, filled = data.length): void {
    if (this.stopped) return;
    if (!this.format) {
      this.format = sniffWalFormat(data);
      if (!this.format)
        return this.halt(
          'bad-page',
          this.pos,
          `unsupported WAL version: page magic 0x${(data[0]! | (data[1]! << 8)).toString(16)} is not ${SUPPORTED_TEXT}`,
        );
    }
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    if (this.segSize === undefined) {
      const h = readPageHeader(view, 0, this.hdr);
      if (!(h.info & WAL.XLP_LONG_HEADER))
        return this.halt('bad-page', this.pos, 'the first segment has no long page header');
      // powers of two, pages within a segment; not PostgreSQL's 1 MiB minimum, so tests can use small segments
      if (
        !powerOf2(h.xlogBlockSize) ||
        h.xlogBlockSize < 1024 ||
        h.xlogBlockSize > 65536 ||
        !powerOf2(h.segSize) ||
        h.segSize < h.xlogBlockSize ||
        h.segSize > 1 << 30
      ) {
        return this.halt(
          'bad-page',
          this.pos,
          `implausible WAL segment size ${h.segSize} or page size ${h.xlogBlockSize} in the first page header`,
        );
      }
      this.segSize = h.segSize;
      this.pageSize = h.xlogBlockSize;
      this.sysid ??= h.sysid;
    }
    const segSize = this.segSize;
    if (this.pageSize === 0) this.pageSize = readPageHeader(view, 0, this.hdr).xlogBlockSize || WAL_PAGE_SIZE;
    if (data.length !== segSize)
      return this.halt('bad-page', this.nextLsn, `a WAL segment of ${data.length} bytes, expected ${segSize}`);
    const base = (segno ?? Math.floor(readPageHeader(view, 0, this.hdr).pageAddr / segSize)) * segSize;
    if (this.pos >= base + segSize) return; // an earlier segment than needed: nothing in it is wanted
    if (this.pos < base)
      return this.halt('missing-segment', this.nextLsn, `the WAL segment holding ${lsnText(this.pos)} is missing`);
    this.readSegment(data, view, crcViews(data), base, filled - (filled % this.pageSize));
  }

  /**
   * Moves the end LSN once it is known (a backup reads the WAL before its own start LSN is
   * known): records from the new end on that were already read stay read.
   */
  setEnd(lsn: number): void {
    this.end = lsn;
    // whatever the state: the next record wanted starts at or after the end
    if (this.nextLsn >= lsn) this.halt('end-of-range', this.nextLsn, `reached ${lsnText(lsn)}`);
  }

  /** No more segments: a reader not yet at the end LSN stops as incomplete. */
  finish(): WalStop {
    if (!this.stopped)
      this.halt(
        'missing-segment',
        this.nextLsn,
        `WAL ends before ${lsnText(this.end)}: the segment holding ${lsnText(this.pos)} was not supplied`,
      );
    return this.stopped!;
  }

  private halt(reason: WalStopReason, lsn: number, message: string): void {
    this.stopped ??= { reason, code: STOP_CODES[reason], lsn, message };
  }

  private readSegment(data: Uint8Array, view: DataView, crcv: CrcViews, base: number, limit: number): void {
    const pageSize = this.pageSize;
    const format = this.format!;
    const h = this.hdr;
    for (let pageOff = Math.floor((this.pos - base) / pageSize) * pageSize; pageOff < limit; pageOff += pageSize) {
      const pageLsn = base + pageOff;
      readPageHeader(view, pageOff, h);
      const bad = checkPageHeader(h, {
        format,
        pageAddr: pageLsn,
        segSize: this.segSize!,
        pageSize,
        sysid: this.sysid,
        minTli: this.tli,
      });
      if (bad) {
        const ended = h.magic === 0 || (h.magic === format.magic && h.pageAddr !== pageLsn);
        return this.halt(
          ended ? 'end-of-wal' : 'bad-page',
          this.nextLsn,
          `invalid WAL page at ${lsnText(pageLsn)}: ${bad}`,
        );
      }
      this.tli = h.tli;
      const hdrSize = h.size;
      if (this.state === CONT) {
        if (!(h.info & WAL.XLP_FIRST_IS_CONTRECORD)) {
          if (!(h.info & WAL.XLP_FIRST_IS_OVERWRITE_CONTRECORD))
            return this.halt('bad-record', this.recLsn, `there is no contrecord flag at ${lsnText(pageLsn)}`);
          // the rest of this record was overwritten after a crash: drop it, read on from here
          this.state = SCAN;
          this.prevLsn = -1;
          this.pos = pageLsn + hdrSize;
        } else {
          const rem = this.totLen - this.asmLen;
          if (h.remLen === 0 || h.remLen !== rem)
            return this.halt(
              'bad-record',
              this.recLsn,
              `invalid contrecord length ${h.remLen} at ${lsnText(pageLsn)} (expected ${rem})`,
            );
          const n = Math.min(rem, pageSize - hdrSize);
          this.asm.set(data.subarray(pageOff + hdrSize, pageOff + hdrSize + n), this.asmLen);
          this.asmLen += n;
          if (!this.headerChecked && this.asmLen >= WAL.RECORD_HEADER) {
            const err = this.checkHeader(this.asmView, 0, this.recLsn);
            if (err) return this.halt('bad-record', this.recLsn, err);
            this.headerChecked = true;
          }
          if (this.asmLen < this.totLen) {
            this.pos = pageLsn + pageSize;
            continue;
          }
          this.state = SCAN;
          this.pos = pageLsn + hdrSize + align8(rem);
          if (!this.accept(this.asm, this.asmView, this.asmCrc, 0, this.recLsn)) return;
          if (this.switched) return this.afterSwitch();
        }
      } else if (this.state === SKIP) {
        this.state = SCAN;
        this.pos = pageLsn + hdrSize;
        if (h.info & WAL.XLP_FIRST_IS_CONTRECORD) {
          // the page opens with the tail of a record that started before the start LSN
          this.skippedContinuation = true;
          if (h.remLen > pageSize - hdrSize) {
            this.state = SKIP;
            this.pos = pageLsn + pageSize;
            continue;
          }
          this.pos += align8(h.remLen);
        }
      } else if (this.pos === pageLsn) {
        if (h.info & WAL.XLP_FIRST_IS_CONTRECORD)
          return this.halt('bad-record', pageLsn + hdrSize, `unexpected contrecord at ${lsnText(pageLsn)}`);
        this.pos = pageLsn + hdrSize;
      }
      // records starting on this page
      const pageEnd = pageLsn + pageSize;
      while (this.pos < pageEnd) {
        const lsn = this.pos;
        if (lsn >= this.end) return this.halt('end-of-range', lsn, `reached ${lsnText(this.end)}`);
        const off = pageOff + (lsn - pageLsn);
        const totLen = view.getUint32(off, true);
        if (totLen < WAL.RECORD_HEADER) {
          return this.halt(
            totLen === 0 ? 'end-of-wal' : 'bad-record',
            lsn,
            `invalid record length at ${lsnText(lsn)}: expected at least ${WAL.RECORD_HEADER}, got ${totLen}`,
          );
        }
        const avail = pageEnd - lsn;
        if (totLen <= avail) {
          const err = this.checkHeader(view, off, lsn);
          if (err) return this.halt('bad-record', lsn, err);
          this.pos = lsn + align8(totLen);
          if (!this.accept(data, view, crcv, off, lsn)) return;
          if (this.switched) return this.afterSwitch();
          continue;
        }
        // spans pages: keep what is here, the rest follows as continuation data
        if (totLen > MAX_RECORD)
          return this.halt('bad-record', lsn, `record length ${totLen} at ${lsnText(lsn)} too long`);
        this.headerChecked = avail >= WAL.RECORD_HEADER;
        if (this.headerChecked) {
          const err = this.checkHeader(view, off, lsn);
          if (err) return this.halt('bad-record', lsn, err);
        }
        if (this.asm.length < totLen) {
          this.asm = new Uint8Array(Math.max(totLen, this.asm.length * 2));
          this.asmView = new DataView(this.asm.buffer);
          this.asmCrc = crcViews(this.asm);
        }
        this.asm.set(data.subarray(off, off + avail), 0);
        this.asmLen = avail;
        this.totLen = totLen;
        this.recLsn = lsn;
        this.state = CONT;
        this.pos = pageEnd;
        break;
      }
    }
    if (this.state === SCAN && this.pos >= this.end)
      this.halt('end-of-range', this.pos, `reached ${lsnText(this.end)}`);
  }

  /** After XLOG_SWITCH the rest of the segment is unused: the next record opens the next segment. */
  private afterSwitch(): void {
    this.switched = false;
    const segSize = this.segSize!;
    this.pos = Math.ceil(this.pos / segSize) * segSize;
    if (this.pos >= this.end) this.halt('end-of-range', this.pos, `reached ${lsnText(this.end)}`);
  }

  /** ValidXLogRecordHeader: a sane rmgr and a prev-link to the record before. */
  private checkHeader(view: DataView, off: number, lsn: number): string | undefined {
    const rmid = view.getUint8(off + 17);
    if (!isKnownRmgr(this.format!, rmid)) return `invalid resource manager ID ${rmid} at ${lsnText(lsn)}`;
    const prev = view.getUint32(off + 8, true) + view.getUint32(off + 12, true) * 0x100000000;
    if (this.prevLsn < 0 ? prev >= lsn : prev !== this.prevLsn)
      return `record with incorrect prev-link ${lsnText(prev)} at ${lsnText(lsn)}`;
    return undefined;
  }

  /** ValidXLogRecord's CRC, then the sink; false when reading must stop. Notes an XLOG_SWITCH. */
  private accept(bytes: Uint8Array, view: DataView, crcv: CrcViews, off: number, lsn: number): boolean {
    const totLen = view.getUint32(off, true);
    let crc = crc32cAt(CRC32C_INIT, crcv, off + WAL.RECORD_HEADER, off + totLen);
    crc = crc32cFinish(crc32cAt(crc, crcv, off, off + WAL.RECORD_CRC_OFFSET));
    const stored = view.getUint32(off + WAL.RECORD_CRC_OFFSET, true);
    if (crc !== stored) {
      this.halt('bad-crc', lsn, `incorrect resource manager data checksum in record at ${lsnText(lsn)}`);
      return false;
    }
    this.prevLsn = lsn;
    if (lsn >= this.start) {
      const err = this.sink(bytes, view, off, lsn);
      if (err) {
        this.halt('bad-record', lsn, err);
        return false;
      }
    }
    this.switched = bytes[off + 17] === RM.XLOG && (bytes[off + 16]! & WAL.XLR_RMGR_INFO_MASK) === INFO.XLOG_SWITCH;
    return true;
  }
}
