// Decodes one whole WAL record (XLogRecord header, block reference headers, main data
// position) as DecodeXLogRecord does, into a reused DecodedRecord: no allocation per
// record. Reads headers only; never copies block images or data, never throws on bad
// input: it returns why the record does not decode.

import { WAL, type WalFormat } from '../format/wal-format.js';
import { lsnText as hexLsn } from '../format/wal-page.js';

const MAX_BLOCKS = WAL.XLR_MAX_BLOCK_ID + 1;

/** One record's header and block references; fields are overwritten by the next decode. */
export class DecodedRecord {
  lsn = 0;
  totLen = 0;
  xid = 0;
  prevLsn = 0;
  info = 0;
  rmid = 0;
  /** XLR_BLOCK_ID_ORIGIN, or 0 (InvalidRepOriginId) */
  origin = 0;
  /** XLR_BLOCK_ID_TOPLEVEL_XID, or 0 */
  toplevelXid = 0;
  blockCount = 0;
  readonly blockId = new Uint8Array(MAX_BLOCKS);
  /** fork number in the low 4 bits, BKPBLOCK_* flags in the high 4 */
  readonly forkFlags = new Uint8Array(MAX_BLOCKS);
  readonly spcOid = new Uint32Array(MAX_BLOCKS);
  readonly dbOid = new Uint32Array(MAX_BLOCKS);
  readonly relNumber = new Uint32Array(MAX_BLOCKS);
  readonly blockNumber = new Uint32Array(MAX_BLOCKS);
  readonly dataLength = new Uint16Array(MAX_BLOCKS);
  readonly imageLength = new Uint16Array(MAX_BLOCKS);
  readonly holeOffset = new Uint16Array(MAX_BLOCKS);
  readonly holeLength = new Uint16Array(MAX_BLOCKS);
  readonly bimgInfo = new Uint8Array(MAX_BLOCKS);
  /** where the blocks' images and data start: block i's image follows blocks 0..i-1's images and data */
  blockDataOffset = 0;
  /** main data: bytes[mainDataOffset, mainDataOffset + mainDataLength) */
  bytes: Uint8Array = new Uint8Array(0);
  view: DataView = new DataView(new ArrayBuffer(0));
  mainDataOffset = 0;
  mainDataLength = 0;

  fork(i: number): number {
    return this.forkFlags[i]! & WAL.BKPBLOCK_FORK_MASK;
  }

  hasImage(i: number): boolean {
    return (this.forkFlags[i]! & WAL.BKPBLOCK_HAS_IMAGE) !== 0;
  }
}

/** The compression of block `i`'s image: undefined when it has none. */
export function imageCompression(
  rec: DecodedRecord,
  i: number,
  format: WalFormat,
): 'none' | 'pglz' | 'lz4' | 'zstd' | undefined {
  if (!rec.hasImage(i)) return undefined;
  const b = rec.bimgInfo[i]!;
  if ((b & format.bimgCompressed) === 0) return 'none';
  return b & format.bimgPglz ? 'pglz' : b & format.bimgLz4 ? 'lz4' : 'zstd';
}

/** Where block `i`'s image starts in `rec.bytes` (it has one): after the images and data of the blocks before it. */
export function imageOffset(rec: DecodedRecord, i: number): number {
  let at = rec.blockDataOffset;
  for (let j = 0; j < i; j++) at += rec.imageLength[j]! + rec.dataLength[j]!;
  return at;
}

/** Whether block `i`'s image is replayed (BKPIMAGE_APPLY), or only kept for wal_consistency_checking. */
export function imageApplies(rec: DecodedRecord, i: number, format: WalFormat): boolean {
  return rec.hasImage(i) && (rec.bimgInfo[i]! & format.bimgApply) !== 0;
}

/** (a function, not a closure made per record: a segment holds ~80,000 records) */
function tooShort(lsn: number): string {
  return `record at ${hexLsn(lsn)} is too short for its headers`;
}

/**
 * Decodes the record at bytes[off, off + xl_tot_len) into `out`; `blockSize` is the data page
 * size (BLCKSZ). Returns an error message for a record that does not decode.
 */
