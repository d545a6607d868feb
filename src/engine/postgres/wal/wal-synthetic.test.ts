// The WAL reader and decoder on WAL written here byte by byte: the layouts of the versions
// no server on this machine produces (13, 14: bimg_info bits, dbase codes, no top-level
// xid), and the reader's rare paths (a record longer than a segment, a start inside a
// record spanning pages, an overwritten contrecord, XLOG_SWITCH, a recycled tail).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CRC32C_INIT, crc32cFinish, crc32cUpdate } from '../../../common/io/crc32c.js';
import { BlockRefCollector } from './block-ref-collector.js';
import { walFormatForMajor, type WalFormat } from '../format/wal-format.js';
import { decodeRecord, DecodedRecord, imageApplies, imageCompression } from './wal-record.js';

const PAGE = 8192;
const SEG = 4 * PAGE; // a small segment: four pages

/** Writes WAL the way XLogInsert lays it out: page headers, records MAXALIGNed, continuations flagged. */
class WalWriter {
  readonly segments: Buffer[] = [];
  pos = 0;
  private prev = 0;
  constructor(
    readonly format: WalFormat,
    readonly firstSegment = 1,
  ) {
    this.pos = firstSegment * SEG;
  }

  /** Appends a record with this body (block headers, block data, main data); returns its LSN. */
  record(rmid: number, info: number, body: Buffer, xid = 700): number {
    this.pos = (this.pos + 7) & ~7;
    if (this.pos % PAGE === 0) this.pageHeader(0, 0);
    const lsn = this.pos;
    const rec = Buffer.alloc(24 + body.length);
    rec.writeUInt32LE(rec.length, 0);
    rec.writeUInt32LE(xid, 4);
    rec.writeUInt32LE(this.prev % 0x100000000, 8);
    rec.writeUInt32LE(Math.floor(this.prev / 0x100000000), 12);
    rec[16] = info;
    rec[17] = rmid;
    body.copy(rec, 24);
    rec.writeUInt32LE(crc32cFinish(crc32cUpdate(crc32cUpdate(CRC32C_INIT, rec, 24, rec.length), rec, 0, 20)), 20);
    this.write(rec);
    this.prev = lsn;
    return lsn;
  }

  /** The first part of a record that is never finished (a crash), then a page that overwrites the rest. */
  brokenRecord(totLen: number): void {
    this.pos = (this.pos + 7) & ~7;
    const head = Buffer.alloc(PAGE - (this.pos % PAGE));
    head.writeUInt32LE(totLen, 0);
    head.writeUInt32LE(this.prev % 0x100000000, 8);
    head.writeUInt32LE(Math.floor(this.prev / 0x100000000), 12);
    head[17] = 10; // a sane header: the reader checks it before the rest arrives
    this.bytes(head);
    this.pageHeader(0x0008, 0); // XLP_FIRST_IS_OVERWRITE_CONTRECORD
  }

  private write(rec: Buffer): void {
    let done = 0;
    while (done < rec.length) {
      if (this.pos % PAGE === 0) this.pageHeader(0x0001, rec.length - done); // XLP_FIRST_IS_CONTRECORD
      const n = Math.min(rec.length - done, PAGE - (this.pos % PAGE));
      this.bytes(rec.subarray(done, done + n));
      done += n;
    }
  }

  private pageHeader(flags: number, remLen: number): void {
    const long = this.pos % SEG === 0;
    const h = Buffer.alloc(long ? 40 : 24);
    h.writeUInt16LE(this.format.magic, 0);
    h.writeUInt16LE(flags | (long ? 0x0002 : 0), 2);
    h.writeUInt32LE(1, 4);
    h.writeUInt32LE(this.pos % 0x100000000, 8);
    h.writeUInt32LE(Math.floor(this.pos / 0x100000000), 12);
    h.writeUInt32LE(remLen, 16);
    if (long) {
      h.writeBigUInt64LE(7000000000000000001n, 24);
      h.writeUInt32LE(SEG, 32);
      h.writeUInt32LE(PAGE, 36);
    }
    this.bytes(h);
  }

