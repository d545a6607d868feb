// The one place that knows how PostgreSQL's WAL format differs between the supported
// majors (13 to 18, server-version.ts): page magic, bimg_info bits, rmgr ids and the
// dbase/xact record codes. Only constants and a look-up by page magic; never parses anything itself.

import { FORK } from './relation-path.js';
import { MAJORS } from './server-version.js';

/** Fixed sizes and bits shared by every supported version (xlog_internal.h, xlogrecord.h). */
export const WAL = Object.freeze({
  SHORT_PAGE_HEADER: 24, // MAXALIGN(sizeof(XLogPageHeaderData))
  LONG_PAGE_HEADER: 40, // MAXALIGN(sizeof(XLogLongPageHeaderData))
  XLP_FIRST_IS_CONTRECORD: 0x0001,
  XLP_LONG_HEADER: 0x0002,
  // log-shipping may drop full-page images of this page (set when full_page_writes is off)
  XLP_BKP_REMOVABLE: 0x0004,
  // added in PG15 and back-patched to 10-14 (minor releases of August 2021): accepted everywhere
  XLP_FIRST_IS_OVERWRITE_CONTRECORD: 0x0008,
  XLP_ALL_FLAGS: 0x000f,
  RECORD_HEADER: 24, // SizeOfXLogRecord: offsetof(xl_crc) + 4
  RECORD_CRC_OFFSET: 20,
  MAXALIGN: 8,
  XLR_SPECIAL_REL_UPDATE: 0x01,
  XLR_RMGR_INFO_MASK: 0xf0,
  XLR_MAX_BLOCK_ID: 32,
  XLR_BLOCK_ID_DATA_SHORT: 255,
  XLR_BLOCK_ID_DATA_LONG: 254,
  XLR_BLOCK_ID_ORIGIN: 253,
  XLR_BLOCK_ID_TOPLEVEL_XID: 252,
  BKPBLOCK_FORK_MASK: 0x0f,
  BKPBLOCK_HAS_IMAGE: 0x10,
  BKPBLOCK_HAS_DATA: 0x20,
  BKPBLOCK_WILL_INIT: 0x40,
  BKPBLOCK_SAME_REL: 0x80,
  BKPIMAGE_HAS_HOLE: 0x01,
  MAX_FORKNUM: FORK.INIT,
});

/** Resource manager ids (rmgrlist.h): the same numbers in 13 to 18 (19 adds XLOG2). */
export const RM = Object.freeze({
  XLOG: 0,
  XACT: 1,
  SMGR: 2,
  CLOG: 3,
  DBASE: 4,
  TBLSPC: 5,
  MULTIXACT: 6,
  RELMAP: 7,
  STANDBY: 8,
  HEAP2: 9,
  HEAP: 10,
  BTREE: 11,
  HASH: 12,
  GIN: 13,
  GIST: 14,
  SEQ: 15,
  SPGIST: 16,
  BRIN: 17,
  COMMIT_TS: 18,
  REPLORIGIN: 19,
  GENERIC: 20,
  LOGICALMSG: 21,
  MAX_BUILTIN: 21,
  MIN_CUSTOM: 128, // PG15+: 128..255 are extensions' own rmgrs
});

export const RM_NAMES: readonly string[] = [
  'XLOG',
  'Transaction',
  'Storage',
  'CLOG',
  'Database',
  'Tablespace',
  'MultiXact',
  'RelMap',
  'Standby',
  'Heap2',
  'Heap',
  'Btree',
  'Hash',
  'Gin',
  'Gist',
  'Sequence',
  'SPGist',
  'BRIN',
  'CommitTs',
  'ReplicationOrigin',
  'Generic',
  'LogicalMessage',
];

/** xl_info codes (high nibble) of the records the block collector interprets. */
export const INFO = Object.freeze({
  XLOG_SWITCH: 0x40,
  XLOG_FPI_FOR_HINT: 0xa0,
  XLOG_FPI: 0xb0,
  XLOG_OVERWRITE_CONTRECORD: 0xd0,
  SMGR_CREATE: 0x10,
  SMGR_TRUNCATE: 0x20,
  XACT_OPMASK: 0x70,
  XACT_HAS_INFO: 0x80,
  XACT_COMMIT: 0x00,
  XACT_PREPARE: 0x10,
  XACT_ABORT: 0x20,
  XACT_COMMIT_PREPARED: 0x30,
  XACT_ABORT_PREPARED: 0x40,
});

