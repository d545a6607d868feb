// The archive's gate refuses every file that is not a whole WAL file of this cluster at
// the place its name says, in any chunking, and lets a crashed server's last segment in
// (for salvage only) with its WAL ending where its stale pages begin.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { WalFileCheck, type WalFileExpectations } from './wal-file-check.js';

const PAGE = 8192;
const SEG = 1 << 20; // the smallest segment size initdb allows: 128 pages
const SYSID = '7310000000000000001';
const NAME = '000000020000000000000003'; // segment 3 of timeline 2

/** Segment `segno` of a cluster, pages of PostgreSQL 15 headers on timeline `tli` (records not filled in). */
function segment(segno = 3, tli = 2, sysid = SYSID): Buffer {
  const seg = Buffer.alloc(SEG);
  for (let o = 0; o < SEG; o += PAGE) {
    seg.writeUInt16LE(0xd110, o);
    seg.writeUInt16LE(o === 0 ? 0x0002 : 0, o + 2);
    seg.writeUInt32LE(tli, o + 4);
    seg.writeUInt32LE(segno * SEG + o, o + 8);
    if (o === 0) {
      seg.writeBigUInt64LE(BigInt(sysid), 24);
      seg.writeUInt32LE(SEG, 32);
      seg.writeUInt32LE(PAGE, 36);
    }
  }
  return seg;
}

function verdict(name: string, data: Buffer, expect: WalFileExpectations = { systemId: SYSID }, cut = 100_000) {
  const c = new WalFileCheck(name, expect);
  for (let i = 0; i < data.length; i += cut) c.push(data.subarray(i, Math.min(data.length, i + cut)));
  return c.end();
}

const problem = (v: ReturnType<typeof verdict>) => (v.ok ? 'ok' : v.problem);

