// The varied workload the WAL parser tests read back (against pg_waldump and against
// pg_walinspect): DML, VACUUM truncation, TOAST, full-page images plain and compressed,
// indexes of every access method, CREATE DATABASE with both strategies, DROP DATABASE,
// SET TABLESPACE, dropped, rolled-back and prepared relations, a record longer than its
// page. Each test keeps its own reading of the records.

import fs from 'node:fs';
import path from 'node:path';
import { parseLsn, type Lsn } from '../../src/engine/postgres/format/lsn.js';
import { giveToPostgres, SandboxCluster } from '../../src/engine/postgres/server/sandbox.js';

/** A started cluster in `dir/pg` that keeps its WAL, with prepared transactions and no autovacuum, and tablespace ts2 in `dir/ts2`. */
export async function walWorkloadCluster(
  dir: string,
  o: { bins?: { bin: string; clientBin: string }; settings?: Record<string, string> } = {},
): Promise<SandboxCluster> {
  const cluster = await SandboxCluster.create({
    dir: path.join(dir, 'pg'),
    ...(o.bins ? { bin: o.bins.bin, clientBin: o.bins.clientBin } : {}),
    settings: {
      wal_keep_size: "'4GB'",
      max_wal_size: "'4GB'",
      max_prepared_transactions: '4',
      autovacuum: 'off',
      ...(o.settings ?? {}),
    },
  });
  cluster.start();
  const tsDir = path.join(dir, 'ts2');
  fs.mkdirSync(tsDir);
  giveToPostgres(tsDir);
  await cluster.query(`CREATE TABLESPACE ts2 LOCATION '${tsDir}'`);
  return cluster;
}

export interface WalWorkloadOptions {
  /** rows of 80 kB (TOAST) in docs */
  readonly docs: number;
  /** size of the logical message, in MiB (20: one record longer than a segment) */
  readonly messageMiB: number;
  /** a database over two tablespaces dropped, a subtransaction rolled back, a prepared DROP TABLE committed, a checkpoint before the last changes */
  readonly extraCases: boolean;
  /** leave out the wal_compression methods this build lacks (else they fail the workload) */
  readonly skipMissingCompression: boolean;
}

/** Runs the workload on `cluster` (made by walWorkloadCluster): the WAL from `start` to `end` (the pg_switch_wal at its end), and the wal_compression methods it used. */
export async function runWalWorkload(
  cluster: SandboxCluster,
  o: WalWorkloadOptions,
): Promise<{ start: Lsn; end: Lsn; compressions: string[] }> {
  const q = (sql: string, db = 'postgres') => cluster.query(sql, [], db);
  const compressions: string[] = [];
  const start = parseLsn((await cluster.query<{ l: string }>('SELECT pg_current_wal_lsn()::text AS l'))[0]!.l);
  await q('CREATE TABLE items (id int PRIMARY KEY, payload text, n int)');
  await q('INSERT INTO items SELECT g, md5(g::text), 0 FROM generate_series(1, 20000) g');
  await q('UPDATE items SET n = n + 1 WHERE id % 3 = 0');
  await q('DELETE FROM items WHERE id > 12000');
  await q('VACUUM items'); // empty tail pages: an smgr truncate
  await q('CREATE TABLE docs (id int, body text)');
  await q(
    `INSERT INTO docs SELECT g, (SELECT string_agg(md5(random()::text || x.i || g.g), '') FROM generate_series(1, 2500) AS x(i)) FROM generate_series(1, ${o.docs}) AS g(g)`,
  );
  await q('CHECKPOINT'); // full-page images from here on
  await q('UPDATE items SET n = n + 1 WHERE id % 5 = 0');
  for (const method of ['pglz', 'lz4', 'zstd']) {
    try {
      await q(`ALTER SYSTEM SET wal_compression = '${method}'`); // lz4 and zstd only where the build has them
    } catch (e) {
      if (!o.skipMissingCompression) throw e;
      continue;
    }
    compressions.push(method);
    await q('SELECT pg_reload_conf()');
    await q('CHECKPOINT');
    await q('UPDATE items SET n = n + 1 WHERE id % 7 = 0');
  }
  await q("ALTER SYSTEM SET wal_compression = 'off'");
  await q('SELECT pg_reload_conf()');
  await q('CREATE INDEX items_n ON items (n)');
  await q('CREATE INDEX items_h ON items USING hash (payload)');
  await q("CREATE INDEX docs_gin ON docs USING gin (to_tsvector('simple', left(body, 200)))");
  await q('CREATE TABLE pts (p point, r int4range)');
  await q('INSERT INTO pts SELECT point(g, g % 97), int4range(g, g + 10) FROM generate_series(1, 3000) g');
  await q('CREATE INDEX pts_gist ON pts USING gist (p)');
  await q('CREATE INDEX pts_spg ON pts USING spgist (r)');
  await q('CREATE INDEX items_brin ON items USING brin (id)');
  await q('CREATE SEQUENCE s1');
  await q("SELECT nextval('s1') FROM generate_series(1, 100)");
  await q('TRUNCATE docs');
  await q('CREATE DATABASE db_wal STRATEGY WAL_LOG');
  await q('CREATE TABLE in_db_wal (a int)', 'db_wal');
  await q('INSERT INTO in_db_wal SELECT generate_series(1, 1000)', 'db_wal');
  await q('CREATE DATABASE db_copy STRATEGY FILE_COPY');
  await q('DROP DATABASE db_copy');
  if (o.extraCases) {
    await q('CREATE DATABASE db_ts TABLESPACE ts2 STRATEGY FILE_COPY');
    await q('CREATE TABLE in_default (a int) TABLESPACE pg_default', 'db_ts'); // the database now spans two tablespaces
    await q('INSERT INTO in_default SELECT generate_series(1, 100)', 'db_ts');
    await q('DROP DATABASE db_ts');
  }
  await q('ALTER TABLE items SET TABLESPACE ts2');
  await q('CREATE TABLE gone (a int, b text)');
  await q("INSERT INTO gone SELECT g, repeat('z', 500) FROM generate_series(1, 2000) g");
  await q('DROP TABLE gone');
  await q('CREATE UNLOGGED TABLE ul (a int)');
  await q('INSERT INTO ul SELECT generate_series(1, 1000)');
  await q('BEGIN; CREATE TABLE rolled (a int); INSERT INTO rolled VALUES (1); ROLLBACK');
  if (o.extraCases)
    await q('BEGIN; CREATE TABLE kept (a int); SAVEPOINT sp; CREATE TABLE sub_rolled (a int); ROLLBACK TO sp; COMMIT');
  await q("BEGIN; CREATE TABLE prep_rolled (a int); PREPARE TRANSACTION 'p1'");
  await q("ROLLBACK PREPARED 'p1'");
  if (o.extraCases) {
    await q("BEGIN; DROP TABLE kept; PREPARE TRANSACTION 'p2'");
    await q("COMMIT PREPARED 'p2'");
  }
  await q('VACUUM FULL pts');
  await q(`SELECT pg_logical_emit_message(false, 'big', repeat('m', ${o.messageMiB} * 1024 * 1024))`);
  if (o.extraCases) await q('CHECKPOINT');
  await q('DELETE FROM items WHERE id < 100');
  await q('VACUUM items');
  const [sw] = await cluster.query<{ l: string }>('SELECT pg_switch_wal()::text AS l');
  return { start, end: parseLsn(sw!.l), compressions };
}
