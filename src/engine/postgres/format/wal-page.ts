// WAL page headers (XLogPageHeaderData, and XLogLongPageHeaderData on a segment's first
// page): reads one and checks it the way XLogReaderValidatePageHeader does. Reads only
// the bytes it is given; never throws for bad data: it returns why the page is not valid.

import { WAL, walFormatForMagic, type WalFormat } from './wal-format.js';

export interface WalPageHeader {
  magic: number;
  info: number;
  tli: number;
  /** xlp_pageaddr: the LSN of the page's first byte */
  pageAddr: number;
  /** xlp_rem_len: bytes of a record continued from the previous page */
  remLen: number;
  /** bytes the header takes: 24, or 40 with XLP_LONG_HEADER */
  size: number;
  /** long header only (else 0n / 0) */
  sysid: bigint;
  segSize: number;
  xlogBlockSize: number;
}

export function emptyPageHeader(): WalPageHeader {
  return { magic: 0, info: 0, tli: 0, pageAddr: 0, remLen: 0, size: 0, sysid: 0n, segSize: 0, xlogBlockSize: 0 };
}

/** Reads the header at `off` into `out` (no checks). `view` must cover at least 40 bytes from `off`. */
export function readPageHeader(view: DataView, off: number, out: WalPageHeader): WalPageHeader {
  out.magic = view.getUint16(off, true);
  out.info = view.getUint16(off + 2, true);
  out.tli = view.getUint32(off + 4, true);
  out.pageAddr = view.getUint32(off + 8, true) + view.getUint32(off + 12, true) * 0x100000000;
  out.remLen = view.getUint32(off + 16, true);
  if (out.info & WAL.XLP_LONG_HEADER) {
    out.size = WAL.LONG_PAGE_HEADER;
    out.sysid = view.getBigUint64(off + 24, true);
    out.segSize = view.getUint32(off + 32, true);
    out.xlogBlockSize = view.getUint32(off + 36, true);
  } else {
    out.size = WAL.SHORT_PAGE_HEADER;
    out.sysid = 0n;
    out.segSize = 0;
    out.xlogBlockSize = 0;
  }
  return out;
}

export interface PageExpectations {
  readonly format: WalFormat;
  /** LSN the page must carry in xlp_pageaddr */
  readonly pageAddr: number;
  readonly segSize: number;
  readonly pageSize: number;
  /** system identifier from an earlier long header, when known */
  readonly sysid: bigint | undefined;
  /** the timeline of the previous page: a page may not go back to an older one */
  readonly minTli: number;
}

/** Why the page is not a valid WAL page here, or undefined when it is. */
export function checkPageHeader(h: WalPageHeader, e: PageExpectations): string | undefined {
  if (h.magic !== e.format.magic) return `invalid magic number ${hex4(h.magic)} (expected ${hex4(e.format.magic)})`;
  if ((h.info & ~WAL.XLP_ALL_FLAGS) !== 0) return `invalid info bits ${hex4(h.info)}`;
  const segOffset = e.pageAddr % e.segSize;
  if (h.info & WAL.XLP_LONG_HEADER) {
    if (e.sysid !== undefined && h.sysid !== e.sysid)
      return `WAL file is from a different database system (identifier ${h.sysid}, expected ${e.sysid})`;
    if (h.segSize !== e.segSize) return `WAL segment size in page header is ${h.segSize}, expected ${e.segSize}`;
    if (h.xlogBlockSize !== e.pageSize)
      return `WAL page size in page header is ${h.xlogBlockSize}, expected ${e.pageSize}`;
  } else if (segOffset === 0) {
    return 'the first page of a segment has no long header';
  }
  if (h.pageAddr !== e.pageAddr) return `unexpected pageaddr ${lsnText(h.pageAddr)} (expected ${lsnText(e.pageAddr)})`;
  if (h.tli < e.minTli) return `out-of-sequence timeline ID ${h.tli} (after ${e.minTli})`;
  return undefined;
}

/** The version of the WAL in a segment, from the magic of its first page; undefined if unknown. */
export function sniffWalFormat(segment: Uint8Array): WalFormat | undefined {
  if (segment.length < WAL.LONG_PAGE_HEADER) return undefined;
  return walFormatForMagic(segment[0]! | (segment[1]! << 8));
}

const hex4 = (n: number) => `0x${n.toString(16).toUpperCase().padStart(4, '0')}`;

/** `X/Y` for an LSN held in a number (exact below 2^53 bytes of WAL). */
export function lsnText(lsn: number): string {
  return `${Math.floor(lsn / 0x100000000)
    .toString(16)
    .toUpperCase()}/${(lsn % 0x100000000).toString(16).toUpperCase()}`;
}