describe('WAL file gate of the archive', () => {
  it('passes a whole segment of this cluster, in any chunking, and says whose it is', () => {
    for (const cut of [SEG, PAGE, 7, PAGE + 3, 65_536]) {
      const v = verdict(NAME, segment(), { systemId: SYSID }, cut);
      assert.deepEqual(v, { ok: true, systemId: SYSID, segmentSize: SEG, timeline: 2 }, `cut ${cut}`);
    }
    // with nothing known of the cluster, its own header is taken
    assert.equal(problem(verdict(NAME, segment(), {})), 'ok');
  });

  it('passes every page flag PostgreSQL writes, and PostgreSQL 18 WAL, not 12 or 19', () => {
    const seg = segment();
    seg.writeUInt16LE(0x0004, 20 * PAGE + 2); // XLP_BKP_REMOVABLE (full_page_writes off)
    seg.writeUInt16LE(0x000c, 50 * PAGE + 2); // ... and XLP_FIRST_IS_OVERWRITE_CONTRECORD, after a torn record
    seg.writeUInt16LE(0x0001, 51 * PAGE + 2); // XLP_FIRST_IS_CONTRECORD
    assert.equal(problem(verdict(NAME, seg)), 'ok');
    seg.writeUInt16LE(0x0010, 60 * PAGE + 2);
    assert.equal(problem(verdict(NAME, seg)), 'page 60 (offset 491520): invalid info bits 0x0010');
    const pg18 = segment();
    for (let o = 0; o < SEG; o += PAGE) pg18.writeUInt16LE(0xd118, o);
    assert.equal(problem(verdict(NAME, pg18)), 'ok');
    for (const [magic, major] of [
      [0xd101, 12],
      [0xd120, 19],
    ] as const) {
      const seg = segment();
      for (let o = 0; o < SEG; o += PAGE) seg.writeUInt16LE(magic, o);
      const want = `is not WAL of PostgreSQL 13 to 18 (first page magic 0x${magic.toString(16)})`;
      assert.equal(problem(verdict(NAME, seg)), want, `PostgreSQL ${major}`);
    }
  });

  it("refuses random bytes, zeros, an empty file, a cut file, another cluster's and a misnamed segment", () => {
    assert.match(problem(verdict(NAME, randomBytes(SEG))), /^is not WAL of PostgreSQL 13 to 18 \(first page magic 0x/);
    assert.match(
      problem(verdict(NAME, Buffer.alloc(SEG))),
      /^is not WAL of PostgreSQL 13 to 18 \(first page magic 0x0\)/,
    );
    assert.equal(problem(verdict(NAME, Buffer.alloc(0))), 'is empty');
    assert.equal(
      problem(verdict(NAME, segment().subarray(0, SEG - PAGE))),
      `is ${SEG - PAGE} bytes, a segment is ${SEG}`,
    );
    assert.equal(problem(verdict(NAME, segment().subarray(0, 100))), 'is 100 bytes, shorter than one WAL page');
    assert.equal(
      problem(verdict(NAME, segment(3, 2, '7310000000000000999'))),
      `is from database system 7310000000000000999, not this cluster's (${SYSID})`,
    );
    assert.match(
      problem(verdict('000000020000000000000004', segment())),
      /^page 0: unexpected pageaddr 0\/300000 \(expected 0\/400000\)/,
    );
    assert.equal(problem(verdict('000000010000000000000003', segment())), 'page 0 is of timeline 2, the name says 1');
    assert.equal(
      problem(verdict(NAME, segment(), { systemId: SYSID, segmentSize: 16 << 20 })),
      `its segment size is ${SEG}, this cluster's is ${16 << 20}`,
    );
    const late = segment();
    late.writeUInt32LE(0, 100 * PAGE + 8); // a page further in that is not where it sits
    assert.equal(problem(verdict(NAME, late)), 'page 100 (offset 819200): unexpected pageaddr 0/0 (expected 0/3C8000)');
  });

  it('salvage: a segment written to a point in a recycled file ends its WAL at the first stale page', () => {
    const seg = segment();
    segment(1).copy(seg, 40 * PAGE, 40 * PAGE); // pages 40.. left from segment 1 when the file was recycled
    assert.match(problem(verdict(NAME, seg)), /^page 40 /, 'log archive refuses it');
    assert.deepEqual(verdict(NAME, seg, { systemId: SYSID, salvage: true }), {
      ok: true,
      systemId: SYSID,
      segmentSize: SEG,
      timeline: 2,
      validBytes: 40 * PAGE,
    });
    // even for salvage, a first page that is not this segment's is not WAL of it
    assert.match(
      problem(verdict(NAME, segment(1), { systemId: SYSID, salvage: true })),
      /^page 0: unexpected pageaddr/,
    );
  });

  it('checks a .partial file by its first page and size only', () => {
    const seg = segment();
    seg.fill(0xee, 10 * PAGE); // after the switch point: anything
    assert.equal(problem(verdict(`${NAME}.partial`, seg)), 'ok');
    assert.match(problem(verdict(`${NAME}.partial`, segment(3, 2, '1'))), /from database system 1/);
  });

  it('parses history and backup history files', () => {
    const history = Buffer.from('1\t0/3000158\tno recovery target specified\n');
    assert.deepEqual(verdict('00000002.history', history), { ok: true, timeline: 2 });
    assert.equal(problem(verdict('00000002.history', Buffer.alloc(0))), 'is empty');
    assert.match(problem(verdict('00000002.history', randomBytes(200))), /^is not a timeline history: /);
    assert.match(
      problem(verdict('00000002.history', Buffer.from('2\t0/3000158\tloop\n'))),
      /lists timeline 2, which is not older than 2/,
    );
    assert.match(
      problem(verdict('00000003.history', Buffer.from('1\t0/5000000\tx\n2\t0/3000000\ty\n'))),
      /switch point 0\/3000000 is before/,
    );
    const label =
      'START WAL LOCATION: 0/3000028 (file 000000020000000000000003)\nSTOP WAL LOCATION: 0/3000100 (file 000000020000000000000003)\nCHECKPOINT LOCATION: 0/3000060\n';
    assert.equal(
      problem(verdict('000000020000000000000003.00000028.backup', Buffer.from(label), { segmentSize: 16 << 20 })),
      'ok',
    );
    assert.match(
      problem(verdict('000000020000000000000004.00000028.backup', Buffer.from(label))),
      /says it starts in 000000020000000000000003/,
    );
    assert.match(
      problem(verdict('000000020000000000000003.00000028.backup', randomBytes(300))),
      /not a backup history file/,
    );
  });
});