  private bytes(b: Buffer): void {
    const k = Math.floor(this.pos / SEG) - this.firstSegment;
    while (this.segments.length <= k) this.segments.push(Buffer.alloc(SEG));
    b.copy(this.segments[k]!, this.pos % SEG);
    this.pos += b.length;
  }
}

interface Block {
  id: number;
  fork?: number;
  rel?: [number, number, number];
  blk: number;
  data?: number;
  image?: { len: number; holeOffset: number; info: number; holeLength?: number; bytes?: Buffer };
}

/** A record body: block headers, XLR_BLOCK_ID_DATA_SHORT/LONG, then block images and data, then main data. */
function body(blocks: Block[], main: Buffer, extraHeaders: Buffer = Buffer.alloc(0)): Buffer {
  const heads: Buffer[] = [extraHeaders];
  const payload: Buffer[] = [];
  for (const b of blocks) {
    const h = Buffer.alloc(4 + (b.image ? 5 + (b.image.holeLength !== undefined ? 2 : 0) : 0) + (b.rel ? 12 : 0) + 4);
    let p = 0;
    h[p++] = b.id;
    h[p++] = (b.fork ?? 0) | (b.image ? 0x10 : 0) | (b.data ? 0x20 : 0) | (b.rel ? 0 : 0x80);
    h.writeUInt16LE(b.data ?? 0, p);
    p += 2;
    if (b.image) {
      h.writeUInt16LE(b.image.len, p);
      h.writeUInt16LE(b.image.holeOffset, p + 2);
      h[p + 4] = b.image.info;
      p += 5;
      if (b.image.holeLength !== undefined) {
        h.writeUInt16LE(b.image.holeLength, p);
        p += 2;
      }
      payload.push(b.image.bytes ?? Buffer.alloc(b.image.len, 0x5a));
    }
    if (b.rel) {
      b.rel.forEach((v, k) => h.writeUInt32LE(v, p + k * 4));
      p += 12;
    }
    h.writeUInt32LE(b.blk, p);
    heads.push(h.subarray(0, p + 4));
    if (b.data) payload.push(Buffer.alloc(b.data, 0x33));
  }
  const dh =
    main.length < 256 ? Buffer.from([255, main.length]) : Buffer.concat([Buffer.from([254]), u32(main.length)]);
  return Buffer.concat([...heads, ...(main.length > 0 ? [dh] : []), ...payload, main]);
}

const u32 = (...v: number[]) =>
  Buffer.concat(
    v.map((x) => {
      const b = Buffer.alloc(4);
      b.writeUInt32LE(x >>> 0);
      return b;
    }),
  );
const decode = (w: WalWriter, lsn: number, format: WalFormat) => {
  const seg = w.segments[Math.floor(lsn / SEG) - 1]!;
  const rec = new DecodedRecord();
  const err = decodeRecord(
    seg,
    new DataView(seg.buffer, seg.byteOffset, seg.length),
    lsn % SEG,
    lsn,
    format,
    PAGE,
    rec,
  );
  return { rec, err };
};

