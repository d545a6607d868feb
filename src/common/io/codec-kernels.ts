// The compression kernels, synchronous, shared by the codec worker threads and by
// the in-thread fallback. Codec ids are part of the volume format: never renumber.

import { digestOf } from './content-hash.js';
import { createRequire } from 'node:module';
import { crc32 } from 'node:zlib';

const require = createRequire(import.meta.url);
const lz4 = require('lz4-napi') as typeof import('lz4-napi');
const zstd = require('zstd-napi') as typeof import('zstd-napi');

export const codecIds = Object.freeze({ none: 0, lz4: 1, zstd: 2 });
export type CodecName = keyof typeof codecIds;

let zstdCompressor: InstanceType<typeof zstd.Compressor> | undefined;
let zstdLevel = -1;
let zstdDecompressor: InstanceType<typeof zstd.Decompressor> | undefined;

export function compressSync(codec: number, level: number, data: Uint8Array): Uint8Array {
  switch (codec) {
    case codecIds.lz4:
      return lz4.compressSync(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    case codecIds.zstd:
      if (!zstdCompressor || zstdLevel !== level) {
        zstdCompressor = new zstd.Compressor();
        zstdCompressor.setParameters({ compressionLevel: level, checksumFlag: false, contentSizeFlag: true });
        zstdLevel = level;
      }
      return zstdCompressor.compress(data);
    default:
      return data;
  }
}

export function decompressSync(codec: number, data: Uint8Array, rawLength: number): Uint8Array {
  let out: Uint8Array;
  switch (codec) {
    case codecIds.none:
      return data;
    case codecIds.lz4:
      out = lz4.uncompressSync(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
      break;
    case codecIds.zstd:
      zstdDecompressor ??= new zstd.Decompressor();
      out = zstdDecompressor.decompress(data);
      break;
    default:
      throw Object.assign(new Error(`unknown compression id ${codec}`), { code: 'FORMAT' });
  }
  if (out.byteLength !== rawLength) {
    throw Object.assign(new Error(`decompressed ${out.byteLength} bytes, expected ${rawLength}`), { code: 'FORMAT' });
  }
  return out;
}

/** Copies `u` into memory of its own when it shares a buffer (so it can be transferred). */
function own(u: Uint8Array): Uint8Array {
  if (u.byteOffset === 0 && u.byteLength === u.buffer.byteLength && !Buffer.isBuffer(u)) return u;
  const c = new Uint8Array(u.byteLength);
  c.set(u);
  return c;
}

/** What sealing a record held in shared memory yields: the payload to store is the slot itself when `data` is absent. */
export interface SealedShared {
  readonly codec: number;
  readonly data: Uint8Array | null;
  readonly digest: Uint8Array;
  readonly crc: number;
}

/** Seals the first `length` bytes of a shared slot (a worker-pool kernel, also run in-thread). */
export function sealShared(codec: number, level: number, memory: SharedArrayBuffer, length: number): SealedShared {
  const raw = new Uint8Array(memory, 0, length);
  const digest = own(digestOf(raw));
  if (codec !== codecIds.none && length > 0) {
    const c = compressSync(codec, level, raw);
    if (c.byteLength < length) {
      const data = own(c);
      return { codec, data, digest, crc: crc32(data) };
    }
  }
  return { codec: codecIds.none, data: null, digest, crc: crc32(raw) };
}

/**
 * Opens a record into a shared slot (a worker-pool kernel, also run in-thread): checks
 * the stored bytes against `crc`, then decompresses `payload` into the slot (when null,
 * the raw bytes are already there). Returns the BLAKE3 digest of the slot's first `rawLength` bytes.
 */
export function openShared(codec: number, payload: Uint8Array | null, rawLength: number, memory: SharedArrayBuffer, crc: number): { digest: Uint8Array } {
  const slot = new Uint8Array(memory, 0, rawLength);
  // the stored bytes are checked before anything is made of them
  if (crc32(payload ?? slot) !== crc) throw Object.assign(new Error('record checksum mismatch'), { code: 'CHECKSUM' });
  if (payload !== null) {
    const raw = decompressSync(codec, payload, rawLength);
    if (raw.byteLength !== rawLength) throw Object.assign(new Error(`payload is ${raw.byteLength} bytes, expected ${rawLength}`), { code: 'FORMAT' });
    slot.set(raw);
  }
  return { digest: own(digestOf(slot)) };
}
