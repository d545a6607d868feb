// Damage that checksums alone cannot see, for the verify tests: the content of an
// uncompressed save set is edited in its volume and every record it touches is
// re-sealed (payload and header CRCs, the END record's whole-set hash), as a forger or a
// bug upstream of the storage manager would. `sm scan --rebuild` then refreshes the catalog.

import fs from 'node:fs';
import path from 'node:path';
import { openActivityLog } from '../../src/common/activity-log.js';
import { LocalStorageManager } from '../../src/sm/local/local-storage-manager.js';
import { ContentHasher, digestOf } from '../../src/common/io/content-hash.js';
import {
  decodeRecordHeader,
  encodeRecordHeader,
  LABEL_SIZE,
  payloadChecksum,
  RECORD_HEADER_SIZE,
  RecordKind,
} from '../../src/sm/local/volume-format.js';

interface Rec {
  offset: number;
  kind: number;
  seq: number;
  payload: Buffer;
}

function records(vol: Buffer, id: number): Rec[] {
  const out: Rec[] = [];
  for (let off = LABEL_SIZE; off + RECORD_HEADER_SIZE <= vol.length;) {
    const h = decodeRecordHeader(vol, off);
    if ('error' in h) break;
    const payload = vol.subarray(off + RECORD_HEADER_SIZE, off + RECORD_HEADER_SIZE + h.storedLength);
    if (h.savesetId === id) {
      if (h.kind === RecordKind.data && h.codec !== 0)
        throw new Error(`save set ${id} is compressed: store it with compression = none to edit it`);
      out.push({ offset: off, kind: h.kind, seq: h.seq, payload });
    }
    off += RECORD_HEADER_SIZE + h.storedLength;
  }
  return out;
}

function reseal(vol: Buffer, r: Rec): void {
  const h = decodeRecordHeader(vol, r.offset);
  if ('error' in h) throw new Error(h.error);
  encodeRecordHeader({ ...h, checksum: payloadChecksum(r.payload) }).copy(vol, r.offset);
}

/**
 * Lets `edit` change the bytes of save set `id` (its data records' payloads joined, in
 * order) without changing their length, then re-seals. The set must lie in one volume.
 */
export function editSaveSet(volumeFile: string, id: number, edit: (content: Buffer) => void): void {
  fs.chmodSync(volumeFile, 0o640);
  const vol = fs.readFileSync(volumeFile);
  const recs = records(vol, id);
  const data = recs.filter((r) => r.kind === RecordKind.data);
  const content = Buffer.concat(data.map((r) => r.payload));
  edit(content);
  let at = 0;
  const hasher = new ContentHasher();
  for (const r of data) {
    const next = content.subarray(at, at + r.payload.length);
    at += r.payload.length;
    if (!next.equals(r.payload)) {
      next.copy(r.payload);
      reseal(vol, r);
    }
    hasher.update(digestOf(r.payload));
  }
  const end = recs.find((r) => r.kind === RecordKind.end);
  if (!end) throw new Error(`save set ${id} has no END record in ${volumeFile}`);
  const json = JSON.parse(end.payload.toString('utf8')) as { hash: string };
  const text = end.payload.toString('utf8').replace(json.hash, hasher.hex());
  Buffer.from(text, 'utf8').copy(end.payload);
  reseal(vol, end);
  fs.writeFileSync(volumeFile, vol);
}

/** Flips a byte in the middle of the stored (possibly compressed) payload of save set `id`'s first data record: media damage. */
export function flipStoredByte(volumeFile: string, id: number): void {
  fs.chmodSync(volumeFile, 0o640);
  const vol = fs.readFileSync(volumeFile);
  for (let off = LABEL_SIZE; off + RECORD_HEADER_SIZE <= vol.length;) {
    const h = decodeRecordHeader(vol, off);
    if ('error' in h) break;
    if (h.savesetId === id && h.kind === RecordKind.data) {
      vol[off + RECORD_HEADER_SIZE + Math.floor(h.storedLength / 2)]! ^= 0x5a;
      fs.writeFileSync(volumeFile, vol);
      return;
    }
    off += RECORD_HEADER_SIZE + h.storedLength;
  }
  throw new Error(`save set ${id} has no data record in ${volumeFile}`);
}

/** Flips one bit of save set `id`'s content at `index` without re-sealing: only the record checksum can tell. */
export function flipRawBit(volumeFile: string, id: number, index: number): void {
  fs.chmodSync(volumeFile, 0o640);
  const vol = fs.readFileSync(volumeFile);
  let left = index;
  for (const r of records(vol, id).filter((x) => x.kind === RecordKind.data)) {
    if (left < r.payload.length) {
      r.payload[left]! ^= 0x10;
      fs.writeFileSync(volumeFile, vol);
      return;
    }
    left -= r.payload.length;
  }
  throw new Error(`save set ${id} has fewer than ${index} bytes`);
}

/**
 * Replaces save set `id` by a new one with the same descriptor (but for `change`: its
 * level, meta fields added or replaced) and `content` (any length), through the storage
 * manager itself, and deletes the original. The history still names the old id: run
 * `openbar sync --from-storage` after it.
 */
export async function replaceSaveSet(
  home: string,
  id: number,
  content: Buffer,
  change: { level?: number; meta?: Record<string, unknown> } = {},
): Promise<number> {
  const sm = LocalStorageManager.open({
    home,
    log: openActivityLog(path.join(home, 'activity.log')),
    maxVolumeSize: 4 * 1024 ** 3,
    write: { compression: 'none', compressionLevel: 1, recordSize: 256 * 1024, bufferCount: 4 },
  });
  try {
    const [info] = await sm.query({ id });
    if (!info) throw new Error(`no save set ${id}`);
    const txn = await sm.beginTransaction();
    const w = await txn.createObject({
      pool: info.pool,
      server: info.server,
      name: info.name,
      kind: info.kind,
      level: change.level ?? info.level,
      meta: { ...info.meta, ...change.meta },
    });
    await w.write(content);
    await w.close();
    const [made] = await txn.commit();
    await sm.delete([id]);
    return made!.id;
  } finally {
    await sm.close();
  }
}

/** A save set's whole content. */
export async function readSaveSetContent(home: string, id: number): Promise<Buffer> {
  const sm = LocalStorageManager.open({
    home,
    log: openActivityLog(path.join(home, 'activity.log')),
    maxVolumeSize: 4 * 1024 ** 3,
    write: { compression: 'none', compressionLevel: 1, recordSize: 256 * 1024, bufferCount: 4 },
  });
  try {
    const parts: Buffer[] = [];
    for await (const c of sm.readChunks(id)) parts.push(Buffer.from(c));
    return Buffer.concat(parts);
  } finally {
    await sm.close();
  }
}