describe('decoder: version differences', () => {
  const pg13 = walFormatForMajor(13)!,
    pg14 = walFormatForMajor(14)!,
    pg15 = walFormatForMajor(15)!;

  it('reads bimg_info of 13/14 (IS_COMPRESSED 0x02, APPLY 0x04) and of 15+ (APPLY 0x02, pglz/lz4/zstd)', () => {
    const w14 = new WalWriter(pg14);
    const a = w14.record(
      10,
      0,
      body(
        [
          {
            id: 0,
            rel: [1663, 5, 16384],
            blk: 7,
            image: { len: 300, holeOffset: 40, info: 0x01 | 0x02 | 0x04, holeLength: 7000 },
          },
          { id: 1, blk: 8, image: { len: PAGE - 100, holeOffset: 60, info: 0x01 } }, // plain image with a hole, not applied
        ],
        Buffer.from([1, 2, 3]),
      ),
    );
    const { rec, err } = decode(w14, a, pg14);
    assert.equal(err, undefined);
    assert.equal(rec.blockCount, 2);
    assert.deepEqual(
      [imageCompression(rec, 0, pg14), imageApplies(rec, 0, pg14), rec.holeLength[0]],
      ['pglz', true, 7000],
    );
    assert.deepEqual(
      [imageCompression(rec, 1, pg14), imageApplies(rec, 1, pg14), rec.holeLength[1], rec.relNumber[1]],
      ['none', false, 100, 16384],
    );
    const w15 = new WalWriter(pg15);
    const b = w15.record(
      10,
      0,
      body(
        [
          {
            id: 0,
            rel: [1663, 5, 16384],
            blk: 1,
            image: { len: 500, holeOffset: 40, info: 0x01 | 0x02 | 0x10, holeLength: 6000 },
          },
        ],
        Buffer.alloc(0),
      ),
    );
    const d = decode(w15, b, pg15);
    assert.deepEqual(
      [
        d.err,
        imageCompression(d.rec, 0, pg15),
        imageApplies(d.rec, 0, pg15),
        d.rec.holeLength[0],
        d.rec.mainDataLength,
      ],
      [undefined, 'zstd', true, 6000, 0],
    );
  });

  it('takes XLR_BLOCK_ID_TOPLEVEL_XID from 14 on, and refuses it in 13', () => {
    const extra = Buffer.concat([Buffer.from([252]), u32(4242)]);
    for (const [format, ok] of [
      [pg13, false],
      [pg14, true],
    ] as const) {
      const w = new WalWriter(format);
      const lsn = w.record(10, 0, body([{ id: 0, rel: [1663, 5, 1], blk: 0, data: 10 }], Buffer.from('main'), extra));
      const { rec, err } = decode(w, lsn, format);
      if (ok) assert.deepEqual([err, rec.toplevelXid, rec.blockCount], [undefined, 4242, 1]);
      else assert.match(err ?? '', /invalid block_id 252/);
    }
  });

  it('finds database create and drop under the codes of 13/14 and of 15+', () => {
    const events = (format: WalFormat, records: [number, Buffer][]) => {
      const w = new WalWriter(format);
      for (const [info, main] of records) w.record(4, info, body([], main));
      w.record(0, 0x40, Buffer.alloc(0)); // XLOG_SWITCH
      const c = new BlockRefCollector({ startLsn: BigInt(SEG), endLsn: BigInt(w.pos), format });
      for (const s of w.segments) c.push(s);
      return c.finish();
    };
    const old = events(pg13, [
      [0x00, u32(16400, 1663, 1, 1663)],
      [0x10, u32(16400, 2, 1663, 16500)],
    ]);
    assert.equal(old.complete, true, old.stop.message);
    assert.deepEqual(
      old.databasesCreated.map((e) => [e.strategy, e.dbId, e.srcDbId]),
      [['file_copy', 16400, 1]],
    );
    assert.deepEqual(
      old.databasesDropped.map((e) => [e.dbId, e.tablespaceIds]),
      [[16400, [1663, 16500]]],
    );
    const now = events(pg15, [
      [0x10, u32(16401, 1663)],
      [0x20, u32(16401, 1, 1663)],
    ]);
    assert.deepEqual(
      now.databasesCreated.map((e) => [e.strategy, e.dbId]),
      [['wal_log', 16401]],
    );
    assert.deepEqual(
      now.databasesDropped.map((e) => [e.dbId, e.tablespaceIds]),
      [[16401, [1663]]],
    );
  });
});

