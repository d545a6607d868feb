// pg_walinspect as the reference for the WAL parser on majors whose pg_waldump is not
// installed (16 and later, the server's own view): its records and block references in
// the strings the parser tests build, `#id spc/db/rel fork blk[ FPW[ verify][ hole][ method]]`.
// Hole offsets and lengths are not in its output: only whether an image has a hole.

import type { SandboxCluster } from '../../src/engine/postgres/server/sandbox.js';
import { FORK_NAMES } from '../../src/engine/postgres/format/relation-path.js';
import { parseLsn } from '../../src/engine/postgres/format/lsn.js';
import { serverVersionNum } from './pg.js';

export interface InspectRecord {
  readonly lsn: bigint;
  readonly rmgr: string;
  readonly type: string;
  readonly blocks: string[];
}

/** pg_get_wal_records_info and pg_get_wal_block_info over [start, end), as one list of records. */
export async function walInspect(c: SandboxCluster, start: string, end: string): Promise<InspectRecord[]> {
  await c.query('CREATE EXTENSION IF NOT EXISTS pg_walinspect');
  const records = await c.query<{ l: string; rmgr: string; t: string }>(
    'SELECT start_lsn::text AS l, resource_manager AS rmgr, record_type AS t FROM pg_get_wal_records_info($1, $2) ORDER BY start_lsn',
    [start, end],
  );
  const blockCall =
    (await serverVersionNum(c)) >= 170000 ? 'pg_get_wal_block_info($1, $2, false)' : 'pg_get_wal_block_info($1, $2)';
  const blocks = await c.query<{
    l: string;
    id: number;
    spc: string;
    db: string;
    rel: string;
    fork: number;
    blk: string;
    fpi: string[] | null;
  }>(
    `SELECT start_lsn::text AS l, block_id AS id, reltablespace::text AS spc, reldatabase::text AS db, relfilenode::text AS rel,
            relforknumber AS fork, relblocknumber::text AS blk, block_fpi_info AS fpi
       FROM ${blockCall} ORDER BY start_lsn, block_id`,
    [start, end],
  );
  const byLsn = new Map<string, string[]>();
  for (const b of blocks) {
    let line = `#${b.id} ${b.spc}/${b.db}/${b.rel} ${FORK_NAMES[b.fork]} ${b.blk}`;
    if (b.fpi) {
      const method = b.fpi
        .find((f) => f.startsWith('COMPRESS_'))
        ?.slice('COMPRESS_'.length)
        .toLowerCase();
      line += ` FPW${b.fpi.includes('APPLY') ? '' : ' verify'}${b.fpi.includes('HAS_HOLE') ? ' hole' : ''}${method ? ` ${method}` : ''}`;
    }
    const list = byLsn.get(b.l) ?? [];
    list.push(line);
    byLsn.set(b.l, list);
  }
  return records.map((r) => ({ lsn: parseLsn(r.l), rmgr: r.rmgr, type: r.t, blocks: byLsn.get(r.l) ?? [] }));
}
