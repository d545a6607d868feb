// The compression kernels, synchronous, shared by the codec worker threads and by
// the in-thread fallback. Codec ids are part of the volume format: never renumber.

import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const lz4 = require('lz4-napi') as typeof import('lz4-napi');
const zstd = require('zstd-napi') as typeof import('zstd-napi');

export const codecIds = Object.freeze({ none: 0, lz4: 1, zstd: 2 });
export type CodecName = keyof typeof codecIds;

export function codecName(id: number): CodecName | undefined {
  return (Object.keys(codecIds) as CodecName[]).find((k) => codecIds[k] === id);
}

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