describe('reader: rare paths', () => {
  const pg15 = walFormatForMajor(15)!;
  const collect = (w: WalWriter, start: number, end: number, segments = w.segments) => {
    const lsns: number[] = [];
    const c = new BlockRefCollector({
      startLsn: BigInt(start),
      endLsn: BigInt(end),
      onRecord: (r) => lsns.push(r.lsn),
    });
    for (const s of segments) c.push(s);
    return { ...c.finish(), lsns };
  };

  it('follows a record longer than a segment, and starts inside a record spanning pages', () => {
    const w = new WalWriter(pg15);
    const a = w.record(21, 0, body([], Buffer.alloc(100)));
    const big = w.record(21, 0, body([{ id: 0, rel: [1663, 5, 9], blk: 3, data: 60000 }], Buffer.alloc(2 * SEG)));
    const c = w.record(10, 0, body([{ id: 0, rel: [1663, 5, 9], blk: 4, data: 8 }], Buffer.alloc(4)));
    w.record(0, 0x40, Buffer.alloc(0));
    const all = collect(w, a, w.pos);
    assert.equal(all.complete, true, all.stop.message);
    assert.deepEqual(all.lsns.slice(0, 3), [a, big, c]);
    assert.deepEqual([...all.relations.get('1663/5/9')!.forks.get(0)!], [3, 4]);
    const mid = collect(w, big + 3 * PAGE + 100, w.pos); // inside the big record, pages after its start
    assert.equal(mid.lsns[0], c);
    assert.deepEqual([...mid.relations.get('1663/5/9')!.forks.get(0)!], [4]);
  });

  it('drops a record cut by a crash when the next page says XLP_FIRST_IS_OVERWRITE_CONTRECORD', () => {
    const w = new WalWriter(pg15);
    const a = w.record(10, 0, body([{ id: 0, rel: [1663, 5, 9], blk: 1, data: 8 }], Buffer.alloc(4)));
    w.brokenRecord(20000);
    const b = w.record(0, 0xd0, Buffer.concat([Buffer.from([255, 16]), Buffer.alloc(16)])); // XLOG_OVERWRITE_CONTRECORD
    const c = w.record(10, 0, body([{ id: 0, rel: [1663, 5, 9], blk: 2, data: 8 }], Buffer.alloc(4)));
    const r = collect(w, a, c + 1);
    assert.equal(r.complete, true, r.stop.message);
    assert.deepEqual(r.lsns, [a, b, c]);
  });

  it('skips the rest of a segment after XLOG_SWITCH and stops at a recycled or zeroed tail', () => {
    const w = new WalWriter(pg15);
    const a = w.record(10, 0, body([{ id: 0, rel: [1663, 5, 9], blk: 1, data: 8 }], Buffer.alloc(4)));
    const sw = w.record(0, 0x40, Buffer.alloc(0));
    w.pos = 2 * SEG;
    const b = w.record(10, 0, body([{ id: 0, rel: [1663, 5, 9], blk: 2, data: 8 }], Buffer.alloc(4)));
    w.segments[0]!.fill(0xee, PAGE, 2 * PAGE); // garbage after the switch: never read
    const zeroTail = collect(w, a, 3 * SEG + 5000, w.segments);
    assert.deepEqual(zeroTail.lsns, [a, sw, b]);
    assert.deepEqual([zeroTail.complete, zeroTail.stop.reason, zeroTail.stop.code], [false, 'end-of-wal', 'TRUNCATED']);
    assert.equal(zeroTail.stoppedAt, BigInt(b + 64)); // 24 + 20 block header + 2 data header + 8 + 4, MAXALIGNed
    // a recycled segment: the next page still carries its old address
    w.segments[1]!.writeUInt32LE(0x100, PAGE + 8);
    w.segments[1]!.writeUInt16LE(pg15.magic, PAGE);
    const recycled = collect(w, a, 3 * SEG, w.segments);
    assert.deepEqual([recycled.stop.reason, recycled.lsns.length], ['end-of-wal', 3]);
  });

  it('stops with a CRC error at a changed byte and with a FORMAT error on another version', () => {
    const w = new WalWriter(pg15);
    const a = w.record(10, 0, body([{ id: 0, rel: [1663, 5, 9], blk: 1, data: 8 }], Buffer.alloc(4)));
    const b = w.record(10, 0, body([{ id: 0, rel: [1663, 5, 9], blk: 2, data: 8 }], Buffer.alloc(4)));
    w.segments[0]![(b % SEG) + 30] ^= 1;
    const r = collect(w, a, w.pos + 1);
    assert.deepEqual([r.lsns, r.stop.reason, r.stop.code, r.stoppedAt], [[a], 'bad-crc', 'CHECKSUM', BigInt(b)]);
    const pg19 = new WalWriter({ ...pg15, magic: 0xd120 });
    pg19.record(10, 0, body([], Buffer.alloc(4)));
    const v = collect(pg19, SEG, pg19.pos + 1);
    assert.deepEqual([v.stop.reason, v.stop.code], ['bad-page', 'FORMAT']);
    assert.match(v.stop.message, /page magic 0xd120 is not PostgreSQL 13 to 18$/);
  });

  it('reads PostgreSQL 18 records as 15-17 ones', () => {
    const w = new WalWriter(walFormatForMajor(18)!);
    const a = w.record(10, 0, body([{ id: 0, rel: [1663, 5, 9], blk: 1, data: 8 }], Buffer.alloc(4)));
    const b = w.record(10, 0, body([{ id: 0, rel: [1663, 5, 9], blk: 2, data: 8 }], Buffer.alloc(4)));
    const r = collect(w, a, w.pos);
    assert.equal(r.complete, true, r.stop.message);
    assert.deepEqual(r.lsns, [a, b]);
    assert.deepEqual([...r.relations.get('1663/5/9')!.forks.get(0)!], [1, 2]);
  });
});

