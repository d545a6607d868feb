// The volume format, and the only module that reads or writes its bytes.
//
// A volume is a label block (LABEL_SIZE bytes: magic, format version, JSON label,
// CRC-32 of the block) followed by records. A record is a fixed header (below) and
// its payload. Volumes are self-describing: a catalog can be rebuilt by reading them.
//
// Record header, little-endian, RECORD_HEADER_SIZE bytes:
//   0 u32 magic 'OBRC'      4 u8 header version   5 u8 kind        6 u16 flags (bits 0-3: codec)
//   8 u64 save-set id      16 u32 sequence       20 u32 raw length 24 u32 stored length
//  28 u32 CRC-32 of the stored payload           32 u32 transaction id
//  36 u32 CRC-32 of bytes 0..35
// A save set is BEGIN (descriptor JSON), DATA..., END (totals JSON); when it spans
// volumes each further part opens with CONTINUE. COMMIT lists the save sets of a
// committed transaction; only committed sets exist. DELETE is a tombstone; CLOSE
// marks a volume full and immutable.

import { crc32 } from 'node:zlib';

export const VOLUME_FORMAT_VERSION = 1;
export const LABEL_SIZE = 4096;
export const RECORD_HEADER_SIZE = 40;
export const RECORD_VERSION = 1;
const VOLUME_MAGIC = Buffer.from('OPENBAR-VOLUME\0\0', 'latin1');
const RECORD_MAGIC = 0x4352424f; // 'OBRC' read as u32 LE

export const RecordKind = Object.freeze({
  begin: 1,
  data: 2,
  end: 3,
  continue: 4,
  commit: 5,
  close: 6,
  delete: 7,
});
export type RecordKindName = keyof typeof RecordKind;

export function recordKindName(kind: number): RecordKindName | undefined {
  return (Object.keys(RecordKind) as RecordKindName[]).find((k) => RecordKind[k] === kind);
}

export interface VolumeLabel {
  readonly label: string;
  readonly pool: string;
  readonly sequence: number;
  readonly created: string;
  readonly smId: string;
  /** pool settings at labelling time, so a lost catalog can recreate the pool */
  readonly maxVolumeSize: number;
  readonly retentionDays: number | null;
  readonly compression: string | null;
}

export interface RecordHeader {
  readonly kind: number;
  readonly codec: number;
  readonly savesetId: number;
  readonly seq: number;
  readonly rawLength: number;
  readonly storedLength: number;
  readonly checksum: number;
  readonly txn: number;
}

/** What the JSON payloads of the control records hold. */
export interface BeginPayload {
  readonly id: number;
  readonly txn: number;
  readonly pool: string;
  readonly server: string;
  readonly name: string;
  readonly kind: string;
  readonly level: number | null;
  readonly created: string;
  readonly codec: string;
  readonly meta: Record<string, unknown>;
}
export interface EndPayload {
  readonly id: number;
  readonly records: number;
  readonly rawBytes: number;
  readonly storedBytes: number;
  /** BLAKE3 over the BLAKE3 digests of the records' raw bytes, in order (so records hash in parallel) */
  readonly hash: string;
}
export interface ContinuePayload {
  readonly id: number;
  readonly part: number;
  readonly fromSeq: number;
}
export interface CommitPayload {
  readonly txn: number;
  readonly ids: readonly number[];
  readonly time: string;
}
/**
 * A tombstone. `maxSaveSet`/`maxTxn` (written when volumes are recycled) keep the id
 * high-water marks, so a catalog rebuild after recycling never hands out an id again.
 */
export interface DeletePayload {
  readonly ids: readonly number[];
  readonly time: string;
  readonly maxSaveSet?: number;
  readonly maxTxn?: number;
}
export interface ClosePayload {
  readonly label: string;
  readonly time: string;
}

export function encodeLabel(label: VolumeLabel): Buffer {
  const block = Buffer.alloc(LABEL_SIZE);
  VOLUME_MAGIC.copy(block, 0);
  block.writeUInt16LE(VOLUME_FORMAT_VERSION, 16);
  const json = Buffer.from(JSON.stringify(label), 'utf8');
  if (json.length > LABEL_SIZE - 28) throw new Error('volume label too long');
  block.writeUInt32LE(json.length, 20);
  json.copy(block, 24);
  block.writeUInt32LE(crc32(block.subarray(0, LABEL_SIZE - 4)), LABEL_SIZE - 4);
  return block;
}

