// PostgreSQL's data page checksum (checksum_impl.h): FNV-1a based, 32 lanes, each seeded
// with its own base offset, then the block number mixed in. The constants are written here
// once; page-checksum-simd.ts computes the same sum in WebAssembly SIMD. Reads the page only:
// pd_checksum counts as zero, it is never zeroed in place.

const N_SUMS = 32;
export const FNV_PRIME = 16777619;
/** checksumBaseOffsets: the seed of each lane */
export const CHECKSUM_BASE_OFFSETS: readonly number[] = Object.freeze([
  0x5b1f36e9, 0xb8525960, 0x02ab50aa, 0x1de66d2a, 0x79ff467a, 0x9bb9f8a3, 0x217e7cd2, 0x83e13d2c, 0xf8d4474f,
  0xe39eb970, 0x42c6ae16, 0x993216fa, 0x7b093b5d, 0x98daff3c, 0xf718902a, 0x0b1c9cdb, 0xe58f764b, 0x187636bc,
  0x5d7b3bb1, 0xe73de7de, 0x92bec979, 0xcca6c0b2, 0x304a0979, 0x85aa43d4, 0x783125bb, 0x6ca8eaa2, 0xe407eac6,
  0x4b5cfc3e, 0x9fbf8c76, 0x15ca20be, 0xf2ca9fd3, 0x959bd756,
]);

const baseOffsets = new Uint32Array(CHECKSUM_BASE_OFFSETS);
const sums = new Uint32Array(N_SUMS);

/** pg_checksum_page: the checksum PostgreSQL stores in pd_checksum for block `blkno`. */
export function pageChecksum(page: Uint8Array, blkno: number): number {
  const words =
    page.byteOffset % 4 === 0
      ? new Uint32Array(page.buffer, page.byteOffset, page.byteLength >>> 2)
      : new Uint32Array(page.slice().buffer); // unaligned: checksum a copy
  sums.set(baseOffsets);
  const n = words.length;
  for (let i = 0; i < n; i += N_SUMS) {
    for (let j = 0; j < N_SUMS; j++) {
      let value = words[i + j]!;
      if (i + j === 2) value &= 0xffff0000; // pd_checksum (bytes 8-9) counts as zero
      const tmp = (sums[j]! ^ value) >>> 0;
      sums[j] = Math.imul(tmp, FNV_PRIME) ^ (tmp >>> 17);
    }
  }
  for (let r = 0; r < 2; r++) {
    for (let j = 0; j < N_SUMS; j++) {
      const tmp = sums[j]!;
      sums[j] = Math.imul(tmp, FNV_PRIME) ^ (tmp >>> 17);
    }
  }
  let result = 0;
  for (let j = 0; j < N_SUMS; j++) result ^= sums[j]!;
  result = (result ^ blkno) >>> 0;
  return (result % 65535) + 1;
}