describe('pages kept from full-page images (a level 1 takes them instead of reading them)', () => {
  const pg15 = walFormatForMajor(15)!;
  const REL: [number, number, number] = [1663, 5, 16384];
  const OTHER: [number, number, number] = [1663, 5, 16385];
  /** an image as XLogRecordAssemble writes it: the page without its hole (pd_lower..pd_upper) */
  const imageOf = (page: Buffer, holeOffset: number, holeLength: number) =>
    Buffer.concat([page.subarray(0, holeOffset), page.subarray(holeOffset + holeLength)]);
  const page = (seed: number) => {
    const p = Buffer.alloc(PAGE);
    for (let i = 0; i < PAGE; i++) p[i] = (i * 7 + seed) & 0xff;
    return p;
  };
  const fpi = (rel: [number, number, number], blk: number, p: Buffer, info = 0x01 | 0x02, fork = 0): Block => ({
    id: 0,
    rel,
    blk,
    fork,
    image: { len: PAGE - 1000, holeOffset: 200, info, bytes: imageOf(p, 200, 1000) },
  });
  const plain = (rel: [number, number, number], blk: number): Block => ({ id: 0, rel, blk, data: 8 });
  const kept = (w: WalWriter, start: number, keep = 100) => {
    w.record(0, 0x40, Buffer.alloc(0)); // XLOG_SWITCH: the segment ends
    const c = new BlockRefCollector({ startLsn: BigInt(start), endLsn: BigInt(w.pos), keepImages: keep });
    for (const s of w.segments) c.push(s);
    const r = c.finish();
    assert.equal(r.complete, true, r.stop.message);
    const pages = new Map<string, Buffer>();
    for (const rel of r.images!.relations) {
      rel.blocks.forEach((b, k) => {
        const slot = rel.slots[k]!;
        const chunk = Buffer.from(r.images!.chunks[Math.floor(slot / r.images!.chunkPages)]!);
        const at = (slot % r.images!.chunkPages) * PAGE;
        pages.set(`${rel.relNumber}/${b}`, chunk.subarray(at, at + PAGE));
      });
    }
    return pages;
  };
  const lsnOf = (p: Buffer) => p.readUInt32LE(0) * 0x100000000 + p.readUInt32LE(4);

  it('restores the page as replay does: the hole zero-filled, pd_lsn the end of the record', () => {
    const w = new WalWriter(pg15);
    const p = page(3);
    const a = w.record(10, 0, body([fpi(REL, 7, p)], Buffer.alloc(4)));
    const next = w.record(10, 0, body([plain(OTHER, 1)], Buffer.alloc(4)));
    const got = kept(w, a).get('16384/7')!;
    const want = Buffer.from(p);
    want.fill(0, 200, 1200);
    assert.ok(got.subarray(8).equals(want.subarray(8)), 'page content after pd_lsn');
    assert.equal(lsnOf(got), next, 'pd_lsn: where the next record starts');
  });

  it('keeps a page only while its image is the last reference to the block', () => {
    const w = new WalWriter(pg15);
    const a = w.record(10, 0, body([fpi(REL, 1, page(1))], Buffer.alloc(4)));
    w.record(10, 0, body([fpi(REL, 2, page(2))], Buffer.alloc(4)));
    w.record(10, 0, body([plain(REL, 1)], Buffer.alloc(4))); // block 1 changed again, no image
    w.record(10, 0, body([fpi(REL, 2, page(9))], Buffer.alloc(4))); // block 2: a newer image
    const pages = kept(w, a);
    assert.deepEqual([...pages.keys()], ['16384/2']);
    assert.equal(pages.get('16384/2')![2000], page(9)[2000]);
  });

  it('leaves a new (all-zero) page all zero: no pd_lsn, as replay leaves it', () => {
    const w = new WalWriter(pg15);
    const a = w.record(
      11,
      0,
      body(
        [
          {
            id: 0,
            rel: REL,
            blk: 4,
            image: { len: PAGE, holeOffset: 0, info: pg15.bimgApply, bytes: Buffer.alloc(PAGE) },
          },
        ],
        Buffer.alloc(4),
      ),
    );
    w.record(10, 0, body([plain(OTHER, 1)], Buffer.alloc(4)));
    const got = kept(w, a).get('16384/4')!;
    assert.ok(got.equals(Buffer.alloc(PAGE)), 'all zero');
  });

  it('keeps no compressed image, none replay does not apply, none of another fork', () => {
    const w = new WalWriter(pg15);
    const a = w.record(
      10,
      0,
      body(
        [{ id: 0, rel: REL, blk: 1, image: { len: 500, holeOffset: 40, info: 0x01 | 0x02 | 0x10, holeLength: 6000 } }],
        Buffer.alloc(4),
      ),
    );
    w.record(10, 0, body([fpi(REL, 2, page(2), 0x01)], Buffer.alloc(4))); // no BKPIMAGE_APPLY: wal_consistency_checking's
    w.record(10, 0, body([fpi(REL, 3, page(3), 0x01 | 0x02, 2)], Buffer.alloc(4))); // visibility map
    assert.equal(kept(w, a).size, 0);
  });

  it("lets go of a relation's pages when it is truncated, created again or dropped, and keeps the others", () => {
    const smgr = (info: number, main: Buffer) => w.record(2, info, body([], main));
    const w = new WalWriter(pg15);
    const a = w.record(10, 0, body([fpi(REL, 1, page(1))], Buffer.alloc(4)));
    w.record(10, 0, body([fpi(OTHER, 1, page(2))], Buffer.alloc(4)));
    smgr(0x20, u32(0, ...REL, 7)); // XLOG_SMGR_TRUNCATE to 0 blocks
    assert.deepEqual([...kept(w, a).keys()], ['16385/1']);
    const w2 = new WalWriter(pg15);
    const b = w2.record(10, 0, body([fpi(REL, 1, page(1))], Buffer.alloc(4)));
    w2.record(2, 0x10, body([], u32(...REL, 0))); // XLOG_SMGR_CREATE (a relfilenode used again)
    assert.equal(kept(w2, b).size, 0);
  });

  it("reads 13/14's image bits: APPLY 0x04 kept, IS_COMPRESSED 0x02 not", () => {
    const pg14 = walFormatForMajor(14)!;
    const w = new WalWriter(pg14);
    const a = w.record(10, 0, body([fpi(REL, 1, page(1), 0x01 | 0x04)], Buffer.alloc(4)));
    w.record(
      10,
      0,
      body(
        [{ id: 0, rel: REL, blk: 2, image: { len: 500, holeOffset: 40, info: 0x01 | 0x02 | 0x04, holeLength: 6000 } }],
        Buffer.alloc(4),
      ),
    );
    w.record(10, 0, body([fpi(REL, 3, page(3), 0x01)], Buffer.alloc(4))); // no APPLY bit: not applied
    const pages = kept(w, a);
    assert.deepEqual([...pages.keys()], ['16384/1']);
    assert.equal(pages.get('16384/1')![2000], page(1)[2000]);
  });

  it('keeps at most as many pages as asked, and none for a block it cannot keep', () => {
    const w = new WalWriter(pg15);
    const a = w.record(10, 0, body([fpi(REL, 1, page(1))], Buffer.alloc(4)));
    w.record(10, 0, body([fpi(REL, 2, page(2))], Buffer.alloc(4)));
    w.record(10, 0, body([fpi(REL, 1, page(5))], Buffer.alloc(4))); // the kept block's newer image takes its place
    const pages = kept(w, a, 1);
    assert.deepEqual([...pages.keys()], ['16384/1']);
    assert.equal(pages.get('16384/1')![2000], page(5)[2000]);
  });
});
