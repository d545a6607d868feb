// The records that change relation files without (only) block references: smgr create
// and truncate, database create and drop, and the relations a commit or abort drops. Reads
// a decoded record's main data into an event; never looks at records of other kinds.

import { INFO, isKnownRmgr, RM, RM_NAMES, WAL, XACT_XINFO, type WalFormat } from '../format/wal-format.js';
import { lsnText } from '../format/wal-page.js';
import type { DecodedRecord } from './wal-record.js';

export interface RelFileLocator {
  readonly spcOid: number;
  readonly dbOid: number;
  readonly relNumber: number;
}

export type WalEvent =
  /** XLOG_SMGR_CREATE: a new relation fork file */
  | { readonly kind: 'create'; readonly lsn: number; readonly rel: RelFileLocator; readonly fork: number }
  /** XLOG_SMGR_TRUNCATE: main fork cut to `blkno` blocks when flags has 1 (heap); 2: vm, 4: fsm truncated to match */
  | {
      readonly kind: 'truncate';
      readonly lsn: number;
      readonly rel: RelFileLocator;
      readonly blkno: number;
      readonly flags: number;
    }
  /** commit or abort (prepared or not) that removes relation files, every fork */
  | {
      readonly kind: 'drop-rels';
      readonly lsn: number;
      readonly xid: number;
      readonly commit: boolean;
      readonly rels: readonly RelFileLocator[];
    }
  /** file_copy: the whole directory src → db was copied without WAL; wal_log: directory made, contents follow as FPIs */
  | {
      readonly kind: 'create-database';
      readonly lsn: number;
      readonly dbId: number;
      readonly tablespaceId: number;
      readonly strategy: 'file_copy' | 'wal_log';
      readonly srcDbId?: number;
      readonly srcTablespaceId?: number;
    }
  | {
      readonly kind: 'drop-database';
      readonly lsn: number;
      readonly dbId: number;
      readonly tablespaceIds: readonly number[];
    }
  /** a record this reader cannot account for: the caller should back up in full */
  | {
      readonly kind: 'unknown';
      readonly lsn: number;
      readonly rmid: number;
      readonly info: number;
      readonly reason: string;
    };

export const SMGR_TRUNCATE = Object.freeze({ HEAP: 0x0001, VM: 0x0002, FSM: 0x0004 });

const REL_SIZE = 12; // RelFileNode / RelFileLocator: 3 × uint32

/**
 * The event a record stands for, undefined for an ordinary record (its block references
 * say it all), or an error message when its main data is too short for its kind.
 */
export function readSpecialRecord(rec: DecodedRecord, format: WalFormat): WalEvent | string | undefined {
  const rmid = rec.rmid;
  const info = rec.info & WAL.XLR_RMGR_INFO_MASK;
  const special = (rec.info & WAL.XLR_SPECIAL_REL_UPDATE) !== 0;
  if (rmid === RM.SMGR) {
    if (info === INFO.SMGR_CREATE) {
      if (rec.mainDataLength < REL_SIZE + 4) return tooShort(rec, 'xl_smgr_create');
      const o = rec.mainDataOffset;
      return { kind: 'create', lsn: rec.lsn, rel: relAt(rec.view, o), fork: rec.view.getInt32(o + REL_SIZE, true) };
    }
    if (info === INFO.SMGR_TRUNCATE) {
      if (rec.mainDataLength < 4 + REL_SIZE + 4) return tooShort(rec, 'xl_smgr_truncate');
      const o = rec.mainDataOffset;
      return {
        kind: 'truncate',
        lsn: rec.lsn,
        blkno: rec.view.getUint32(o, true),
        rel: relAt(rec.view, o + 4),
        flags: rec.view.getInt32(o + 4 + REL_SIZE, true),
      };
    }
    return unknown(rec, 'unknown Storage record');
  }
  if (rmid === RM.DBASE) return readDbase(rec, format, info);
  if (rmid === RM.XACT) {
    const op = rec.info & INFO.XACT_OPMASK;
    const commit = op === INFO.XACT_COMMIT || op === INFO.XACT_COMMIT_PREPARED;
    if (commit || op === INFO.XACT_ABORT || op === INFO.XACT_ABORT_PREPARED) return readXactEnd(rec, commit);
    return special ? unknown(rec, 'Transaction record flagged XLR_SPECIAL_REL_UPDATE') : undefined;
  }
  if (!isKnownRmgr(format, rmid) || rmid > RM.MAX_BUILTIN) return unknown(rec, `custom resource manager ${rmid}`);
  if (special) return unknown(rec, `${RM_NAMES[rmid]} record flagged XLR_SPECIAL_REL_UPDATE`);
  return undefined;
}

