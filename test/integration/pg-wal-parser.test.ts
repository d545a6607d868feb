// The WAL parser against a real PostgreSQL and its own pg_waldump: a varied workload
// (DML, VACUUM truncation, indexes of every access method, TOAST, compressed and plain
// full-page images, CREATE DATABASE with both strategies, DROP DATABASE, SET TABLESPACE,
// dropped, rolled-back and prepared relations), then every block reference and every
// special event the parser reports must equal what pg_waldump prints. A flipped byte
// must stop it with a CRC error at that record; a missing segment must leave it incomplete.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { formatLsn, parseWalFileName, type Lsn } from '../../src/engine/postgres/format/lsn.js';
import { readControlFile } from '../../src/engine/postgres/format/control-file.js';
import type { SandboxCluster } from '../../src/engine/postgres/server/sandbox.js';
import { BlockRefCollector, type WalChanges } from '../../src/engine/postgres/wal/block-ref-collector.js';
import { WalChangesReading } from '../../src/engine/postgres/wal/wal-changes.js';
import { changedBlocksFromFiles, segmentPaths } from '../../src/engine/postgres/wal/changed-blocks.js';
import type { WalFormat } from '../../src/engine/postgres/format/wal-format.js';
import { FORK_NAMES } from '../../src/engine/postgres/format/relation-path.js';
import { imageApplies, imageCompression, type DecodedRecord } from '../../src/engine/postgres/wal/wal-record.js';
import { tempDir } from '../harness/cli.js';
import { removeEnv } from '../harness/pg.js';
import { runWalWorkload, walWorkloadCluster } from '../harness/wal-workload.js';
import { hexLsn, specialEventsOfDump, waldump, type Dump } from '../harness/waldump.js';
import { postgresWalSummarizer } from '../../src/engine/postgres/wal/wal-summarizer.js';
import { decodeWalSummary } from '../../src/engine/postgres/format/wal-summary.js';

const SEG = 16 * 1024 * 1024;

interface Parsed {
  changes: WalChanges;
  records: { lsn: number; totLen: number; blocks: string[] }[];
}

/** The parser over `files`, keeping each record's block references as pg_waldump -b prints them. */
async function parse(files: string[], start: Lsn, end: Lsn): Promise<Parsed> {
  const records: Parsed['records'] = [];
  const changes = await changedBlocksFromFiles(files, {
    startLsn: start,
    endLsn: end,
    onRecord: (rec: DecodedRecord, format: WalFormat) =>
      records.push({ lsn: rec.lsn, totLen: rec.totLen, blocks: blockLines(rec, format) }),
  });
  return { changes, records };
}

function blockLines(rec: DecodedRecord, format: WalFormat): string[] {
  const out: string[] = [];
  for (let i = 0; i < rec.blockCount; i++) {
    let line = `#${rec.blockId[i]} ${rec.spcOid[i]}/${rec.dbOid[i]}/${rec.relNumber[i]} ${FORK_NAMES[rec.fork(i)]} ${rec.blockNumber[i]}`;
    const method = imageCompression(rec, i, format);
    if (method)
      line += ` FPW${imageApplies(rec, i, format) ? '' : ' verify'} hole ${rec.holeOffset[i]}+${rec.holeLength[i]}${method === 'none' ? '' : ` ${method}`}`;
    out.push(line);
  }
  return out;
}

function specialEventsOf(c: WalChanges): string[] {
  const rel = (r: { spcOid: number; dbOid: number; relNumber: number }) => `${r.spcOid}/${r.dbOid}/${r.relNumber}`;
  const out: [number, string][] = [
    ...c.created.map((e): [number, string] => [e.lsn, `create ${rel(e.rel)} fork ${e.fork}`]),
    ...c.truncated.map((e): [number, string] => [e.lsn, `truncate ${rel(e.rel)} to ${e.blkno} flags ${e.flags}`]),
    ...c.databasesCreated.map((e): [number, string] => [
      e.lsn,
      e.strategy === 'file_copy'
        ? `create-database file_copy ${e.tablespaceId}/${e.dbId} from ${e.srcTablespaceId}/${e.srcDbId}`
        : `create-database wal_log ${e.tablespaceId}/${e.dbId}`,
    ]),
    ...c.databasesDropped.map((e): [number, string] => [
      e.lsn,
      `drop-database ${e.dbId} in ${e.tablespaceIds.join(',')}`,
    ]),
    ...c.droppedRels.map((e): [number, string] => [
      e.lsn,
      `drop-rels ${e.commit ? 'commit' : 'abort'} ${e.rels.map(rel).join(' ')}`,
    ]),
  ];
  return out.sort((a, b) => a[0] - b[0]).map(([lsn, s]) => `${hexLsn(lsn)} ${s}`);
}