export function decodeRecord(
  bytes: Uint8Array,
  view: DataView,
  off: number,
  lsn: number,
  format: WalFormat,
  blockSize: number,
  out: DecodedRecord,
): string | undefined {
  const totLen = view.getUint32(off, true);
  out.lsn = lsn;
  out.totLen = totLen;
  out.xid = view.getUint32(off + 4, true);
  out.prevLsn = view.getUint32(off + 8, true) + view.getUint32(off + 12, true) * 0x100000000;
  out.info = bytes[off + 16]!;
  out.rmid = bytes[off + 17]!;
  out.origin = 0;
  out.toplevelXid = 0;
  out.blockCount = 0;
  out.bytes = bytes;
  out.view = view;
  let p = off + WAL.RECORD_HEADER;
  let remaining = totLen - WAL.RECORD_HEADER;
  let dataTotal = 0;
  let mainLen = 0;
  let maxBlockId = -1;
  let haveRel = false;
  let spc = 0,
    db = 0,
    rel = 0;
  while (remaining > dataTotal) {
    const id = bytes[p]!;
    p++;
    remaining--;
    if (id === WAL.XLR_BLOCK_ID_DATA_SHORT) {
      if (remaining < 1) return tooShort(lsn);
      mainLen = bytes[p]!;
      p++;
      remaining--;
      dataTotal += mainLen;
      break; // by convention the main data header comes last
    }
    if (id === WAL.XLR_BLOCK_ID_DATA_LONG) {
      if (remaining < 4) return tooShort(lsn);
      mainLen = view.getUint32(p, true);
      p += 4;
      remaining -= 4;
      dataTotal += mainLen;
      break;
    }
    if (id === WAL.XLR_BLOCK_ID_ORIGIN) {
      if (remaining < 2) return tooShort(lsn);
      out.origin = view.getUint16(p, true);
      p += 2;
      remaining -= 2;
      continue;
    }
    if (id === WAL.XLR_BLOCK_ID_TOPLEVEL_XID && format.toplevelXid) {
      if (remaining < 4) return tooShort(lsn);
      out.toplevelXid = view.getUint32(p, true);
      p += 4;
      remaining -= 4;
      continue;
    }
    if (id > WAL.XLR_MAX_BLOCK_ID) return `invalid block_id ${id} at ${hexLsn(lsn)}`;
    if (id <= maxBlockId) return `out-of-order block_id ${id} at ${hexLsn(lsn)}`;
    maxBlockId = id;
    if (remaining < 3) return tooShort(lsn);
    const flags = bytes[p]!;
    const dataLen = view.getUint16(p + 1, true);
    p += 3;
    remaining -= 3;
    const hasData = (flags & WAL.BKPBLOCK_HAS_DATA) !== 0;
    if (hasData !== (dataLen !== 0))
      return `BKPBLOCK_HAS_DATA ${hasData ? 'set, but no data included' : 'not set, but data length is ' + dataLen} at ${hexLsn(lsn)}`;
    if ((flags & WAL.BKPBLOCK_FORK_MASK) > WAL.MAX_FORKNUM)
      return `invalid fork number ${flags & WAL.BKPBLOCK_FORK_MASK} at ${hexLsn(lsn)}`;
    dataTotal += dataLen;
    const n = out.blockCount;
    out.imageLength[n] = 0;
    out.holeOffset[n] = 0;
    out.holeLength[n] = 0;
    out.bimgInfo[n] = 0;
    if (flags & WAL.BKPBLOCK_HAS_IMAGE) {
      if (remaining < 5) return tooShort(lsn);
      const bimgLen = view.getUint16(p, true);
      const holeOffset = view.getUint16(p + 2, true);
      const bimgInfo = bytes[p + 4]!;
      p += 5;
      remaining -= 5;
      const compressed = (bimgInfo & format.bimgCompressed) !== 0;
      const hasHole = (bimgInfo & WAL.BKPIMAGE_HAS_HOLE) !== 0;
      let holeLength = 0;
      if (compressed) {
        if (hasHole) {
          if (remaining < 2) return tooShort(lsn);
          holeLength = view.getUint16(p, true);
          p += 2;
          remaining -= 2;
        }
      } else {
        holeLength = blockSize - bimgLen;
      }
      if (hasHole && (holeOffset === 0 || holeLength === 0 || bimgLen === blockSize))
        return `BKPIMAGE_HAS_HOLE set, but hole offset ${holeOffset} length ${holeLength} block image length ${bimgLen} at ${hexLsn(lsn)}`;
      if (!hasHole && (holeOffset !== 0 || holeLength !== 0))
        return `BKPIMAGE_HAS_HOLE not set, but hole offset ${holeOffset} length ${holeLength} at ${hexLsn(lsn)}`;
      if (compressed && bimgLen === blockSize)
        return `BKPIMAGE_COMPRESSED set, but block image length ${bimgLen} at ${hexLsn(lsn)}`;
      if (!hasHole && !compressed && bimgLen !== blockSize)
        return `neither BKPIMAGE_HAS_HOLE nor BKPIMAGE_COMPRESSED set, but block image length is ${bimgLen} at ${hexLsn(lsn)}`;
      dataTotal += bimgLen;
      out.imageLength[n] = bimgLen;
      out.holeOffset[n] = holeOffset;
      out.holeLength[n] = holeLength;
      out.bimgInfo[n] = bimgInfo;
    }
    if (!(flags & WAL.BKPBLOCK_SAME_REL)) {
      if (remaining < 12) return tooShort(lsn);
      spc = view.getUint32(p, true);
      db = view.getUint32(p + 4, true);
      rel = view.getUint32(p + 8, true);
      p += 12;
      remaining -= 12;
      haveRel = true;
    } else if (!haveRel) {
      return `BKPBLOCK_SAME_REL set but no previous rel at ${hexLsn(lsn)}`;
    }
    if (remaining < 4) return tooShort(lsn);
    out.blockNumber[n] = view.getUint32(p, true);
    p += 4;
    remaining -= 4;
    out.blockId[n] = id;
    out.forkFlags[n] = flags;
    out.dataLength[n] = dataLen;
    out.spcOid[n] = spc;
    out.dbOid[n] = db;
    out.relNumber[n] = rel;
    out.blockCount = n + 1;
  }
  if (remaining !== dataTotal)
    return `record at ${hexLsn(lsn)}: header length mismatch (${remaining} bytes left, ${dataTotal} announced)`;
  out.blockDataOffset = p;
  out.mainDataLength = mainLen;
  out.mainDataOffset = off + totLen - mainLen;
  return undefined;
}
