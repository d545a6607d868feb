// node dist/bench/wal-parse-bench.js — speed of the WAL block-reference parser on a few
// hundred MB of real WAL (pgbench -i, then pgbench), from files in the page cache, from
// disk (when the cache can be dropped) and from memory, against pg_waldump -z on the same
// range. BENCH_WAL_SCALE (default 20), BENCH_WAL_SECONDS (default 30), BENCH_DIR.

import fs from 'node:fs';
import path from 'node:path';
import { formatLsn, parseLsn } from '../src/engine/postgres/format/lsn.js';
import { giveToPostgres, runPg, SandboxCluster } from '../src/engine/postgres/server/sandbox.js';
import {
  collectChangedBlocks,
  changedBlocksFromFiles,
  segmentPaths,
} from '../src/engine/postgres/wal/changed-blocks.js';
import { dropCaches } from './harness.js';

const SEG = 16 * 1024 * 1024;
const scale = Number(process.env.BENCH_WAL_SCALE ?? 20);
const seconds = Number(process.env.BENCH_WAL_SECONDS ?? 30);

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(process.env.BENCH_DIR ?? '/var/tmp', 'openbar-walbench-'));
  giveToPostgres(dir);
  const cluster = await SandboxCluster.create({
    dir,
    settings: { wal_keep_size: "'8GB'", max_wal_size: "'1GB'", checkpoint_timeout: "'30s'" },
  });
  try {
    cluster.start();
    const lsn = async (sql: string) => parseLsn((await cluster.query<{ l: string }>(`SELECT ${sql}::text AS l`))[0]!.l);
    const start = await lsn('pg_current_wal_lsn()');
    cluster.pgbenchInit(scale);
    await cluster.pgbench(seconds, 2);
    const end = await lsn('pg_switch_wal()');
    const walDir = path.join(cluster.dataDir, 'pg_wal');
    const files = segmentPaths(walDir, 1, start, end, SEG);
    const mb = Number(end - start) / 1e6;
    process.stdout.write(
      `WAL range ${mb.toFixed(0)} MB in ${files.length} segments (pgbench -i -s ${scale}, then ${seconds} s of pgbench)\n`,
    );

    for (let round = 0; round < 3; round++) {
      const t0 = process.hrtime.bigint();
      const r = await changedBlocksFromFiles(files, { startLsn: start, endLsn: end });
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      if (!r.complete) throw new Error(`incomplete: ${r.stop.message}`);
      process.stdout.write(
        `files (page cache): ${(mb / s).toFixed(0)} MB/s, ${s.toFixed(2)} s, ${r.records} records, ${r.blockCount} distinct blocks in ${r.relations.size} relations, rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB\n`,
      );
    }
    if (dropCaches()) {
      const t0 = process.hrtime.bigint();
      await changedBlocksFromFiles(files, { startLsn: start, endLsn: end });
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      process.stdout.write(`files (cold cache, from disk): ${(mb / s).toFixed(0)} MB/s, ${s.toFixed(2)} s\n`);
    }
    const inMemory = files.map((f) => ({ data: fs.readFileSync(f) }));
    for (let round = 0; round < 3; round++) {
      const t0 = process.hrtime.bigint();
      const r = await collectChangedBlocks(inMemory, { startLsn: start, endLsn: end });
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      process.stdout.write(
        `memory (parser CPU): ${(mb / s).toFixed(0)} MB/s, ${s.toFixed(2)} s, complete ${r.complete}\n`,
      );
    }
    const t0 = process.hrtime.bigint();
    const z = runPg(cluster.bin, 'pg_waldump', ['-z', '-p', walDir, '-s', formatLsn(start), '-e', formatLsn(end)]);
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    process.stdout.write(
      `pg_waldump -z (reference): ${(mb / s).toFixed(0)} MB/s, ${s.toFixed(2)} s, status ${z.status}\n`,
    );
  } finally {
    cluster.stop('immediate');
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
