// The WAL segment check gives the same verdict however the segment's bytes are cut:
// pages checked where they lie and pages gathered across chunks alike.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WalSegmentCheck } from './wal-segment-check.js';

const PAGE = 8192;
const SEG = 4 * PAGE;
const SYSID = 7310000000000000001n;
const NAME = '000000010000000000000003'; // segment 3 of timeline 1

/** A segment of four pages of PostgreSQL 15 page headers, the first one long; `zeroFrom` zeroes the pages from there on. */
function segment(zeroFrom = 4): Buffer {
  const seg = Buffer.alloc(SEG);
  for (let p = 0; p < zeroFrom; p++) {
    const o = p * PAGE;
    seg.writeUInt16LE(0xd110, o);
    seg.writeUInt16LE(p === 0 ? 0x0002 : 0, o + 2); // XLP_LONG_HEADER on the first page
    seg.writeUInt32LE(1, o + 4);
    seg.writeUInt32LE(3 * SEG + o, o + 8); // xlp_pageaddr
    seg.writeUInt32LE(0, o + 12);
    if (p === 0) {
      seg.writeBigUInt64LE(SYSID, 24);
      seg.writeUInt32LE(SEG, 32);
      seg.writeUInt32LE(PAGE, 36);
    }
    seg.fill(0x5a, o + 40, o + PAGE); // record bytes: never read
  }
  return seg;
}

function check(seg: Buffer, cut: number): string[] {
  const c = new WalSegmentCheck(NAME, SEG, String(SYSID));
  for (let i = 0; i < seg.length; i += cut) c.push(seg.subarray(i, Math.min(seg.length, i + cut)));
  return c.end();
}

const cuts = [SEG, PAGE, 3, 1000, PAGE - 1, PAGE + 1, 3 * PAGE - 5];

describe('WAL segment check', () => {
  it('passes a sound segment, and one closed early (zeroed tail), in any chunking', () => {
    for (const cut of cuts) {
      assert.deepEqual(check(segment(), cut), [], `cut ${cut}`);
      assert.deepEqual(check(segment(2), cut), [], `cut ${cut}, zeroed tail`);
    }
  });

  it('names the first bad page, in any chunking', () => {
    const seg = segment();
    seg.writeUInt32LE(0, 2 * PAGE + 8); // page 2 claims another address
    for (const cut of cuts)
      assert.deepEqual(
        check(seg, cut),
        ['page 2 (offset 16384): unexpected pageaddr 0/0 (expected 0/1C000)'],
        `cut ${cut}`,
      );
    const other = segment();
    other.writeBigUInt64LE(SYSID + 1n, 24);
    assert.match(check(other, 1000)[0]!, /^page 0 \(offset 0\): WAL file is from a different database system/);
    const gap = segment(2);
    segment().copy(gap, 3 * PAGE, 3 * PAGE); // WAL again after a zeroed page
    assert.deepEqual(check(gap, PAGE + 1), ['page 3 (offset 24576): WAL after zeroed pages from page 2']);
  });

  it('reports a segment of the wrong length', () => {
    const c = new WalSegmentCheck(NAME, SEG, String(SYSID));
    c.push(segment().subarray(0, SEG - 100));
    assert.deepEqual(c.end(), [`is ${SEG - 100} bytes, a segment is ${SEG}`]);
  });
});
