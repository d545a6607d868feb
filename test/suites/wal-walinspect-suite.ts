// The WAL parser against the server's own view of its WAL, pg_walinspect (16 and later:
// the pg_waldump of those majors is not installed): a varied workload (DML, VACUUM
// truncation, TOAST, full-page images plain and compressed, indexes of every access
// method, CREATE DATABASE with both strategies, DROP DATABASE, SET TABLESPACE, dropped,
// rolled-back and prepared relations), then every record and block reference the parser
// reports must equal what pg_get_wal_records_info and pg_get_wal_block_info return.

import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Lsn } from '../../src/engine/postgres/format/lsn.js';
import { FORK_NAMES } from '../../src/engine/postgres/format/relation-path.js';
import type { WalFormat } from '../../src/engine/postgres/format/wal-format.js';
import type { SandboxCluster } from '../../src/engine/postgres/server/sandbox.js';
import type { WalChanges } from '../../src/engine/postgres/wal/block-ref-collector.js';
import { changedBlocksFromFiles, segmentPaths } from '../../src/engine/postgres/wal/changed-blocks.js';
import { imageApplies, imageCompression, type DecodedRecord } from '../../src/engine/postgres/wal/wal-record.js';
import { tempDir } from '../harness/cli.js';
import { removeEnv } from '../harness/pg.js';
import { majorBins, type Major } from '../harness/pg-majors.js';
import { walInspect, type InspectRecord } from '../harness/walinspect.js';
import { hexLsn } from '../harness/waldump.js';
import { runWalWorkload, walWorkloadCluster } from '../harness/wal-workload.js';

const SEG = 16 * 1024 * 1024;

/** A block reference as walInspect prints it. */
function blockLine(rec: DecodedRecord, i: number, format: WalFormat): string {
  let line = `#${rec.blockId[i]} ${rec.spcOid[i]}/${rec.dbOid[i]}/${rec.relNumber[i]} ${FORK_NAMES[rec.fork(i)]} ${rec.blockNumber[i]}`;
  const method = imageCompression(rec, i, format);
  if (method)
    line += ` FPW${imageApplies(rec, i, format) ? '' : ' verify'}${rec.holeLength[i]! > 0 ? ' hole' : ''}${method === 'none' ? '' : ` ${method}`}`;
  return line;
}

export function walInspectSuite(major: Major, o: { todo?: string } = {}): void {
  describe(`WAL parser against pg_walinspect on PostgreSQL ${major}`, () => {
    const todo = o.todo ? { todo: o.todo } : {};
    let dir: string;
    let cluster: SandboxCluster;
    let start: Lsn;
    let end: Lsn;
    let theirs: InspectRecord[];
    let mine: { changes: WalChanges; records: { lsn: number; blocks: string[] }[] } | { error: string };
    const compressions: string[] = [];

    before(async () => {
      dir = tempDir(`walinspect${major}`);
      cluster = await walWorkloadCluster(dir, { bins: majorBins(major) });
      const q = (sql: string, db = 'postgres') => cluster.query(sql, [], db);
      const w = await runWalWorkload(cluster, {
        docs: 60,
        messageMiB: 2,
        extraCases: false,
        skipMissingCompression: true,
      });
      ({ start, end } = w);
      compressions.push(...w.compressions);
      // pg_walinspect returns the records that end by its end LSN, and the switch record ends
      // where its segment does: asked to the segment's end (written once the next record is)
      const segEnd = ((end + BigInt(SEG) - 1n) / BigInt(SEG)) * BigInt(SEG);
      await q("SELECT pg_logical_emit_message(false, 'after', 'x')");
      await q('CHECKPOINT'); // flushes the WAL past segEnd
      theirs = await walInspect(cluster, hexLsn(start), hexLsn(segEnd));
      const records: { lsn: number; blocks: string[] }[] = [];
      try {
        const files = segmentPaths(path.join(cluster.dataDir, 'pg_wal'), 1, start, end, SEG);
        const changes = await changedBlocksFromFiles(files, {
          startLsn: start,
          endLsn: end,
          onRecord: (rec: DecodedRecord, format: WalFormat) =>
            records.push({
              lsn: rec.lsn,
              blocks: Array.from({ length: rec.blockCount }, (_, i) => blockLine(rec, i, format)),
            }),
        });
        mine = { changes, records };
      } catch (e) {
        mine = { error: (e as Error).message };
      }
    });
    after(() => {
      if (dir) removeEnv({ dir }, [cluster]);
    });

    const parsed = () => {
      if ('error' in mine) assert.fail(`the parser failed: ${mine.error}`);
      return mine;
    };

    it('reads the whole range', todo, () => {
      const m = parsed();
      assert.equal(m.changes.complete, true, m.changes.stop.message);
      assert.equal(m.changes.unknownCount, 0, JSON.stringify(m.changes.unknown.slice(0, 3)));
      assert.ok(theirs.length > 1000, `${theirs.length} records`);
    });

    it('finds the same records and block references as pg_walinspect', todo, () => {
      const m = parsed();
      const tail = (l: { lsn: number | bigint }[]) => l.slice(-2).map((r) => hexLsn(r.lsn));
      assert.equal(
        m.records.length,
        theirs.length,
        `${hexLsn(m.records[0]!.lsn)}..${tail(m.records)} against ${hexLsn(theirs[0]!.lsn)}..${tail(theirs)}, end ${hexLsn(end)}`,
      );
      for (let i = 0; i < theirs.length; i++) {
        const a = m.records[i]!,
          b = theirs[i]!;
        assert.equal(hexLsn(a.lsn), hexLsn(b.lsn), `record ${i}`);
        assert.deepEqual(a.blocks, b.blocks, `blocks of the record at ${hexLsn(b.lsn)} (${b.rmgr} ${b.type})`);
      }
      const images = theirs.flatMap((r) => r.blocks).filter((b) => b.includes('FPW'));
      for (const m2 of [...compressions, 'hole'])
        assert.ok(
          images.some((b) => b.endsWith(` ${m2}`) || b.includes(` ${m2} `)),
          `an image with ${m2}`,
        );
    });

    it('returns exactly the set of (relation, fork, block) pg_walinspect lists', todo, () => {
      const m = parsed();
      const want = new Set(theirs.flatMap((r) => r.blocks.map((b) => b.split(' ').slice(1, 4).join(' '))));
      const ours = new Set<string>();
      for (const r of m.changes.relations.values())
        for (const [fork, blocks] of r.forks) for (const b of blocks) ours.add(`${r.key} ${FORK_NAMES[fork]} ${b}`);
      assert.equal(ours.size, m.changes.blockCount);
      assert.deepEqual([...ours].sort(), [...want].sort());
      assert.ok(
        theirs.some((r) => r.rmgr === 'Database'),
        'CREATE and DROP DATABASE records',
      );
    });
  });
}
