// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of PostgreSQL's WAL
// records and control file. Table-driven, slicing-by-8 over aligned 32-bit words; Node has
// no built-in CRC-32C. Pure computation: never allocates per call, never touches I/O.

const POLY = 0x82f63b78;

/** 8 tables of 256 entries: T[k][b] is the CRC of byte b followed by k zero bytes. */
const T = new Int32Array(8 * 256);
for (let b = 0; b < 256; b++) {
  let c = b;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
  T[b] = c;
}
for (let b = 0; b < 256; b++) {
  let c = T[b]!;
  for (let k = 1; k < 8; k++) {
    c = T[c & 0xff]! ^ (c >>> 8);
    T[k * 256 + b] = c;
  }
}

// the word loop reads little-endian words; a big-endian machine takes the byte loop
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

// a 32-bit view of the last buffer's memory, so aligned words are read without a copy
let lastBuffer: ArrayBufferLike | undefined;
let lastWords: Int32Array<ArrayBufferLike> = new Int32Array(0);

/**
 * Runs the raw CRC register `crc` over `buf[start, end)`: no initial or final inversion, so
 * ranges can be chained. A whole checksum is `crc32cFinish(crc32cUpdate(CRC32C_INIT, ...))`.
 */
export function crc32cUpdate(crc: number, buf: Uint8Array, start: number, end: number): number {
  let i = start;
  const abs = buf.byteOffset + start;
  // byte at a time up to a 4-byte boundary of the underlying memory
  let head = (4 - (abs & 3)) & 3;
  if (head > end - start) head = end - start;
  for (let n = 0; n < head; n++) crc = T[(crc ^ buf[i++]!) & 0xff]! ^ (crc >>> 8);
  const words = LITTLE_ENDIAN ? (end - i) >>> 3 : 0;
  if (words > 0) {
    if (buf.buffer !== lastBuffer) {
      lastBuffer = buf.buffer;
      lastWords = new Int32Array(buf.buffer, 0, buf.buffer.byteLength >>> 2);
    }
    const w = lastWords;
    let p = (buf.byteOffset + i) >>> 2;
    const stop = p + words * 2;
    while (p < stop) {
      const a = w[p]! ^ crc;
      const b = w[p + 1]!;
      crc = T[7 * 256 + (a & 0xff)]! ^ T[6 * 256 + ((a >>> 8) & 0xff)]! ^ T[5 * 256 + ((a >>> 16) & 0xff)]! ^ T[4 * 256 + (a >>> 24)]!
        ^ T[3 * 256 + (b & 0xff)]! ^ T[2 * 256 + ((b >>> 8) & 0xff)]! ^ T[256 + ((b >>> 16) & 0xff)]! ^ T[b >>> 24]!;
      p += 2;
    }
    i += words * 8;
  }
  while (i < end) crc = T[(crc ^ buf[i++]!) & 0xff]! ^ (crc >>> 8);
  return crc;
}

export const CRC32C_INIT = 0xffffffff | 0;

export function crc32cFinish(crc: number): number {
  return (crc ^ 0xffffffff) >>> 0;
}

/** The CRC-32C of `buf[start, end)`, as an unsigned 32-bit number. */
export function crc32c(buf: Uint8Array, start = 0, end = buf.length): number {
  return crc32cFinish(crc32cUpdate(CRC32C_INIT, buf, start, end));
}
