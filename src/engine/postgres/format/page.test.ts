import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { checkChunk, stampChecksums } from './page.js';
import { pageChecksum } from './page-checksum.js';
import { simdChecksum, simdChecksumIn } from './page-checksum-simd.js';
import { allocShared } from '../../../common/io/shared-memory.js';

/** A page with a sane header whose checksum is set the way PostgreSQL sets it. */
function page(blkno: number, lsn: number): Buffer {
  const p = randomBytes(8192);
  p.writeUInt32LE(0, 0);
  p.writeUInt32LE(lsn, 4); // pd_lsn low half
  p.writeUInt16LE(0, 10); // pd_flags
  p.writeUInt16LE(40, 12); // pd_lower
  p.writeUInt16LE(8000, 14); // pd_upper
  p.writeUInt16LE(8192, 16); // pd_special
  p.writeUInt16LE(0x2004, 18);
  p.writeUInt16LE(pageChecksum(p, blkno), 8);
  return p;
}

describe('page checks', () => {
  it('computes the same checksums with SIMD as with the plain code', () => {
    const simd = simdChecksum();
    assert.ok(simd, 'WebAssembly SIMD is available on Node 20');
    const mem = new Uint8Array(simd.memory.buffer);
    for (let i = 0; i < 50; i++) {
      const p = randomBytes(8192); // pd_checksum (bytes 8-9) set: it must count as zero
      mem.set(p, 0);
      assert.equal(simd.cs(0, i * 1000 + 7), pageChecksum(p, i * 1000 + 7));
    }
  });

  it('checks pages in place in a transfer buffer, leaving its bytes as they were', () => {
    const buf = allocShared(1 << 20);
    assert.ok(simdChecksumIn(buf), 'transfer buffers are WebAssembly memory');
    const pages = Array.from({ length: 4 }, (_, i) => page(7 + i, 10));
    pages[2]![100] ^= 0x10;
    const chunk = Buffer.from(buf, 24576, 4 * 8192); // at an offset, as a record's later pages are
    Buffer.concat(pages).copy(chunk);
    const before = Buffer.from(chunk);
    assert.deepEqual(checkChunk(chunk, 7, '100', true).bad, [{ index: 2, problem: 'checksum' }]);
    assert.ok(chunk.equals(before), 'the chunk is unchanged');
  });

  it('finds a flipped byte, a bad header and a transposed page, and skips pages newer than the start', () => {
    const pages = Array.from({ length: 8 }, (_, i) => page(100 + i, 10));
    pages[1]![5000] ^= 0x01; // data damage
    pages[2]!.writeUInt16LE(9000, 16); // pd_special past the page
    pages[3] = page(999, 10); // checksum of another block
    pages[4]![5000] ^= 0x01;
    pages[4]!.writeUInt32LE(500, 4); // but newer than the backup start: not judged
    pages[5] = Buffer.alloc(8192); // a new, all-zero page is valid
    const { bad } = checkChunk(Buffer.concat(pages), 100, '100', true);
    assert.deepEqual(bad, [
      { index: 1, problem: 'checksum' },
      { index: 2, problem: 'header' },
      { index: 3, problem: 'checksum' },
    ]);
  });

  it('compares page LSNs as 64-bit numbers (xlogid, then xrecoff)', () => {
    const pages = Array.from({ length: 4 }, (_, i) => page(10 + i, 0));
    const lsn = (p: Buffer, hi: number, lo: number) => {
      p.writeUInt32LE(hi, 0);
      p.writeUInt32LE(lo, 4);
      p.writeUInt16LE(pageChecksum(p, 10 + pages.indexOf(p)), 8);
    };
    lsn(pages[0]!, 1, 0xffffffff); // 1/FFFFFFFF: older than 2/10
    lsn(pages[1]!, 2, 0x0f); // 2/F: older
    lsn(pages[2]!, 2, 0x10); // 2/10: the start itself, not judged
    lsn(pages[3]!, 3, 0); // 3/0: newer, not judged
    for (const p of pages) p[5000] ^= 0x01; // every page damaged: only the older ones are judged
    const { bad } = checkChunk(Buffer.concat(pages), 10, String((2n << 32n) | 0x10n), true);
    assert.deepEqual(bad, [
      { index: 0, problem: 'checksum' },
      { index: 1, problem: 'checksum' },
    ]);
  });
});

describe('checksums stamped on pages made here (restored from WAL images)', () => {
  it('sets pd_checksum of the marked pages as PostgreSQL computes it, and leaves a new (all-zero) page all zero', () => {
    const chunk = Buffer.alloc(3 * 8192);
    randomBytes(8192).copy(chunk, 0);
    chunk.writeUInt16LE(24, 12); // pd_lower
    chunk.writeUInt16LE(8000, 14); // pd_upper: not a new page
    randomBytes(8192).copy(chunk, 2 * 8192);
    chunk.writeUInt16LE(8000, 2 * 8192 + 14);
    const third = Buffer.from(chunk.subarray(2 * 8192));
    stampChecksums(chunk, [70, 71, 72], Uint8Array.from([1, 1, 0]));
    assert.equal(chunk.readUInt16LE(8), pageChecksum(chunk.subarray(0, 8192), 70));
    assert.ok(chunk.subarray(8192, 2 * 8192).equals(Buffer.alloc(8192)), 'the new page stays all zero');
    assert.ok(chunk.subarray(2 * 8192).equals(third), 'an unmarked page is not touched');
  });
});
