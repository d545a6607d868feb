// A user tablespace restored remapped (beside the running original) and in place (over
// the stopped original, WAL in its pg_wal salvaged first).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SandboxCluster, giveToPostgres } from '../../src/engine/postgres/server/sandbox.js';
import { openbar } from '../harness/cli.js';
import { amcheck, makePgEnv, ok, removeEnv, restoreAndStart, tableChecksums, type PgEnv } from '../harness/pg.js';

describe('tablespaces', () => {
  let env: PgEnv;
  let tsDir: string;
  const started: SandboxCluster[] = [];
  let sums: Record<string, string>;

  before(async () => {
    env = await makePgEnv('tblspc');
    tsDir = path.join(env.dir, 'ts1');
    fs.mkdirSync(tsDir);
    giveToPostgres(tsDir);
    await env.cluster.query(`CREATE TABLESPACE ts1 LOCATION '${tsDir}'`);
    await env.cluster.query('CREATE TABLE moved (id int PRIMARY KEY, v text) TABLESPACE ts1');
    await env.cluster.query('CREATE INDEX moved_v ON moved (v) TABLESPACE ts1');
    await env.cluster.query('INSERT INTO moved SELECT g, repeat(md5(g::text), 4) FROM generate_series(1, 30000) g');
    await env.cluster.query('CREATE TABLE plain AS SELECT g AS id FROM generate_series(1, 1000) g');
    const b = ok(openbar(['backup', '--json'], { config: env.config }), 'backup');
    const r = JSON.parse(b.stdout) as { spaces: { space: string }[] };
    assert.deepEqual(r.spaces.map((s) => s.space).sort(), ['pg_default', 'pg_global', 'ts1']);
    await env.cluster.query("INSERT INTO moved SELECT g, 'after backup' FROM generate_series(30001, 30100) g");
    sums = await tableChecksums(env.cluster);
    ok(openbar(['log', 'backup'], { config: env.config }), 'log backup');
  });
  after(() => removeEnv(env, [env.cluster, ...started]));

  it("refuses to restore a copy over the running original's tablespace", () => {
    const before = fs.readdirSync(tsDir, { recursive: true }).length;
    const dir = path.join(env.dir, 'copy-unmapped');
    const r = openbar(['restore', '--data-dir', dir, '--archive-mode', 'off'], { config: env.config });
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(
      r.stderr,
      /tablespace ts1 would be restored to .*where the running server \(pid \d+\) of .* keeps it: restore it elsewhere with --map-tablespace ts1=NEWDIR/,
    );
    assert.equal(fs.readdirSync(tsDir, { recursive: true }).length, before);
    assert.ok(!fs.existsSync(dir), 'nothing written');
  });

  it('restores a tablespace remapped to a new directory', async () => {
    const newTs = path.join(env.dir, 'ts1-remapped');
    const { cluster } = await restoreAndStart(env, ['--map-tablespace', `ts1=${newTs}`], 'remapped');
    started.push(cluster);
    assert.deepEqual(await tableChecksums(cluster), sums);
    const [loc] = await cluster.query<{ l: string }>(
      "SELECT pg_tablespace_location(oid) AS l FROM pg_tablespace WHERE spcname = 'ts1'",
    );
    assert.equal(loc!.l, newTs);
    assert.ok(amcheck(cluster).ok);
    cluster.stop('immediate');
  });

  it("takes pg_basebackup's OLDDIR=NEWDIR form: the tablespace named by its old location", async () => {
    const newTs = path.join(env.dir, 'ts1=by-location');
    const escaped = newTs.replace('=', '\\=');
    const { cluster } = await restoreAndStart(env, ['--map-tablespace', `${tsDir}/=${escaped}`], 'by-location');
    started.push(cluster);
    assert.deepEqual(await tableChecksums(cluster), sums);
    const [loc] = await cluster.query<{ l: string }>(
      "SELECT pg_tablespace_location(oid) AS l FROM pg_tablespace WHERE spcname = 'ts1'",
    );
    assert.equal(loc!.l, newTs);
    cluster.stop('immediate');
    const dir = path.join(env.dir, 'copy-nowhere');
    const r = openbar(
      ['restore', '--data-dir', dir, '--archive-mode', 'off', '--map-tablespace', `/nowhere=${newTs}`],
      {
        config: env.config,
      },
    );
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /the backup has no tablespace at \/nowhere: tablespaces: ts1 \(oid \d+, /);
    assert.ok(!fs.existsSync(dir), 'nothing written');
  });

  it('restores in place over the stopped original, salvaging its unarchived WAL', async () => {
    // WAL written after the last archived segment lives only in pg_wal until salvaged
    await env.cluster.query("INSERT INTO moved SELECT g, 'only in pg_wal' FROM generate_series(40001, 40050) g");
    await env.cluster.query('CHECKPOINT');
    const finalSums = await tableChecksums(env.cluster);
    // stop without archiving the current segment: pretend the archiver was behind
    env.cluster.configure({ archive_command: "'/bin/false'" });
    await env.cluster.query('SELECT pg_reload_conf()');
    env.cluster.stop('immediate');
    const r = ok(
      openbar(['restore', '--data-dir', env.cluster.dataDir, '--archive-mode', 'off'], { config: env.config }),
      'restore in place',
    );
    assert.match(r.stdout, /salvaged \d+ WAL file\(s\)/);
    const cluster = await SandboxCluster.adopt(env.cluster.dataDir, path.join(env.dir, 'sock-inplace'));
    cluster.start();
    await cluster.waitForPromotion();
    started.push(cluster);
    assert.deepEqual(await tableChecksums(cluster), finalSums);
    const [loc] = await cluster.query<{ l: string }>(
      "SELECT pg_tablespace_location(oid) AS l FROM pg_tablespace WHERE spcname = 'ts1'",
    );
    assert.equal(loc!.l, tsDir);
    assert.ok(amcheck(cluster).ok);
    cluster.stop('immediate');
  });
});