/** The label, or a reason why these bytes are not a volume label. */
export function decodeLabel(block: Uint8Array): VolumeLabel | { error: string } {
  const b = Buffer.from(block.buffer, block.byteOffset, block.byteLength);
  if (b.length < LABEL_SIZE) return { error: 'shorter than a label block' };
  if (!b.subarray(0, 16).equals(VOLUME_MAGIC)) return { error: 'not an openbar volume (bad magic)' };
  const version = b.readUInt16LE(16);
  if (version !== VOLUME_FORMAT_VERSION)
    return { error: `volume format version ${version} is not supported by this openbar` };
  if (crc32(b.subarray(0, LABEL_SIZE - 4)) !== b.readUInt32LE(LABEL_SIZE - 4))
    return { error: 'label block checksum mismatch' };
  const len = b.readUInt32LE(20);
  if (len > LABEL_SIZE - 28) return { error: 'label length out of range' };
  try {
    return JSON.parse(b.subarray(24, 24 + len).toString('utf8')) as VolumeLabel;
  } catch {
    return { error: 'label is not valid JSON' };
  }
}

export function encodeRecordHeader(h: RecordHeader): Buffer {
  const b = Buffer.allocUnsafe(RECORD_HEADER_SIZE);
  b.writeUInt32LE(RECORD_MAGIC, 0);
  b.writeUInt8(RECORD_VERSION, 4);
  b.writeUInt8(h.kind, 5);
  b.writeUInt16LE(h.codec & 0x0f, 6);
  b.writeBigUInt64LE(BigInt(h.savesetId), 8);
  b.writeUInt32LE(h.seq, 16);
  b.writeUInt32LE(h.rawLength, 20);
  b.writeUInt32LE(h.storedLength, 24);
  b.writeUInt32LE(h.checksum >>> 0, 28);
  b.writeUInt32LE(h.txn, 32);
  b.writeUInt32LE(crc32(b.subarray(0, 36)), 36);
  return b;
}

/** The header at `offset`, or why there is none (a torn tail, or damage). */
export function decodeRecordHeader(buf: Buffer, offset: number): RecordHeader | { error: string } {
  if (buf.length - offset < RECORD_HEADER_SIZE) return { error: 'short record header' };
  if (buf.readUInt32LE(offset) !== RECORD_MAGIC) return { error: 'bad record magic' };
  if (crc32(buf.subarray(offset, offset + 36)) !== buf.readUInt32LE(offset + 36))
    return { error: 'record header checksum mismatch' };
  const version = buf.readUInt8(offset + 4);
  if (version !== RECORD_VERSION) return { error: `record version ${version} not supported` };
  return {
    kind: buf.readUInt8(offset + 5),
    codec: buf.readUInt16LE(offset + 6) & 0x0f,
    savesetId: Number(buf.readBigUInt64LE(offset + 8)),
    seq: buf.readUInt32LE(offset + 16),
    rawLength: buf.readUInt32LE(offset + 20),
    storedLength: buf.readUInt32LE(offset + 24),
    checksum: buf.readUInt32LE(offset + 28),
    txn: buf.readUInt32LE(offset + 32),
  };
}

export function payloadChecksum(payload: Uint8Array): number {
  return crc32(payload);
}

/** A complete control record (header and JSON payload), uncompressed. */
export function encodeControlRecord(kind: number, savesetId: number, seq: number, txn: number, body: object): Buffer {
  const payload = Buffer.from(JSON.stringify(body), 'utf8');
  const header = encodeRecordHeader({
    kind,
    codec: 0,
    savesetId,
    seq,
    rawLength: payload.length,
    storedLength: payload.length,
    checksum: crc32(payload),
    txn,
  });
  return Buffer.concat([header, payload]);
}

export function decodeControlPayload<T>(payload: Uint8Array): T {
  return JSON.parse(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8')) as T;
}
