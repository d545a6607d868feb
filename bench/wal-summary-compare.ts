// node dist/bench/wal-summary-compare.js — PostgreSQL 17+'s own WAL summaries
// (summarize_wal = on, pg_wal_summary_contents) beside openbar's WAL parser as a source of
// changed blocks (issue 18 item 5): the same workload, the same LSN range [A, B) (A and B
// checkpoint redo points, so the server's summaries start and end exactly there), the
// blocks each finds, the differences explained by the server's limit blocks (truncations,
// creations, drops), and the time each takes. Also a range starting mid-summary (M, after
// pgbench -i, no checkpoint there) to show the server's superset. Only reads; writes
// nothing of openbar's. BENCH_PG_MAJOR (17, 18), BENCH_WAL_SCALE (10), BENCH_WAL_SECONDS
// (20), BENCH_DIR.

import fs from 'node:fs';
import path from 'node:path';
import { formatLsn, parseLsn, type Lsn } from '../src/engine/postgres/format/lsn.js';
import { giveToPostgres, SandboxCluster } from '../src/engine/postgres/server/sandbox.js';
import { changedBlocksFromFiles, segmentPaths } from '../src/engine/postgres/wal/changed-blocks.js';
import { BlockRefCollector, type WalChanges } from '../src/engine/postgres/wal/block-ref-collector.js';
import { summarizeSegment } from '../src/engine/postgres/wal/segment-summarizer.js';
import { decodeWalSummary, encodeWalSummary, type WalSummary } from '../src/engine/postgres/format/wal-summary.js';
import { majorBins, type Major } from '../test/harness/pg-majors.js';

const SEG = 16 * 1024 * 1024;
const major = Number(process.env.BENCH_PG_MAJOR ?? 17) as Major;
const scale = Number(process.env.BENCH_WAL_SCALE ?? 10);
const seconds = Number(process.env.BENCH_WAL_SECONDS ?? 20);
const out = (s: string) => process.stdout.write(`${s}\n`);
const secs = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;

/** spc/db/rel/fork → blocks, and the smallest limit block the server names for it */
interface ForkSet {
  blocks: Set<number>;
  limit?: number;
}
type Sets = Map<string, ForkSet>;

function forkOf(sets: Sets, key: string): ForkSet {
  let f = sets.get(key);
  if (!f) sets.set(key, (f = { blocks: new Set() }));
  return f;
}

function openbarSets(r: WalChanges): Sets {
  const sets: Sets = new Map();
  for (const rel of r.relations.values())
    for (const [fork, blocks] of rel.forks) {
      const f = forkOf(sets, `${rel.spcOid}/${rel.dbOid}/${rel.relNumber}/${fork}`);
      for (const b of blocks) f.blocks.add(b);
    }
  return sets;
}

interface SummaryRange {
  tli: number;
  start_lsn: string;
  end_lsn: string;
}

