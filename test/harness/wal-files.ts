// WAL files for archive tests: a real segment moved to another name (its page headers
// rewritten to sit there), and the kinds of bad file the archive must refuse.

import fs from 'node:fs';
import path from 'node:path';
import { silentLog } from '../../src/common/activity-log.js';
import { contentHash } from '../../src/common/io/content-hash.js';
import { LocalStorageManager } from '../../src/sm/local/local-storage-manager.js';

const PAGE = 8192;

/** The first complete segment of a cluster's pg_wal (name and content). */
export function realSegment(dataDir: string): { name: string; data: Buffer } {
  const dir = path.join(dataDir, 'pg_wal');
  const name = fs
    .readdirSync(dir)
    .filter((n) => /^[0-9A-F]{24}$/.test(n))
    .sort()[0]!;
  return { name, data: fs.readFileSync(path.join(dir, name)) };
}

/**
 * `data` (a real segment) as if it were segment `name`: every page header that has one
 * gets the timeline and page address of that place, so it passes the archive's checks
 * under a name the cluster will never use itself. Records are left as they are.
 */
export function segmentAs(data: Buffer, name: string): Buffer {
  const out = Buffer.from(data);
  const size = data.length;
  const tli = parseInt(name.slice(0, 8), 16);
  const segno = BigInt(`0x${name.slice(8, 16)}`) * (0x100000000n / BigInt(size)) + BigInt(`0x${name.slice(16, 24)}`);
  for (let o = 0; o < size; o += PAGE) {
    if (out.readUInt16LE(o) === 0) continue; // a zeroed page past the end of the WAL written
    out.writeUInt32LE(tli, o + 4);
    out.writeBigUInt64LE(segno * BigInt(size) + BigInt(o), o + 8);
  }
  return out;
}

/** `data` with the system identifier of its long header changed: another cluster's segment. */
export function otherSystem(data: Buffer): Buffer {
  const out = Buffer.from(data);
  out.writeBigUInt64LE(out.readBigUInt64LE(24) ^ 0x5a5a5a5an, 24);
  return out;
}

/**
 * Stores `content` as WAL file `name` of `server` straight through the storage manager,
 * past log archive's checks: what an older openbar let in, or a tampered archive.
 */
export async function storeUnchecked(home: string, server: string, name: string, content: Buffer): Promise<number> {
  const sm = LocalStorageManager.open({
    home,
    log: silentLog,
    maxVolumeSize: 1 << 30,
    write: { compression: 'none', compressionLevel: 1, recordSize: 256 * 1024, bufferCount: 2 },
  });
  try {
    const txn = await sm.beginTransaction();
    const w = await txn.createObject({
      pool: 'Logs',
      server,
      name,
      kind: 'wal',
      meta: { walKind: 'segment', size: content.length, contentHash: contentHash(content) },
    });
    await w.write(content);
    await w.close();
    return (await txn.commit())[0]!.id;
  } finally {
    await sm.close();
  }
}
