// End to end with real level 1 and 2 backups: level 0, then level 1 and level 2 while
// pgbench writes, tables dropped, truncated and made in between. Restoring to the latest
// state uses the chain 2 <- 1 <- 0, restoring to the level 1's end uses 1 <- 0, each
// landing on the rows of its instant with pg_amcheck clean; verify passes both.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { SandboxCluster } from '../../src/engine/postgres/server/sandbox.js';
import { openbar } from '../harness/cli.js';
import { amcheck, makePgEnv, ok, removeEnv, restoreAndStart, tableChecksums, type PgEnv } from '../harness/pg.js';

interface Result {
  id: number;
  level: number;
  stopLsn: string;
  levels: { space: string; level: number; base: number | null }[];
  spaces: { space: string; imagePages: number }[];
}

describe('restore from real level 1 and 2 backups', () => {
  let env: PgEnv;
  const started: SandboxCluster[] = [];
  const backups: Result[] = [];
  let sumsAfterL1: Record<string, string>;
  let sumsLatest: Record<string, string>;
  const q = (sql: string) => env.cluster.query(sql);
  const backup = (level: number): Result =>
    JSON.parse(
      ok(openbar(['backup', '-L', String(level), '--json'], { config: env.config }), `backup -L ${level}`).stdout,
    ) as Result;

  before(async () => {
    env = await makePgEnv('levels');
    env.cluster.pgbenchInit(4);
    await q("CREATE TABLE shrink AS SELECT g AS id, repeat('s', 100) AS v FROM generate_series(1, 20000) g");
    await q('CREATE TABLE dropped AS SELECT g FROM generate_series(1, 10000) g');
    backups.push(backup(0));
    await env.cluster.pgbench(2, 2);
    await q('DELETE FROM shrink WHERE id > 500');
    await q('VACUUM shrink');
    await q('CREATE TABLE made_after AS SELECT g FROM generate_series(1, 5000) g');
    backups.push(backup(1));
    sumsAfterL1 = await tableChecksums(env.cluster);
    const load = env.cluster.pgbench(3, 2);
    await q('DROP TABLE dropped');
    await q('INSERT INTO made_after SELECT g FROM generate_series(5001, 50000) g');
    backups.push(backup(2)); // while pgbench writes
    await load;
    sumsLatest = await tableChecksums(env.cluster);
    ok(openbar(['log', 'backup'], { config: env.config }), 'log backup');
  });
  after(() => removeEnv(env, [env.cluster, ...started]));

  it('took a level 0, a level 1 and a level 2 chained on each other', () => {
    assert.deepEqual(
      backups.map((b) => b.level),
      [0, 1, 2],
    );
    assert.ok(
      backups[1]!.levels.every((l) => l.level === 1 && l.base === backups[0]!.id),
      JSON.stringify(backups[1]!.levels),
    );
    assert.ok(
      backups[2]!.levels.every((l) => l.level === 2 && l.base === backups[1]!.id),
      JSON.stringify(backups[2]!.levels),
    );
    // pages whose last change carries a full-page image came from the WAL, not the files: the
    // restores below land on the right rows with them (wal/block-images.ts)
    for (const b of backups.slice(1))
      assert.ok(b.spaces.reduce((a, s) => a + s.imagePages, 0) > 0, `level ${b.level}: ${JSON.stringify(b.spaces)}`);
    const plan = ok(
      openbar(['restore', '--data-dir', `${env.dir}/plan`, '--plan'], { config: env.config }),
      'plan',
    ).stdout;
    assert.match(plan, /pg_default +level 2 save set\(s\) [\d,]+ <- level 1 [\d,]+ <- level 0 [\d,]+\n/);
  });

  it('restores the latest state through 2 <- 1 <- 0', async () => {
    const { cluster } = await restoreAndStart(env, [], 'latest');
    started.push(cluster);
    assert.deepEqual(await tableChecksums(cluster), sumsLatest);
    const check = amcheck(cluster);
    assert.ok(check.ok, check.output);
    cluster.stop('fast');
  });

  // Clearing a visibility-map bit (an insert, update or delete on an all-visible page) is
  // replayed from the heap record, which names no visibility-map block: the WAL method
  // misses such changes, and the restore takes an older level's map with stale bits set
  // (PostgreSQL 17's incremental backup had the same bug). Backup side to fix: copy _vm
  // forks whole, or add the map page of every changed heap block.
  it('restores visibility maps that agree with their heap pages', async () => {
    const { cluster } = await restoreAndStart(env, [], 'vm');
    started.push(cluster);
    try {
      await cluster.query('CREATE EXTENSION IF NOT EXISTS pg_visibility');
      const tables = (
        await cluster.query<{ t: string }>(
          "SELECT format('%I.%I', schemaname, tablename) AS t FROM pg_tables WHERE schemaname = 'public'",
        )
      ).map((r) => r.t);
      const stale: string[] = [];
      for (const t of tables) {
        const [r] = await cluster.query<{ n: string }>(
          `SELECT count(*)::text AS n FROM pg_visibility('${t}') WHERE all_visible AND NOT pd_all_visible`,
        );
        if (r!.n !== '0') stale.push(`${t}: ${r!.n} page(s) all-visible in the map but not on the page`);
      }
      assert.deepEqual(stale, []);
    } finally {
      cluster.stop('fast');
    }
  });

  it('restores the level 1 end through 1 <- 0', async () => {
    const { cluster, result } = await restoreAndStart(env, ['--until-lsn', backups[1]!.stopLsn], 'level1');
    started.push(cluster);
    assert.match(result.stdout, new RegExp(`backup ${backups[1]!.id} \\(level 1`));
    // the level 1 was taken with no writes after it until the checksums were taken
    assert.deepEqual(await tableChecksums(cluster), sumsAfterL1);
    cluster.stop('fast');
  });

  const verifyFailures = (aid: number) => {
    const r = openbar(['verify', String(aid), '--json'], { config: env.config });
    assert.ok(r.status === 0 || r.status === 3, r.stderr);
    return (JSON.parse(r.stdout) as { checks: { name: string; passed: boolean; problems: string[] }[] }).checks.filter(
      (c) => !c.passed,
    );
  };

  it('verify passes the level 1 (taken with no writes going on), reading its base', () => {
    assert.deepEqual(verifyFailures(backups[1]!.id), []);
  });

  // The WAL method lists the pages changed before the backup's start; pages a relation
  // grows by after it (pgbench writing during the level 2) are in no level, so verify
  // reports them missing although WAL replay rewrites them. Backup side to fix.
  it('verify passes the level 2 taken under load', () => {
    assert.deepEqual(verifyFailures(backups[2]!.id), []);
  });
});
