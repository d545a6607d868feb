// pg_control (global/pg_control), read for archive validation and by a level 1 or 2 before
// the server answers: its system identifier, its format version, the last checkpoint's
// location, and whether its CRC-32C holds. Reads only.
//
// ControlFileData (catalog/pg_control.h), the part read here, the same in every version of
// the supported majors (PG_CONTROL_VERSION per major: server-version.ts):
//
//   0  system_identifier  uint64
//   8  pg_control_version uint32   1300 (13-16), 1700 (17), 1800 (18)
//  12  catalog_version_no uint32
//  16  state              uint32 (enum DBState)
//  24  time               pg_time_t (int64, aligned to 8)
//  32  checkPoint         XLogRecPtr
//  40  checkPointCopy     CheckPoint ... and on
//
// The CRC is the struct's last member, at an offset that differs between versions (18
// adds default_char_signedness: 288 -> 292 on x86-64); it is found as the one 4-byte-aligned
// offset where the stored CRC matches the bytes before it (a chance match elsewhere is 1
// in 2^32 per offset), so a new version's layout needs no change here.

import { crc32c } from '../../../common/io/crc32c.js';

/** where the control file lives, relative to the data directory (and in pg_global's stream) */
export const CONTROL_FILE = 'global/pg_control';

export interface ControlFileInfo {
  readonly systemId: string;
  readonly controlVersion: number;
  readonly catalogVersion: number;
  /** checkPoint: where the last checkpoint record starts (all WAL before it is on disk) */
  readonly checkPointLsn: bigint;
  /** offset of the CRC, when one matched */
  readonly crcOffset: number | undefined;
}

/** ControlFileData is a few hundred bytes; its CRC lies well inside this window. */
const CRC_SEARCH = { from: 16, to: 1024 };

export function readControlFile(content: Uint8Array): ControlFileInfo | { error: string } {
  if (content.length < 512) return { error: `pg_control is ${content.length} bytes, too short` };
  const dv = new DataView(content.buffer, content.byteOffset, content.byteLength);
  let crcOffset: number | undefined;
  for (let off = CRC_SEARCH.from; off <= CRC_SEARCH.to && off + 4 <= content.length; off += 4) {
    if (crc32c(content, 0, off) === dv.getUint32(off, true)) {
      crcOffset = off;
      break;
    }
  }
  return {
    systemId: dv.getBigUint64(0, true).toString(),
    controlVersion: dv.getUint32(8, true),
    catalogVersion: dv.getUint32(12, true),
    // after state (4 bytes) and time (8, aligned): the same in every supported major (13-18)
    checkPointLsn: dv.getBigUint64(32, true),
    crcOffset,
  };
}
