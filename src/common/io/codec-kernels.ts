// The record kernels, synchronous, shared by the codec worker threads and by the
// in-thread fallback. They work in place on a transfer buffer's two areas (raw bytes,
// stored bytes) and allocate nothing per record. Codec ids are part of the volume
// format: never renumber.

import { digestOf } from './content-hash.js';
import { createRequire } from 'node:module';
import { crc32 } from 'node:zlib';

const require = createRequire(import.meta.url);
const zstd = require('zstd-napi/binding.js') as typeof import('zstd-napi/binding.js');
type Lz4 = typeof import('lz4-napi');
let lz4Module: Lz4 | undefined;
/** loaded on first use: most volumes are zstd, and loading it costs every thread a few ms */
const lz4 = (): Lz4 => (lz4Module ??= require('lz4-napi') as Lz4);

export const codecIds = Object.freeze({ none: 0, lz4: 1, zstd: 2 });
export type CodecName = keyof typeof codecIds;

/** The most bytes any codec can make of `rawLength` bytes: the size of a buffer's stored area. */
export function maxStoredLength(rawLength: number): number {
  return Math.max(zstd.compressBound(rawLength), rawLength + Math.floor(rawLength / 255) + 16);
}

let cctx: InstanceType<typeof zstd.CCtx> | undefined;
let cctxLevel = Number.NaN;
let dctx: InstanceType<typeof zstd.DCtx> | undefined;

/**
 * Compresses `src` into `dst` (at least maxStoredLength(src) bytes, so zstd runs without
 * bounds checks); returns the bytes written. zstd frames carry their content size, no checksum.
 */
function compressInto(codec: number, level: number, src: Uint8Array, dst: Uint8Array): number {
  switch (codec) {
    case codecIds.zstd:
      if (!cctx || cctxLevel !== level) {
        cctx = new zstd.CCtx();
        cctx.setParameter(zstd.CParameter.compressionLevel, level);
        cctx.setParameter(zstd.CParameter.checksumFlag, 0);
        cctx.setParameter(zstd.CParameter.contentSizeFlag, 1);
        cctxLevel = level;
      }
      return cctx.compress2(dst, src);
    case codecIds.lz4: {
      const c = lz4().compressSync(Buffer.from(src.buffer, src.byteOffset, src.byteLength));
      dst.set(c);
      return c.byteLength;
    }
    default:
      throw Object.assign(new Error(`unknown compression id ${codec}`), { code: 'FORMAT' });
  }
}

/** Decompresses `src` into `dst`, which must come out exactly full. */
function decompressInto(codec: number, src: Uint8Array, dst: Uint8Array): void {
  let n: number;
  switch (codec) {
    case codecIds.lz4: {
      const out = lz4().uncompressSync(Buffer.from(src.buffer, src.byteOffset, src.byteLength));
      n = out.byteLength;
      if (n === dst.byteLength) dst.set(out);
      break;
    }
    case codecIds.zstd:
      dctx ??= new zstd.DCtx();
      try {
        n = dctx.decompress(dst, src);
      } catch (err) {
        throw Object.assign(new Error(`cannot decompress: ${(err as Error).message}`), { code: 'FORMAT' });
      }
      break;
    default:
      throw Object.assign(new Error(`unknown compression id ${codec}`), { code: 'FORMAT' });
  }
  if (n !== dst.byteLength)
    throw Object.assign(new Error(`decompressed ${n} bytes, expected ${dst.byteLength}`), { code: 'FORMAT' });
}

/** A copy of `u` in memory of its own (32 bytes: cheap), so it moves to the main thread by transfer, not by cloning a pool. */
function own(u: Uint8Array): Uint8Array {
  const c = new Uint8Array(u.byteLength);
  c.set(u);
  return c;
}

/** What sealing a record yields: `storedLength` bytes at the stored area, or the raw bytes themselves when null. */
export interface SealedShared {
  readonly codec: number;
  readonly storedLength: number | null;
  readonly digest: Uint8Array;
  readonly crc: number;
}

/**
 * Seals the first `length` raw bytes of a buffer (a worker-pool kernel, also run in-thread):
 * BLAKE3 of the raw bytes, compression into the stored area when that makes them smaller,
 * CRC-32 of what is to be stored.
 */
export function sealShared(
  codec: number,
  level: number,
  memory: SharedArrayBuffer,
  storedAt: number,
  length: number,
): SealedShared {
  const raw = new Uint8Array(memory, 0, length);
  const digest = own(digestOf(raw));
  if (codec !== codecIds.none && length > 0) {
    const stored = new Uint8Array(memory, storedAt, maxStoredLength(length));
    const n = compressInto(codec, level, raw, stored);
    if (n < length) return { codec, storedLength: n, digest, crc: crc32(stored.subarray(0, n)) };
  }
  return { codec: codecIds.none, storedLength: null, digest, crc: crc32(raw) };
}

/**
 * Opens a record in a buffer (a worker-pool kernel, also run in-thread): checks the stored
 * bytes against `crc`, then decompresses the `storedLength` bytes at the stored area into
 * the raw area (when null, the raw bytes are already there). Returns the BLAKE3 digest of
 * the first `rawLength` raw bytes.
 */
export function openShared(
  codec: number,
  memory: SharedArrayBuffer,
  storedAt: number,
  storedLength: number | null,
  rawLength: number,
  crc: number,
): { digest: Uint8Array } {
  const raw = new Uint8Array(memory, 0, rawLength);
  const stored = storedLength === null ? raw : new Uint8Array(memory, storedAt, storedLength);
  // the stored bytes are checked before anything is made of them
  if (crc32(stored) !== crc) throw Object.assign(new Error('record checksum mismatch'), { code: 'CHECKSUM' });
  if (storedLength !== null) decompressInto(codec, stored, raw);
  return { digest: own(digestOf(raw)) };
}