function readDbase(rec: DecodedRecord, format: WalFormat, info: number): WalEvent | string {
  const v = rec.view;
  const o = rec.mainDataOffset;
  if (info === format.dbaseCreateFileCopy) {
    if (rec.mainDataLength < 16) return tooShort(rec, 'xl_dbase_create_file_copy_rec');
    return {
      kind: 'create-database',
      lsn: rec.lsn,
      strategy: 'file_copy',
      dbId: v.getUint32(o, true),
      tablespaceId: v.getUint32(o + 4, true),
      srcDbId: v.getUint32(o + 8, true),
      srcTablespaceId: v.getUint32(o + 12, true),
    };
  }
  if (info === format.dbaseCreateWalLog) {
    if (rec.mainDataLength < 8) return tooShort(rec, 'xl_dbase_create_wal_log_rec');
    return {
      kind: 'create-database',
      lsn: rec.lsn,
      strategy: 'wal_log',
      dbId: v.getUint32(o, true),
      tablespaceId: v.getUint32(o + 4, true),
    };
  }
  if (info === format.dbaseDrop) {
    if (rec.mainDataLength < 8) return tooShort(rec, 'xl_dbase_drop_rec');
    const n = v.getInt32(o + 4, true);
    if (n < 0 || rec.mainDataLength < 8 + n * 4) return tooShort(rec, 'xl_dbase_drop_rec tablespace list');
    const tablespaceIds: number[] = [];
    for (let i = 0; i < n; i++) tablespaceIds.push(v.getUint32(o + 8 + i * 4, true));
    return { kind: 'drop-database', lsn: rec.lsn, dbId: v.getUint32(o, true), tablespaceIds };
  }
  return unknown(rec, 'unknown Database record');
}

/** ParseCommitRecord / ParseAbortRecord up to the relations: dbinfo and subxacts come before them. */
function readXactEnd(rec: DecodedRecord, commit: boolean): WalEvent | string | undefined {
  const v = rec.view;
  let p = rec.mainDataOffset + 8; // xact_time
  const end = rec.mainDataOffset + rec.mainDataLength;
  if (p > end) return tooShort(rec, 'xl_xact_commit');
  let xinfo = 0;
  if (rec.info & INFO.XACT_HAS_INFO) {
    if (p + 4 > end) return tooShort(rec, 'xl_xact_xinfo');
    xinfo = v.getUint32(p, true);
    p += 4;
  }
  if (!(xinfo & XACT_XINFO.HAS_RELFILENODES)) return undefined;
  if (xinfo & XACT_XINFO.HAS_DBINFO) p += 8;
  if (xinfo & XACT_XINFO.HAS_SUBXACTS) {
    if (p + 4 > end) return tooShort(rec, 'xl_xact_subxacts');
    p += 4 + v.getInt32(p, true) * 4;
  }
  if (p + 4 > end) return tooShort(rec, 'xl_xact_relfilenodes');
  const n = v.getInt32(p, true);
  p += 4;
  if (n < 0 || p + n * REL_SIZE > end) return tooShort(rec, 'xl_xact_relfilenodes list');
  const rels: RelFileLocator[] = [];
  for (let i = 0; i < n; i++) rels.push(relAt(v, p + i * REL_SIZE));
  return { kind: 'drop-rels', lsn: rec.lsn, xid: rec.xid, commit, rels };
}

function relAt(v: DataView, o: number): RelFileLocator {
  return { spcOid: v.getUint32(o, true), dbOid: v.getUint32(o + 4, true), relNumber: v.getUint32(o + 8, true) };
}

function unknown(rec: DecodedRecord, reason: string): WalEvent {
  return { kind: 'unknown', lsn: rec.lsn, rmid: rec.rmid, info: rec.info, reason };
}

function tooShort(rec: DecodedRecord, what: string): string {
  return `${RM_NAMES[rec.rmid] ?? rec.rmid} record at ${lsnText(rec.lsn)}: main data of ${rec.mainDataLength} bytes is too short for ${what}`;
}

/** Microseconds from the Unix epoch to PostgreSQL's (2000-01-01 00:00:00 UTC). */
const PG_EPOCH_MS = 946_684_800_000;

/**
 * When a transaction-end record (commit, abort, and their prepared forms) was written,
 * ms since the Unix epoch: what recovery_target_time is compared with. Undefined for
 * other records.
 */
export function transactionEndTime(rec: DecodedRecord): number | undefined {
  if (rec.rmid !== RM.XACT || rec.mainDataLength < 8) return undefined;
  const op = rec.info & INFO.XACT_OPMASK;
  if (
    op !== INFO.XACT_COMMIT &&
    op !== INFO.XACT_COMMIT_PREPARED &&
    op !== INFO.XACT_ABORT &&
    op !== INFO.XACT_ABORT_PREPARED
  )
    return undefined;
  return PG_EPOCH_MS + Number(rec.view.getBigInt64(rec.mainDataOffset, true) / 1000n);
}
