import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BlockSet } from './block-set.js';
import { WAL_FORMATS, walFormatForMagic } from '../format/wal-format.js';

describe('block set', () => {
  it('keeps distinct blocks in order through many compactions', () => {
    const s = new BlockSet(4);
    const want = new Set<number>();
    let x = 12345;
    for (let i = 0; i < 100_000; i++) {
      x = (x * 1103515245 + 12345) >>> 0;
      const b = (x % 5000) + (i % 7 === 0 ? 0xfffffff0 - 5000 : 0);
      s.add(b);
      s.add(b);
      want.add(b);
    }
    assert.deepEqual(
      [...s.toSortedArray()],
      [...want].sort((a, b) => a - b),
    );
    assert.equal(s.size, want.size);
  });

  it('stays small for one hot page', () => {
    const s = new BlockSet();
    for (let i = 0; i < 1_000_000; i++) s.add(i % 2 === 0 ? 7 : 8);
    assert.deepEqual([...s.toSortedArray()], [7, 8]);
  });
});

describe('WAL formats', () => {
  it('knows the page magic and record layout of PostgreSQL 13 to 18, and no other', () => {
    assert.deepEqual(
      WAL_FORMATS.map((f) => [f.major, f.magic]),
      [
        [13, 0xd106],
        [14, 0xd10d],
        [15, 0xd110],
        [16, 0xd113],
        [17, 0xd116],
        [18, 0xd118],
      ],
    );
    assert.equal(walFormatForMagic(0xd110)?.dbaseDrop, 0x20);
    assert.equal(walFormatForMagic(0xd10d)?.bimgApply, 0x04);
    assert.equal(walFormatForMagic(0xd118)?.toplevelXid, true);
    assert.equal(walFormatForMagic(0xd118)?.bimgZstd, 0x10);
    assert.equal(walFormatForMagic(0xd101), undefined); // 12
    assert.equal(walFormatForMagic(0xd120), undefined); // 19 (devel)
  });
});