async function main(): Promise<void> {
  const { bin, clientBin } = majorBins(major);
  const dir = fs.mkdtempSync(path.join(process.env.BENCH_DIR ?? '/var/tmp', 'openbar-walsum-'));
  giveToPostgres(dir);
  const cluster = await SandboxCluster.create({
    dir,
    bin,
    clientBin,
    settings: {
      summarize_wal: 'on',
      wal_keep_size: "'8GB'",
      max_wal_size: "'8GB'",
      checkpoint_timeout: "'1h'",
    },
  });
  try {
    cluster.start();
    const one = async <T>(sql: string): Promise<T> => (await cluster.query<{ v: T }>(`SELECT ${sql} AS v`))[0]!.v;
    const redo = async (): Promise<Lsn> => {
      await cluster.query('CHECKPOINT');
      return parseLsn(await one<string>('(SELECT redo_lsn::text FROM pg_control_checkpoint())'));
    };
    const version = await one<string>("current_setting('server_version')");

    // relations older than A, truncated, dropped and emptied in [A, B): the server then forgets their blocks
    for (const sql of [
      'CREATE TABLE pre_t AS SELECT g, md5(g::text) AS h FROM generate_series(1, 200000) g',
      'CREATE TABLE pre_drop AS SELECT generate_series(1, 100000) AS g',
      'CREATE TABLE pre_trunc AS SELECT generate_series(1, 100000) AS g',
    ])
      await cluster.query(sql);
    const a = await redo();
    cluster.pgbenchInit(scale);
    const m = parseLsn(await one<string>('pg_current_wal_lsn()::text'));
    await cluster.pgbench(seconds, 2);
    for (const sql of [
      'CREATE TABLE t AS SELECT g, md5(g::text) AS h FROM generate_series(1, 200000) g',
      'CREATE INDEX ON t (g)',
      'DELETE FROM t WHERE g > 50000', // VACUUM then cuts the heap's empty tail: an smgr truncate
      'VACUUM t',
      'TRUNCATE pgbench_history', // a new relfilenode, the old one dropped at commit
      'INSERT INTO pgbench_history SELECT 1, 1, 1, 1, now() FROM generate_series(1, 10000)',
      'CREATE TABLE dropped AS SELECT generate_series(1, 50000) AS g',
      'DROP TABLE dropped',
      'VACUUM pgbench_accounts',
      'UPDATE pre_t SET h = h WHERE g > 190000 AND g % 10 = 0', // new versions at the end, deleted next
      'DELETE FROM pre_t WHERE g > 100000',
      'VACUUM pre_t', // truncates pre_t to about half: its blocks past that, updated above, are forgotten
      'UPDATE pre_drop SET g = g + 1 WHERE g % 100 = 0',
      'DROP TABLE pre_drop',
      'UPDATE pre_trunc SET g = g + 1 WHERE g % 100 = 0',
      'TRUNCATE pre_trunc',
    ])
      await cluster.query(sql);
    const b = await redo();
    await cluster.query('SELECT pg_switch_wal()');
    const tWait = process.hrtime.bigint();

    // the summarizer writes a summary when it reaches a redo point: wait for it to pass B
    const deadline = Date.now() + 120_000;
    for (;;) {
      const s = parseLsn(await one<string>('(SELECT summarized_lsn::text FROM pg_get_wal_summarizer_state())'));
      if (s >= b) break;
      if (Date.now() > deadline) throw new Error(`summarizer still at ${formatLsn(s)}, not past ${formatLsn(b)}`);
      await new Promise((res) => setTimeout(res, 100));
    }
    const waited = secs(tWait);

    const walDir = path.join(cluster.dataDir, 'pg_wal');
    const files = segmentPaths(walDir, 1, a, b, SEG);
    const mb = (x: Lsn, y: Lsn) => (Number(y - x) / 2 ** 20).toFixed(1);
    out(`PostgreSQL ${version}; pgbench -i -s ${scale}, ${seconds} s of pgbench -c 2, DDL/VACUUM/TRUNCATE/DROP`);
    out(`A ${formatLsn(a)} (redo), M ${formatLsn(m)} (after pgbench -i), B ${formatLsn(b)} (redo)`);
    out(`summarizer past B ${waited.toFixed(2)} s after the CHECKPOINT at B`);
    out(`[A,B) ${mb(a, b)} MiB of WAL in ${files.length} segments; [M,B) ${mb(m, b)} MiB`);

    for (const [name, from] of [
      ['[A,B)', a],
      ['[M,B)', m],
    ] as const) {
      out(`\n== ${name} ==`);
      await compare(cluster, segmentPaths(walDir, 1, from, b, SEG), from, b);
    }

    // log archive's own summaries: summarizeSegment per segment, as the archive_command does
    const inMemory = files.map((f) => fs.readFileSync(f));
    const first = Number(a / BigInt(SEG));
    let encoded: Uint8Array[] = [];
    for (let round = 0; round < 2; round++) {
      const t0 = process.hrtime.bigint();
      let prev: WalSummary | undefined;
      const summaries: WalSummary[] = [];
      let blocks = 0;
      for (let i = 0; i < inMemory.length; i++) {
        const s = summarizeSegment(inMemory[i]!, { segno: first + i, ...(prev ? { previous: prev } : {}) });
        if (typeof s === 'string') throw new Error(`segment ${i}: ${s}`);
        for (const f of s.forks) blocks += f.blocks.length;
        summaries.push((prev = s));
      }
      out(
        `\nsummarizeSegment (log archive's summaries) over ${inMemory.length} segments in memory: ${secs(t0).toFixed(2)} s, ${blocks} per-segment block entries`,
      );
      encoded = summaries.map(encodeWalSummary);
    }
    // the level 1 "by WAL" path: openbar's stored summaries for the whole segments, the WAL after them read
    for (let round = 0; round < 3; round++) {
      const t0 = process.hrtime.bigint();
      const c = new BlockRefCollector({ startLsn: a, endLsn: b });
      const whole = Number(b / BigInt(SEG)) - first; // segments before B's
      let prev: WalSummary | undefined;
      for (let i = 0; i < whole; i++) c.addSummary((prev = decodeWalSummary(encoded[i]!)));
      const lastStart = BigInt(first + whole) * BigInt(SEG);
      const tail = prev?.tail;
      if (tail && !tail.bytes) {
        // a record too long to be kept runs on from the segment before: read it from there
        c.readFrom(BigInt(tail.lsn));
        c.push(inMemory[whole - 1]!, first + whole - 1);
      } else c.readFrom(lastStart, tail?.bytes ? { lsn: tail.lsn, totLen: tail.totLen, bytes: tail.bytes } : undefined);
      c.push(inMemory[whole]!, first + whole);
      const r = c.finish();
      out(
        `openbar's summaries (${whole} decoded + ${mb(lastStart, b)} MiB of WAL read), round ${round + 1}: ${secs(t0).toFixed(3)} s, ${r.blockCount} blocks, complete ${r.complete}${r.complete ? '' : ` (${r.stop.message})`}`,
      );
    }
  } finally {
    cluster.stop('immediate');
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function compare(cluster: SandboxCluster, files: string[], from: Lsn, to: Lsn): Promise<void> {
  // openbar: the parser over pg_wal's segments (page cache warm after the first round)
  let r: WalChanges | undefined;
  for (let round = 0; round < 3; round++) {
    const t0 = process.hrtime.bigint();
    r = await changedBlocksFromFiles(files, { startLsn: from, endLsn: to });
    const s = secs(t0);
    if (!r.complete) throw new Error(`openbar incomplete: ${r.stop.message}`);
    out(`openbar parser, round ${round + 1}: ${s.toFixed(3)} s, ${r.records} records, ${r.blockCount} blocks`);
  }
  const ours = openbarSets(r!);
  out(
    `openbar events: ${r!.truncated.length} truncate, ${r!.created.length} create, ${r!.droppedRels.length} drop-rels (${r!.droppedRels.reduce((n, d) => n + d.rels.length, 0)} relations), ${r!.databasesCreated.length + r!.databasesDropped.length} database, ${r!.unknownCount} unknown`,
  );

  // the server: every summary overlapping [from, to)
  const client = await cluster.client();
  try {
    const ranges: SummaryRange[] = [];
    let server: Sets = new Map();
    let rows = 0;
    let limitRows = 0;
    for (let round = 0; round < 3; round++) {
      const t0 = process.hrtime.bigint();
      const list = (
        await client.query<SummaryRange>(
          'SELECT tli, start_lsn::text, end_lsn::text FROM pg_available_wal_summaries() WHERE end_lsn > $1::pg_lsn AND start_lsn < $2::pg_lsn ORDER BY start_lsn',
          [formatLsn(from), formatLsn(to)],
        )
      ).rows;
      server = new Map();
      rows = limitRows = 0;
      for (const s of list) {
        const res = await client.query<{
          relfilenode: number;
          reltablespace: number;
          reldatabase: number;
          relforknumber: number;
          relblocknumber: string;
          is_limit_block: boolean;
        }>(
          'SELECT relfilenode, reltablespace, reldatabase, relforknumber, relblocknumber::text, is_limit_block FROM pg_wal_summary_contents($1, $2::pg_lsn, $3::pg_lsn)',
          [s.tli, s.start_lsn, s.end_lsn],
        );
        for (const x of res.rows) {
          rows++;
          const f = forkOf(server, `${x.reltablespace}/${x.reldatabase}/${x.relfilenode}/${x.relforknumber}`);
          const blk = Number(x.relblocknumber);
          if (x.is_limit_block) {
            limitRows++;
            f.limit = Math.min(f.limit ?? Infinity, blk);
          } else f.blocks.add(blk);
        }
      }
      const s = secs(t0);
      if (round === 0) ranges.push(...list);
      out(`server summaries, round ${round + 1}: ${s.toFixed(3)} s, ${rows} rows (${limitRows} limit blocks)`);
    }
    out(`summaries used: ${ranges.map((s) => `${s.start_lsn}..${s.end_lsn}`).join(', ')}`);
    const t0 = process.hrtime.bigint();
    const count = await client.query(
      `SELECT count(*) FROM pg_available_wal_summaries() s, pg_wal_summary_contents(s.tli, s.start_lsn, s.end_lsn)
         WHERE s.end_lsn > $1::pg_lsn AND s.start_lsn < $2::pg_lsn`,
      [formatLsn(from), formatLsn(to)],
    );
    out(`server-side count(*) only (no rows sent): ${secs(t0).toFixed(3)} s, ${count.rows[0].count} rows`);

    // compare
    let common = 0,
      onlyOurs = 0,
      onlyOursAboveLimit = 0,
      onlyServer = 0,
      serverBlocks = 0;
    const onlyOursWhere = new Map<string, number>();
    const onlyServerWhere = new Map<string, number>();
    for (const [k, f] of ours) {
      const sf = server.get(k);
      for (const blk of f.blocks) {
        if (sf?.blocks.has(blk)) common++;
        else {
          onlyOurs++;
          if (sf?.limit !== undefined && blk >= sf.limit) onlyOursAboveLimit++;
          else onlyOursWhere.set(k, (onlyOursWhere.get(k) ?? 0) + 1);
        }
      }
    }
    for (const [k, f] of server) {
      serverBlocks += f.blocks.size;
      const of = ours.get(k);
      for (const blk of f.blocks)
        if (!of?.blocks.has(blk)) (onlyServer++, onlyServerWhere.set(k, (onlyServerWhere.get(k) ?? 0) + 1));
    }
    out(`blocks: openbar ${r!.blockCount}, server ${serverBlocks}, in both ${common}`);
    out(
      `only openbar: ${onlyOurs} (${onlyOursAboveLimit} at or past a server limit block: dropped by the server as truncated/recreated/dropped)`,
    );
    const top = (mp: Map<string, number>) =>
      [...mp]
        .sort((x, y) => y[1] - x[1])
        .slice(0, 8)
        .map(([k, n]) => `${k}:${n}`)
        .join(' ');
    if (onlyOursWhere.size) out(`  only openbar, not explained by a limit: ${top(onlyOursWhere)}`);
    out(`only server: ${onlyServer}${onlyServer ? ` — ${top(onlyServerWhere)}` : ''}`);
    const limits = [...server].filter(([, f]) => f.limit !== undefined);
    out(
      `server limit blocks: ${limits.length} forks (${limits.filter(([, f]) => f.limit === 0).length} at 0); e.g. ${limits
        .slice(0, 6)
        .map(([k, f]) => `${k}@${f.limit}`)
        .join(' ')}`,
    );
    for (const [k, f] of limits)
      out(
        `  limit ${k}@${f.limit}: server ${f.blocks.size} blocks (min ${Math.min(...f.blocks)}), openbar ${ours.get(k)?.blocks.size ?? 0}`,
      );
    out(
      `openbar truncates: ${r!.truncated.map((t) => `${t.rel.spcOid}/${t.rel.dbOid}/${t.rel.relNumber}@${t.blkno}(flags ${t.flags})`).join(' ')}`,
    );
  } finally {
    await client.end();
  }
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
