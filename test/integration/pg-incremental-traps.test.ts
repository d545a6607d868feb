// Level 0 → workload → level 1 (by WAL, from WAL summaries) → workload → level 2 (by scan), with the traps of
// page-level incrementals in between: a database created with FILE_COPY (its files are
// copied without WAL) and one with WAL_LOG, a table truncated and refilled, a table
// dropped and a new one made, an unlogged table, a table moved to another tablespace and
// back. Restores to the latest state and to marks between the levels land exactly on
// the rows of their instant in every database, with pg_amcheck clean.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { giveToPostgres, type SandboxCluster } from '../../src/engine/postgres/server/sandbox.js';
import { openbar } from '../harness/cli.js';
import { amcheck, makePgEnv, ok, removeEnv, restoreAndStart, tableChecksums, type PgEnv } from '../harness/pg.js';

interface Result {
  id: number;
  level: number;
  method: string | null;
  levels: { space: string; level: number; base: number | null }[];
}
type Sums = Record<string, Record<string, string>>;

describe('level 1 and 2 chains through the traps', () => {
  let env: PgEnv;
  const started: SandboxCluster[] = [];
  const backups: Result[] = [];
  const marks: { name: string; sums: Sums }[] = [];
  let latest: Sums;
  const q = (sql: string, db = 'postgres') => env.cluster.query(sql, [], db);
  const backup = (level: number, method: string): Result =>
    JSON.parse(
      ok(
        openbar(['--set', `incremental_method=${method}`, 'backup', '-L', String(level), '--json'], {
          config: env.config,
        }),
        `backup -L ${level}`,
      ).stdout,
    ) as Result;
  const sumsOf = async (c: SandboxCluster, dbs: string[]): Promise<Sums> => {
    const out: Sums = {};
    for (const db of dbs) out[db] = await tableChecksums(c, db);
    if (out.postgres?.['public.ul']) out.postgres['public.ul'] = '0:-'; // unlogged: empty after any restore
    return out;
  };
  const mark = async (name: string, dbs: string[]) => {
    ok(openbar(['log', 'mark', name], { config: env.config }), 'log mark');
    marks.push({ name, sums: await sumsOf(env.cluster, dbs) });
  };

  before(async () => {
    env = await makePgEnv('traps');
    const ts = path.join(env.dir, 'ts2');
    fs.mkdirSync(ts);
    giveToPostgres(ts);
    await q(`CREATE TABLESPACE ts2 LOCATION '${ts}'`);
    await q("CREATE TABLE t_trunc AS SELECT g AS id, repeat('t', 200) AS v FROM generate_series(1, 20000) g");
    await q('CREATE TABLE t_drop AS SELECT g AS id FROM generate_series(1, 10000) g');
    await q('CREATE TABLE t_move AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 10000) g');
    await q('CREATE INDEX ON t_move (v)');
    await q('CREATE UNLOGGED TABLE ul AS SELECT g AS id FROM generate_series(1, 1000) g');
    backups.push(backup(0, 'auto'));

    // between level 0 and level 1
    await q('CREATE DATABASE fc STRATEGY FILE_COPY');
    await q('CREATE TABLE f AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 5000) g', 'fc');
    await q('TRUNCATE t_trunc');
    await q("INSERT INTO t_trunc SELECT g, 'after truncate' FROM generate_series(1, 300) g");
    await q('DROP TABLE t_drop');
    await q('CREATE TABLE t_new AS SELECT g AS id, g * 2 AS twice FROM generate_series(1, 8000) g');
    await q('ALTER TABLE t_move SET TABLESPACE ts2');
    await q('INSERT INTO ul SELECT g FROM generate_series(1001, 5000) g');
    await mark('before-level-1', ['postgres', 'fc']);
    await q('UPDATE t_new SET twice = 0 WHERE id <= 100');
    // the traps' WAL archived (and summarized) by archive_command: the level 1 takes it from the summaries
    ok(openbar(['log', 'backup'], { config: env.config }), 'log backup');
    await q('UPDATE t_new SET twice = 1 WHERE id > 7900');
    backups.push(backup(1, 'wal'));

    // between level 1 and level 2
    await q("UPDATE t_trunc SET v = 'changed after level 1' WHERE id % 3 = 0");
    await q('CREATE DATABASE wl STRATEGY WAL_LOG');
    await q('CREATE TABLE w AS SELECT g AS id FROM generate_series(1, 3000) g', 'wl');
    await q("UPDATE f SET v = 'fc changed' WHERE id <= 10", 'fc');
    await mark('between-1-and-2', ['postgres', 'fc', 'wl']);
    await q('ALTER TABLE t_move SET TABLESPACE pg_default');
    await q('DELETE FROM t_new WHERE id > 7000');
    backups.push(backup(2, 'scan'));

    await q("INSERT INTO t_trunc SELECT g, 'after level 2' FROM generate_series(1001, 1100) g");
    await q('INSERT INTO w SELECT g FROM generate_series(3001, 3500) g', 'wl');
    latest = await sumsOf(env.cluster, ['postgres', 'fc', 'wl']);
    ok(openbar(['log', 'backup'], { config: env.config }), 'log backup');
  });
  after(() => removeEnv(env, [env.cluster, ...started]));

  it('took the level 1 from WAL summaries, reading only the WAL not archived', () => {
    const log = fs.readFileSync(path.join(env.home, 'activity.log'), 'utf8');
    const m = new RegExp(`backup ${backups[1]!.id}: .*; (\\d+) WAL file\\(s\\) by their summaries`).exec(log);
    assert.ok(m, 'the level 1 says how it found its pages');
    assert.ok(Number(m[1]) >= 2, m[0]);
  });

  it('chained the levels, each space on the one before', () => {
    assert.deepEqual(
      backups.map((b) => [b.level, b.method]),
      [
        [0, null],
        [1, 'wal'],
        [2, 'scan'],
      ],
    );
    for (const l of backups[1]!.levels) assert.deepEqual([l.level, l.base], [1, backups[0]!.id], l.space);
    // ts2 was empty at level 0 and is a tablespace in every backup
    for (const l of backups[2]!.levels) assert.deepEqual([l.level, l.base], [2, backups[1]!.id], l.space);
  });

  const check = async (name: string, flags: string[], want: Sums) => {
    const { cluster } = await restoreAndStart(
      env,
      [...flags, '--map-tablespace', `ts2=${path.join(env.dir, `ts2-${name}`)}`],
      name,
    );
    started.push(cluster);
    for (const [db, sums] of Object.entries(want))
      assert.deepEqual(await tableChecksums(cluster, db), sums, `database ${db}`);
    const a = amcheck(cluster);
    assert.ok(a.ok, a.output);
    cluster.stop('fast');
  };

  it('restores the latest state through 2 <- 1 <- 0', async () => {
    await check('latest', [], latest);
  });

  it('restores to a mark between level 1 and level 2 through 1 <- 0', async () => {
    const m = marks.find((x) => x.name === 'between-1-and-2')!;
    const r = ok(
      openbar(
        [
          'restore',
          '--data-dir',
          path.join(env.dir, 'plan'),
          '--until-name',
          m.name,
          '--map-tablespace',
          `ts2=${path.join(env.dir, 'ts2-plan')}`,
          '--plan',
        ],
        { config: env.config },
      ),
      'plan',
    );
    assert.match(r.stdout, new RegExp(`^backup ${backups[1]!.id} \\(level 1`, 'm'));
    await check('between', ['--until-name', m.name], m.sums);
  });

  it('restores to a mark between level 0 and level 1 from the level 0', async () => {
    const m = marks.find((x) => x.name === 'before-level-1')!;
    await check('before', ['--until-name', m.name], m.sums);
  });

  it('verify passes the chain', () => {
    const r = openbar(['verify', 'latest'], { config: env.config });
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });
});
