// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of PostgreSQL's WAL
// records and control file; Node has no built-in CRC-32C. Short ranges (most WAL records)
// table-driven here, slicing-by-16 over aligned 32-bit words, allocating nothing; long ones
// (full-page images: most of a busy segment's bytes) by @node-rs/crc32, with the CPU's
// CRC32 instruction, where a call costs more than ~0.3 µs but 8 KiB take ~0.3 µs instead of
// ~1.5-3 µs: a busy 16 MiB segment's records in 5 ms instead of 17-46 (cold code).

import { requireNative } from './native-package.js';

const POLY = 0x82f63b78;

/** 16 tables of 256 entries: T[k*256 + b] is the CRC of byte b followed by k zero bytes. */
const T = new Int32Array(16 * 256);
for (let b = 0; b < 256; b++) {
  let c = b;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
  T[b] = c;
}
for (let b = 0; b < 256; b++) {
  let c = T[b]!;
  for (let k = 1; k < 16; k++) {
    c = T[c & 0xff]! ^ (c >>> 8);
    T[k * 256 + b] = c;
  }
}

// the word loop reads little-endian words; a big-endian machine takes the byte loop
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

export const CRC32C_INIT = 0xffffffff | 0;

export function crc32cFinish(crc: number): number {
  return (crc ^ 0xffffffff) >>> 0;
}

/** Byte and 32-bit views of a buffer's whole memory, made once per buffer for `crc32cAt`. */
export interface CrcViews {
  readonly bytes: Uint8Array;
  readonly words: Int32Array<ArrayBufferLike>;
  /** where the buffer starts in that memory */
  readonly base: number;
}

export function crcViews(buf: Uint8Array): CrcViews {
  const bytes = new Uint8Array(buf.buffer, 0, buf.buffer.byteLength);
  return { bytes, words: new Int32Array(buf.buffer, 0, buf.buffer.byteLength >>> 2), base: buf.byteOffset };
}

/** Ranges at least this long go to the native function. */
export const NATIVE_MIN_BYTES = 512;
/** it takes any Uint8Array (napi's buffer check accepts typed arrays): a plain view costs less than Buffer's subarray */
type NativeCrc = (input: Uint8Array, initialState?: number) => number;
let native: NativeCrc | null | undefined;

/** The native function, loaded on first use; null where it is not built for this platform. */
function nativeCrc(): NativeCrc | null {
  if (native === undefined) {
    try {
      native = requireNative<{ crc32c: NativeCrc }>('@node-rs/crc32').crc32c;
    } catch {
      native = null; // the tables do it all
    }
  }
  return native;
}

/**
 * Loads the native function now (a thread started early does it before its first WAL
 * arrives: ~2 ms); whether long ranges go to it.
 */
export function loadNativeCrc32c(): boolean {
  return nativeCrc() !== null;
}

/** The raw CRC register `crc` run over buf[start, end) of the buffer `v` was made from (no inversions: ranges chain). */
export function crc32cAt(crc: number, v: CrcViews, start: number, end: number): number {
  if (end - start >= NATIVE_MIN_BYTES) {
    const f = nativeCrc();
    // it takes and returns finished values (inverted registers)
    if (f)
      return (
        (f(new Uint8Array(v.bytes.buffer, v.base + start, end - start), (crc ^ 0xffffffff) >>> 0) ^ 0xffffffff) | 0
      );
  }
  const b = v.bytes;
  let i = v.base + start;
  const stop = v.base + end;
  if (LITTLE_ENDIAN) {
    while ((i & 3) !== 0 && i < stop) crc = T[(crc ^ b[i++]!) & 0xff]! ^ (crc >>> 8);
    const w = v.words;
    let p = i >>> 2;
    const n16 = (stop - i) >>> 4;
    const pEnd = p + n16 * 4;
    while (p < pEnd) {
      const a = w[p]! ^ crc,
        c = w[p + 1]!,
        d = w[p + 2]!,
        e = w[p + 3]!;
      crc =
        T[3840 + (a & 0xff)]! ^
        T[3584 + ((a >>> 8) & 0xff)]! ^
        T[3328 + ((a >>> 16) & 0xff)]! ^
        T[3072 + (a >>> 24)]! ^
        T[2816 + (c & 0xff)]! ^
        T[2560 + ((c >>> 8) & 0xff)]! ^
        T[2304 + ((c >>> 16) & 0xff)]! ^
        T[2048 + (c >>> 24)]! ^
        T[1792 + (d & 0xff)]! ^
        T[1536 + ((d >>> 8) & 0xff)]! ^
        T[1280 + ((d >>> 16) & 0xff)]! ^
        T[1024 + (d >>> 24)]! ^
        T[768 + (e & 0xff)]! ^
        T[512 + ((e >>> 8) & 0xff)]! ^
        T[256 + ((e >>> 16) & 0xff)]! ^
        T[e >>> 24]!;
      p += 4;
    }
    i += n16 * 16;
    if (stop - i >= 8) {
      const a = w[p]! ^ crc,
        c = w[p + 1]!;
      crc =
        T[1792 + (a & 0xff)]! ^
        T[1536 + ((a >>> 8) & 0xff)]! ^
        T[1280 + ((a >>> 16) & 0xff)]! ^
        T[1024 + (a >>> 24)]! ^
        T[768 + (c & 0xff)]! ^
        T[512 + ((c >>> 8) & 0xff)]! ^
        T[256 + ((c >>> 16) & 0xff)]! ^
        T[c >>> 24]!;
      i += 8;
    }
  }
  while (i < stop) crc = T[(crc ^ b[i++]!) & 0xff]! ^ (crc >>> 8);
  return crc;
}

// views of the last buffer seen by crc32cUpdate, so a run of calls on one buffer makes them once
let last: CrcViews | undefined;
let lastBuf: Uint8Array | undefined;

/**
 * Runs the raw CRC register `crc` over `buf[start, end)`: no initial or final inversion, so
 * ranges can be chained. A whole checksum is `crc32cFinish(crc32cUpdate(CRC32C_INIT, ...))`.
 */
export function crc32cUpdate(crc: number, buf: Uint8Array, start: number, end: number): number {
  if (buf !== lastBuf) {
    last = crcViews(buf);
    lastBuf = buf;
  }
  return crc32cAt(crc, last!, start, end);
}

/** The CRC-32C of `buf[start, end)`, as an unsigned 32-bit number. */
export function crc32c(buf: Uint8Array, start = 0, end = buf.length): number {
  return crc32cFinish(crc32cUpdate(CRC32C_INIT, buf, start, end));
}
