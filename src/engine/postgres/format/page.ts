// PostgreSQL data pages: header sanity (as PageIsVerifiedExtended checks it) and the
// data checksum (page-checksum.ts, or its SIMD twin page-checksum-simd.ts). Pages are
// read-only here: the checksum field is skipped, never zeroed in place.

import { pageChecksum } from './page-checksum.js';
import { simdChecksum, simdChecksumIn } from './page-checksum-simd.js';
import { PAGE_SIZE } from './page-size.js';

export const RELSEG_BLOCKS = 131072; // blocks per 1 GiB segment file at 8 KiB pages
const PD_VALID_FLAG_BITS = 0x0007;
const SIZE_OF_PAGE_HEADER = 24;

export function pageLsn(page: Uint8Array, offset = 0): bigint {
  const dv = new DataView(page.buffer, page.byteOffset + offset, 8);
  return (BigInt(dv.getUint32(0, true)) << 32n) | BigInt(dv.getUint32(4, true));
}

const ZEROS = Buffer.alloc(PAGE_SIZE);

/** True when every byte is zero (a memcmp against zeros, a page at a time). */
export function isAllZero(page: Uint8Array): boolean {
  const b = Buffer.from(page.buffer, page.byteOffset, page.byteLength);
  for (let i = 0; i < b.length; i += ZEROS.length) {
    const n = Math.min(ZEROS.length, b.length - i);
    if (ZEROS.compare(b, i, i + n, 0, n) !== 0) return false;
  }
  return true;
}

export type PageProblem = 'header' | 'checksum';

/** How a bad page's problem is worded wherever it is reported: a backup's warning, a verify's finding. */
export function pageProblemText(problem: PageProblem): string {
  return problem === 'checksum' ? 'checksum mismatch' : 'header is not valid';
}

/** Why a page is not valid, or undefined when it is (a new all-zero page is valid). */
export function checkPage(page: Uint8Array, blkno: number, checksums: boolean): PageProblem | undefined {
  const dv = new DataView(page.buffer, page.byteOffset, page.byteLength);
  if (!headerSane(dv, 0, page.byteLength)) {
    // PageIsNew (pd_upper == 0) pages must be all zeroes to be valid
    return isAllZero(page) ? undefined : 'header';
  }
  if (checksums && dv.getUint16(8, true) !== pageChecksum(page, blkno)) return 'checksum';
  return undefined;
}

/** The page header at `off` of `dv` is sane, as PageIsVerifiedExtended requires of a page that is not new. */
function headerSane(dv: DataView, off: number, pageSize: number): boolean {
  const flags = dv.getUint16(off + 10, true);
  const lower = dv.getUint16(off + 12, true);
  const upper = dv.getUint16(off + 14, true);
  const special = dv.getUint16(off + 16, true);
  return (
    (flags & ~PD_VALID_FLAG_BITS) === 0 &&
    lower >= SIZE_OF_PAGE_HEADER &&
    lower <= upper &&
    upper <= special &&
    special <= pageSize &&
    special % 8 === 0
  );
}

/**
 * Checks every page of a chunk: read at block `blocks` (consecutive pages), or holding the
 * blocks `blocks` lists, one per page (scattered pages). Pages with an LSN at or after
 * `startLsn` are not judged: they change during the backup and WAL replay rewrites them.
 * Returns the chunk and the failed pages. Checksums are computed with WebAssembly SIMD
 * (about 3× the plain version): in place when the chunk lives in a transfer buffer, on a
 * copy otherwise. Runs once per page of every backup and verify: it reads the chunk
 * through one DataView and allocates nothing per good page.
 */
export function checkChunk(
  chunk: Uint8Array,
  blocks: number | ArrayLike<number>,
  startLsn: string,
  checksums: boolean,
): { chunk: Uint8Array; bad: { index: number; problem: PageProblem }[] } {
  const start = BigInt(startLsn);
  // pd_lsn is two uint32 (xlogid, xrecoff): compared as such, without a BigInt per page
  const startHi = Number(start >> 32n);
  const startLo = Number(start & 0xffffffffn);
  const bad: { index: number; problem: PageProblem }[] = [];
  const cs = checksums ? simdOver(chunk) : undefined;
  const dv = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  for (let p = 0, i = 0; p + PAGE_SIZE <= chunk.byteLength; p += PAGE_SIZE, i++) {
    const hi = dv.getUint32(p, true);
    if (hi > startHi || (hi === startHi && dv.getUint32(p + 4, true) >= startLo)) continue;
    let problem: PageProblem | undefined;
    if (!headerSane(dv, p, PAGE_SIZE)) {
      if (!isAllZero(chunk.subarray(p, p + PAGE_SIZE))) problem = 'header';
    } else if (cs) {
      if (cs.at(cs.base + p, typeof blocks === 'number' ? blocks + i : blocks[i]!) !== dv.getUint16(p + 8, true))
        problem = 'checksum';
    } else if (
      checksums &&
      dv.getUint16(p + 8, true) !==
        pageChecksum(chunk.subarray(p, p + PAGE_SIZE), typeof blocks === 'number' ? blocks + i : blocks[i]!)
    ) {
      problem = 'checksum';
    }
    if (problem) bad.push({ index: i, problem });
  }
  return { chunk, bad };
}

/** PageIsNew: pd_upper is 0 (a page never initialized: valid only all zero). */
export function pageIsNew(dv: DataView, off = 0): boolean {
  return dv.getUint16(off + 14, true) === 0;
}

/**
 * Sets pd_checksum of the pages of `chunk` marked in `which` (page i: block `blocks[i]`),
 * as PostgreSQL does when it writes a page out (pages made here: restored from WAL images);
 * a new page (pd_upper 0) keeps none, as PageSetChecksumInplace leaves it.
 */
export function stampChecksums(chunk: Uint8Array, blocks: ArrayLike<number>, which: Uint8Array): void {
  const cs = simdOver(chunk);
  const dv = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  for (let i = 0, p = 0; p + PAGE_SIZE <= chunk.byteLength; i++, p += PAGE_SIZE) {
    if (!which[i] || pageIsNew(dv, p)) continue;
    dv.setUint16(
      p + 8,
      cs ? cs.at(cs.base + p, blocks[i]!) : pageChecksum(chunk.subarray(p, p + PAGE_SIZE), blocks[i]!),
      true,
    );
  }
}

/** The SIMD checksum over `chunk`'s pages (at `base` + page offset): in place in a transfer buffer, else on a copy; undefined without SIMD. */
function simdOver(chunk: Uint8Array): { at: (offset: number, blkno: number) => number; base: number } | undefined {
  const inPlace = simdChecksumIn(chunk.buffer);
  if (inPlace) return { at: inPlace, base: chunk.byteOffset };
  const simd = simdChecksum();
  if (!simd) return undefined;
  const need = chunk.byteLength - simd.memory.buffer.byteLength;
  if (need > 0) simd.memory.grow(Math.ceil(need / 65536));
  new Uint8Array(simd.memory.buffer, 0, chunk.byteLength).set(chunk);
  return { at: simd.cs, base: 0 };
}