/**
 * xinfo bits of commit/abort records (xact.h); HAS_DROPPED_STATS is PG15+. What follows the
 * xinfo (dbinfo, subxacts, relfilelocators, then dropped stats: 12 bytes an item to 17, 16
 * in 18) is read only up to the relations, so 18's wider stats items change nothing here.
 */
export const XACT_XINFO = Object.freeze({
  HAS_DBINFO: 1 << 0,
  HAS_SUBXACTS: 1 << 1,
  HAS_RELFILENODES: 1 << 2,
  HAS_INVALS: 1 << 3,
  HAS_TWOPHASE: 1 << 4,
  HAS_ORIGIN: 1 << 5,
  HAS_AE_LOCKS: 1 << 6,
  HAS_GID: 1 << 7,
  HAS_DROPPED_STATS: 1 << 8,
});

export interface WalFormat {
  readonly major: number;
  readonly magic: number;
  /** bimg_info bits meaning "the image is compressed" (one bit to 14, one per method from 15) */
  readonly bimgCompressed: number;
  readonly bimgApply: number;
  readonly bimgPglz: number;
  readonly bimgLz4: number;
  readonly bimgZstd: number;
  /** XLR_BLOCK_ID_TOPLEVEL_XID exists (14+) */
  readonly toplevelXid: boolean;
  /** rmgr ids 128..255 are valid custom rmgrs (15+) */
  readonly customRmgrs: boolean;
  /** dbase record codes: 13/14 had one CREATE (a directory copy); 15 split it by strategy */
  readonly dbaseCreateFileCopy: number;
  readonly dbaseCreateWalLog: number | undefined;
  readonly dbaseDrop: number;
}

const pre15 = {
  bimgCompressed: 0x02,
  bimgApply: 0x04,
  bimgPglz: 0x02,
  bimgLz4: 0,
  bimgZstd: 0,
  customRmgrs: false,
  dbaseCreateFileCopy: 0x00,
  dbaseCreateWalLog: undefined,
  dbaseDrop: 0x10,
};
const from15 = {
  bimgCompressed: 0x04 | 0x08 | 0x10,
  bimgApply: 0x02,
  bimgPglz: 0x04,
  bimgLz4: 0x08,
  bimgZstd: 0x10,
  customRmgrs: true,
  dbaseCreateFileCopy: 0x00,
  dbaseCreateWalLog: 0x10,
  dbaseDrop: 0x20,
};

/**
 * The record layout of each major (16, 17 and 18 write records as 15 does, as far as
 * block references and the records special-record.ts reads go); the magic is the major's
 * XLOG_PAGE_MAGIC from server-version.ts.
 */
const RECORD_LAYOUTS: Readonly<Record<number, Omit<WalFormat, 'major' | 'magic'>>> = {
  13: { toplevelXid: false, ...pre15 },
  14: { toplevelXid: true, ...pre15 },
  15: { toplevelXid: true, ...from15 },
  16: { toplevelXid: true, ...from15 },
  17: { toplevelXid: true, ...from15 },
  18: { toplevelXid: true, ...from15 },
};

export const WAL_FORMATS: readonly WalFormat[] = Object.freeze(
  MAJORS.map((m) => {
    const layout = RECORD_LAYOUTS[m.major];
    if (!layout) throw new Error(`wal-format: no record layout for PostgreSQL ${m.major}`);
    return Object.freeze({ major: m.major, magic: m.walPageMagic, ...layout });
  }),
);

export function walFormatForMagic(magic: number): WalFormat | undefined {
  return WAL_FORMATS.find((f) => f.magic === magic);
}

export function walFormatForMajor(major: number): WalFormat | undefined {
  return WAL_FORMATS.find((f) => f.major === major);
}

export function isKnownRmgr(format: WalFormat, rmid: number): boolean {
  return rmid <= RM.MAX_BUILTIN || (format.customRmgrs && rmid >= RM.MIN_CUSTOM);
}