/**
 * The same records, blocks (relation, fork, block) and special events as `expected`;
 * with `summaries`, records are not compared (a summary counts the whole segment's).
 */
function assertSameChanges(actual: WalChanges, expected: WalChanges, summaries = false): void {
  const flat = (w: WalChanges) =>
    [...w.relations.values()].flatMap((r) => [...r.forks].map(([f, b]) => `${r.key} ${f} ${[...b].join(',')}`)).sort();
  if (!summaries) assert.equal(actual.records, expected.records);
  assert.equal(actual.blockCount, expected.blockCount);
  assert.deepEqual(flat(actual), flat(expected));
  assert.deepEqual(specialEventsOf(actual), specialEventsOf(expected));
}

describe('WAL parser against pg_waldump', () => {
  let dir: string;
  let cluster: SandboxCluster;
  let walDir: string;
  let start: Lsn;
  let end: Lsn;
  let files: string[];
  let mine: Parsed;
  let dump: Dump;

  before(async () => {
    dir = tempDir('walparse');
    cluster = await walWorkloadCluster(dir, { settings: { full_page_writes: 'on' } });
    walDir = path.join(cluster.dataDir, 'pg_wal');
    ({ start, end } = await runWalWorkload(cluster, {
      docs: 120,
      messageMiB: 20, // one record longer than a segment
      extraCases: true,
      skipMissingCompression: false,
    }));
    files = segmentPaths(walDir, 1, start, end, SEG);
    mine = await parse(files, start, end);
    dump = waldump(cluster.bin, walDir, hexLsn(start), hexLsn(end), path.join(dir, 'dump.txt'));
  });
  after(() => {
    if (dir) removeEnv({ dir }, [cluster]);
  });

  it('reads the whole range and spans several segments', () => {
    assert.equal(mine.changes.complete, true, mine.changes.stop.message);
    assert.equal(mine.changes.stop.reason, 'end-of-range');
    assert.ok(files.length >= 3, `${files.length} segments`);
    assert.equal(mine.changes.unknownCount, 0, JSON.stringify(mine.changes.unknown.slice(0, 3)));
    const crossing = mine.records.filter((r) => Math.floor(r.lsn / SEG) !== Math.floor((r.lsn + r.totLen - 1) / SEG));
    const spanning = mine.records.filter((r) => Math.floor(r.lsn / 8192) !== Math.floor((r.lsn + r.totLen - 1) / 8192));
    assert.ok(
      spanning.length > 100 && crossing.length >= 1,
      `${spanning.length} records span pages, ${crossing.length} cross segments`,
    );
    assert.ok(
      mine.records.some((r) => r.totLen > SEG),
      'the 20 MB logical message',
    );
  });

  it('finds the same records, block references and full-page images as pg_waldump', () => {
    assert.equal(mine.records.length, dump.records.length);
    for (let i = 0; i < mine.records.length; i++) {
      const a = mine.records[i]!,
        b = dump.records[i]!;
      assert.equal(hexLsn(a.lsn), hexLsn(b.lsn), `record ${i}`);
      assert.deepEqual(
        a.blocks,
        b.blocks,
        `blocks of the record at ${hexLsn(a.lsn)} (${b.rmgr} ${b.desc.slice(0, 60)})`,
      );
    }
    const images = dump.records.flatMap((r) => r.blocks).filter((b) => b.includes('FPW'));
    for (const m of [' pglz', ' lz4', ' zstd', 'hole '])
      assert.ok(
        images.some((b) => b.endsWith(m) || b.includes(m)),
        `an image with ${m}`,
      );
  });

  it('returns exactly the set of (relation, fork, block) pg_waldump lists', () => {
    const theirs = new Set(dump.records.flatMap((r) => r.blocks.map((b) => b.split(' ').slice(1, 4).join(' '))));
    const ours = new Set<string>();
    for (const r of mine.changes.relations.values()) {
      for (const [fork, blocks] of r.forks) for (const b of blocks) ours.add(`${r.key} ${FORK_NAMES[fork]} ${b}`);
    }
    assert.equal(ours.size, mine.changes.blockCount);
    assert.deepEqual([...ours].sort(), [...theirs].sort());
    assert.ok(
      [...ours].some((k) => k.startsWith(`${tablespaceOid(mine)}/`)),
      'blocks in the second tablespace',
    );
  });

  it('reports the same smgr, database and dropped-relation events as pg_waldump', () => {
    assert.deepEqual(specialEventsOf(mine.changes), specialEventsOfDump(dump.records));
    const c = mine.changes;
    assert.ok(
      c.created.some((e) => e.fork === 3),
      'an init fork (unlogged table)',
    );
    assert.ok(
      c.created.some((e) => e.rel.spcOid === tablespaceOid(mine)),
      'a file created in ts2 (SET TABLESPACE)',
    );
    assert.ok(c.truncated.length >= 1, 'a VACUUM truncation');
    assert.deepEqual(c.databasesCreated.map((e) => e.strategy).sort(), ['file_copy', 'file_copy', 'wal_log']);
    assert.equal(c.databasesDropped.length, 2);
    assert.ok(
      c.databasesDropped.some((e) => e.tablespaceIds.length === 2),
      'a database in two tablespaces dropped',
    );
    assert.ok(
      c.droppedRels.some((e) => e.commit),
      'relations dropped at commit',
    );
    assert.ok(
      c.droppedRels.filter((e) => !e.commit).length >= 3,
      'relations dropped at abort, subtransaction abort and ROLLBACK PREPARED',
    );
  });

  it('reads the same when segments arrive in pieces and the end is known only late', () => {
    // as a level 1 backup reads: the records of a save set one after the other (here odd
    // sizes, not page multiples, to cut through page headers and records), the end LSN
    // given after most of the WAL is read
    const c = new BlockRefCollector({ startLsn: start, endLsn: BigInt(Number.MAX_SAFE_INTEGER) });
    const seg = new Uint8Array(SEG);
    let cut = 1000;
    files.forEach((f, n) => {
      if (n === files.length - 1) c.setEnd(end);
      const data = fs.readFileSync(f);
      const segno = Number(parseWalFileName(path.basename(f), SEG)!.segno);
      for (let at = 0; at < data.length && !c.done;) {
        const n2 = Math.min(cut, data.length - at);
        seg.set(data.subarray(at, at + n2), at);
        at += n2;
        c.push(seg, segno, at);
        cut = ((cut * 7 + 12345) % (3 * 1024 * 1024)) + 1;
      }
    });
    const pieces = c.finish();
    assert.equal(pieces.complete, true, pieces.stop.message);
    assertSameChanges(pieces, mine.changes);
  });

  /** A level 1's reading of the WAL from `start` to `end`: summaries from `summaries`, segments from pg_wal in pieces as a save set gives them. */
  /**
   * A level 1's reading of the WAL from `from` to `end`: summaries from `summaries`, archived
   * segments (all but `unarchived` of the last ones) in pieces as a save set gives them, the
   * rest from pg_wal, read ahead as far as `written` (the flush LSN a backup learns) first.
   */
  async function readAsBackup(
    summaries?: Map<string, Uint8Array>,
    from = start,
    unarchived = 0,
    written: Lsn | readonly Lsn[] = [],
  ) {
    const [{ sysid }] = (await cluster.query<{ sysid: string }>(
      'SELECT system_identifier::text AS sysid FROM pg_control_system()',
    )) as [{ sysid: string }];
    const inPool = new Set(files.slice(0, files.length - unarchived).map((f) => path.basename(f)));
    const reading = new WalChangesReading({
      fromLsn: hexLsn(from),
      timeline: 1,
      segmentSize: SEG,
      systemId: sysid,
      pgWal: walDir,
      sources: {
        archived: async (name) => {
          const file = path.join(walDir, name);
          if (!fs.existsSync(file) || !inPool.has(name)) return undefined;
          const data = fs.readFileSync(file);
          return (async function* pieces() {
            for (let at = 0; at < data.length; at += 3 * 1024 * 1024 + 8192)
              yield data.subarray(at, at + 3 * 1024 * 1024 + 8192);
          })();
        },
        summary: async (name) => summaries?.get(name),
      },
    });
    for (const w of typeof written === 'bigint' ? [written] : written) reading.walWritten(hexLsn(w));
    const r = await reading.finish(hexLsn(end));
    if ('incomplete' in r) assert.fail(r.incomplete);
    assert.equal(r.changes.wal.complete, true);
    return r;
  }

  it('reads the same on its own thread, fed as a level 1 backup feeds it', async () => {
    // the pieces as a save set gives them, the end LSN given last
    const r = await readAsBackup();
    assert.equal(r.changes.wal.walBytes, mine.changes.walBytes);
    assertSameChanges(r.changes.wal, mine.changes);
  });

  it('reads the same when the last segments come from pg_wal, read ahead to a flush point first', async () => {
    // the last two segments not archived: read by the reading thread from pg_wal, the first
    // part (to a flush point in the middle of a segment, not on a page boundary) before the end is known
    const second = BigInt(Math.floor(Number(end) / SEG) - 1) * BigInt(SEG);
    const r = await readAsBackup(undefined, start, 2, second + BigInt(SEG / 2 + 1234));
    assert.equal(r.changes.wal.walBytes, mine.changes.walBytes);
    assertSameChanges(r.changes.wal, mine.changes);
  });

  it('reads the same when read ahead twice, as a level 1 does (to the last checkpoint, then to the flush point)', async () => {
    const second = BigInt(Math.floor(Number(end) / SEG) - 1) * BigInt(SEG);
    const r = await readAsBackup(undefined, start, 2, [
      second + BigInt(SEG / 4 + 777),
      second + BigInt(SEG / 2 + 1234),
    ]);
    assert.equal(r.changes.wal.walBytes, mine.changes.walBytes);
    assertSameChanges(r.changes.wal, mine.changes);
  });

  it('reads the last checkpoint from pg_control where pg_controldata does', () => {
    const r = spawnSync(path.join(cluster.bin, 'pg_controldata'), [cluster.dataDir], {
      encoding: 'utf8',
      env: { ...process.env, LC_ALL: 'C' },
    });
    const latest = /^Latest checkpoint location:\s+(\S+)$/m.exec(r.stdout)?.[1];
    assert.ok(latest, r.stderr || r.stdout);
    const c = readControlFile(fs.readFileSync(path.join(cluster.dataDir, 'global', 'pg_control')));
    assert.ok(!('error' in c) && c.crcOffset !== undefined);
    assert.equal(formatLsn(c.checkPointLsn), latest);
  });

  it('finds the same from summaries made segment by segment as they are archived, and reads the rest', async () => {
    // as archive_command makes them: in order, each chained to the one before (the last
    // file was switched: it is complete)
    const summaries = new Map<string, Uint8Array>();
    for (const f of files) {
      const name = path.basename(f);
      const made = await postgresWalSummarizer.summarize(name, fs.readFileSync(f), async (n) => summaries.get(n));
      assert.ok(made && 'summary' in made, `${name}: ${JSON.stringify(made)}`);
      summaries.set(name, made.summary);
    }
    const decoded = [...summaries.values()].map((b) => decodeWalSummary(b));
    assert.ok(
      decoded.some((d) => d.head === 'resolved'),
      'a record running on from one segment to the next, completed with the kept bytes',
    );
    assert.ok(
      decoded.some((d) => d.tail && !d.tail.bytes),
      'the 20 MB record: kept by its LSN only',
    );
    assert.ok(
      decoded.some((d) => d.head === 'unresolved'),
      'a segment after it: its head is left to the WAL',
    );
    // all of them: summaries up to the 20 MB record, the WAL read from its start on
    const all = await readAsBackup(summaries);
    assert.equal(
      all.summarized,
      decoded.findIndex((d) => d.head === 'unresolved'),
    );
    assertSameChanges(all.changes.wal, mine.changes, true);
    // one missing in the middle: the WAL is read from where that segment starts
    const gap = new Map(summaries);
    gap.delete(path.basename(files[1]!));
    const holed = await readAsBackup(gap);
    assert.equal(holed.summarized, 1);
    assertSameChanges(holed.changes.wal, mine.changes, true);
    // a base starting in the middle of a summarized segment: only what changed from there on
    const mid = mine.records.find((r) => r.lsn >= Number(start) - (Number(start) % SEG) + SEG + SEG / 2)!.lsn;
    const later = await readAsBackup(summaries, BigInt(mid));
    const direct = await parse(files, BigInt(mid), end);
    assert.ok(later.summarized >= 1);
    assert.ok(direct.changes.blockCount < mine.changes.blockCount * 0.9, 'fewer blocks changed after the middle');
    assertSameChanges(later.changes.wal, direct.changes, true);
  });

  it('starts like pg_waldump -s at an LSN that is not a record boundary', async () => {
    const from = start + 100_003n;
    const some = waldump(cluster.bin, walDir, hexLsn(from), hexLsn(end), path.join(dir, 'dump-mid.txt'), ['-n', '20']);
    const part = await parse(files, from, end);
    assert.deepEqual(
      part.records.slice(0, 20).map((r) => hexLsn(r.lsn)),
      some.records.map((r) => hexLsn(r.lsn)),
    );
  });

  it('stops with a CRC error at a damaged record, where pg_waldump does', async () => {
    const copy = path.join(dir, 'damaged');
    fs.mkdirSync(copy);
    for (const f of files) fs.copyFileSync(f, path.join(copy, path.basename(f)));
    // a record of the second segment that lies within one page: flip its last byte
    const i = mine.records.findIndex(
      (r) => r.lsn > Number(start) + SEG && r.totLen > 40 && (r.lsn % 8192) + r.totLen <= 8192,
    );
    const victim = mine.records[i]!;
    const file = path.join(copy, path.basename(files[Math.floor(victim.lsn / SEG) - Math.floor(Number(start) / SEG)]!));
    const fd = fs.openSync(file, 'r+');
    const b = Buffer.alloc(1);
    const at = (victim.lsn % SEG) + victim.totLen - 1;
    fs.readSync(fd, b, 0, 1, at);
    b[0] ^= 0x40;
    fs.writeSync(fd, b, 0, 1, at);
    fs.closeSync(fd);
    const damaged = await parse(segmentPaths(copy, 1, start, end, SEG), start, end);
    assert.equal(damaged.changes.complete, false);
    assert.equal(damaged.changes.stop.reason, 'bad-crc');
    assert.equal(hexLsn(damaged.changes.stoppedAt), hexLsn(victim.lsn));
    assert.equal(damaged.records.length, i, 'every record before the damaged one');
    const theirs = waldump(cluster.bin, copy, hexLsn(start), hexLsn(end), path.join(dir, 'dump-damaged.txt'));
    assert.match(
      theirs.stderr,
      new RegExp(`incorrect resource manager data checksum in record at ${hexLsn(victim.lsn)}`),
    );
    assert.equal(theirs.records.length, i);
  });

  it('reports a missing segment in the range as incomplete', async () => {
    const gap = files.filter((_, k) => k !== 1);
    const cut = await parse(gap, start, end);
    assert.equal(cut.changes.complete, false);
    assert.equal(cut.changes.stop.reason, 'missing-segment');
    const missingFrom = (start / BigInt(SEG) + 1n) * BigInt(SEG);
    assert.ok(
      cut.changes.stoppedAt <= missingFrom && cut.changes.stoppedAt > missingFrom - BigInt(SEG),
      hexLsn(cut.changes.stoppedAt),
    );
    assert.equal(cut.records.length, mine.records.filter((r) => r.lsn < Number(cut.changes.stoppedAt)).length);
  });

  it('stops at the end of the written WAL, where pg_waldump does', async () => {
    cluster.stop(); // no more WAL while both read the tail
    const later = end + 64n * BigInt(SEG);
    const tail = await parse(segmentPaths(walDir, 1, end, later, SEG), end, later);
    assert.equal(tail.changes.complete, false);
    assert.equal(tail.changes.stop.reason, 'end-of-wal', tail.changes.stop.message);
    const theirs = waldump(cluster.bin, walDir, hexLsn(end), undefined, path.join(dir, 'dump-tail.txt'));
    assert.deepEqual(
      tail.records.map((r) => hexLsn(r.lsn)),
      theirs.records.map((r) => hexLsn(r.lsn)),
    );
  });
});

function tablespaceOid(p: Parsed): number {
  const spcs = new Set([...p.changes.relations.values()].map((r) => r.spcOid));
  spcs.delete(1663);
  spcs.delete(1664);
  assert.equal(spcs.size, 1, `one user tablespace, got ${[...spcs].join(',')}`);
  return [...spcs][0]!;
}
