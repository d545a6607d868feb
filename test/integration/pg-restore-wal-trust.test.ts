// A restore never loses committed data silently through the WAL: a damaged or missing WAL
// file on the way to the target fails the plan and the restore before anything is written,
// naming the file and how far the WAL reaches (--accept-wal-gap takes that point, exactly);
// restore_command stops recovery at a damaged file instead of ending it there; status and
// verify show the gap. Salvage never imports a test copy's timeline.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openbar, savesets } from '../harness/cli.js';
import { makePgEnv, ok, removeEnv, restoreAndStart, tableChecksums, type PgEnv } from '../harness/pg.js';
import { flipStoredByte } from '../harness/volume-surgery.js';
import { SandboxCluster } from '../../src/engine/postgres/server/sandbox.js';

const walSets = (config: string, name?: string) =>
  savesets(config).filter((s) => s.kind === 'wal' && (name === undefined || s.name === name));

describe('a restore checks the WAL on the way to its target before it writes', () => {
  let env: PgEnv;
  const started: (SandboxCluster | undefined)[] = [];
  const wal: string[] = [];
  let afterFirst: Record<string, string>;
  let last: Record<string, string>;
  let unstarted: string;

  before(async () => {
    env = await makePgEnv('wal-trust', { settings: { compression: 'none' } });
    await env.cluster.query('CREATE TABLE t (id int primary key, batch int)');
    ok(openbar(['backup'], { config: env.config }), 'backup');
    for (const batch of [1, 2, 3]) {
      await env.cluster.query(
        `INSERT INTO t SELECT g, ${batch} FROM generate_series(${batch * 1000}, ${batch * 1000 + 499}) g`,
      );
      wal.push(
        (
          JSON.parse(ok(openbar(['log', 'backup', '--json'], { config: env.config }), 'log backup').stdout) as {
            walFile: string;
          }
        ).walFile,
      );
      if (batch === 1) afterFirst = await tableChecksums(env.cluster);
    }
    last = await tableChecksums(env.cluster);
  });
  after(() => removeEnv(env, [env.cluster, ...started]));

  it('restores to the latest state when every file is there (the restore the later damage must stop)', () => {
    unstarted = path.join(env.dir, 'restored-before-damage');
    const r = ok(
      openbar(['restore', '--data-dir', unstarted, '--archive-mode', 'off'], { config: env.config }),
      'restore',
    );
    assert.match(r.stdout, new RegExp(`\\.\\. ${wal[2]} `), 'the WAL to the newest file');
  });

  it('a damaged WAL save set fails --plan and the restore, naming the file and how far the WAL reaches', () => {
    const [s] = walSets(env.config, wal[1]);
    flipStoredByte(path.join(env.home, 'volumes', s!.pool, `${s!.volumes[0]}.vol`), s!.id);
    const dir = path.join(env.dir, 'refused');
    for (const flags of [['--plan'], []]) {
      const r = openbar(['restore', '--data-dir', dir, ...flags], { config: env.config });
      assert.equal(r.status, 1, flags.join(' '));
      assert.match(
        r.stderr,
        new RegExp(
          `^openbar: the latest state needs WAL file ${wal[1]}, which is damaged \\(.+\\); the archived WAL reaches [0-9A-F]+/[0-9A-F]+: restore to that point with --accept-wal-gap`,
        ),
      );
    }
    assert.equal(fs.existsSync(dir), false, 'nothing written');
    assert.doesNotMatch(
      fs.readFileSync(path.join(env.home, 'activity.log'), 'utf8'),
      /--restart/,
      'a refused restore is not one to resume',
    );
  });

  it('restore_command stops recovery at the damaged file instead of taking it for the end of the WAL', async () => {
    const dest = path.join(env.dir, 'seg');
    const r = openbar(['log', 'restore', wal[1]!, dest], { config: env.config });
    assert.equal(r.status, 255);
    assert.match(r.stderr, /^openbar: .*checksum/i);
    assert.equal(fs.existsSync(dest), false);
    assert.equal(
      openbar(['log', 'restore', '00000005.history', dest], { config: env.config }).status,
      1,
      'not stored: 1, quietly',
    );
    // a standby (run in its data directory, standby.signal there) retries instead: 1
    const standby = path.join(env.dir, 'standby-dir');
    fs.mkdirSync(standby);
    fs.writeFileSync(path.join(standby, 'standby.signal'), '');
    assert.equal(
      openbar(['log', 'restore', wal[1]!, dest], { config: env.config, cwd: standby }).status,
      1,
      'a standby retries',
    );
    // the restore made before the damage: started now, it must refuse to go on, not promote short of its target
    const c = await SandboxCluster.adopt(unstarted, path.join(env.dir, 'sock-unstarted'));
    started.push(c);
    // it may open for read-only queries once consistent (hot standby), then stops at the file
    try {
      c.start();
    } catch {
      /* stopped before it was ready */
    }
    const deadline = Date.now() + 120_000;
    while (fs.existsSync(path.join(unstarted, 'postmaster.pid')) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 200));
    assert.equal(fs.existsSync(path.join(unstarted, 'postmaster.pid')), false, 'the server stopped');
    const log = fs.readFileSync(c.logFile, 'utf8');
    assert.match(log, new RegExp(`FATAL: .*could not restore file "${wal[1]}" from archive`));
    assert.doesNotMatch(log, /selected new timeline ID|database system is ready to accept connections/);
  });

  it('--accept-wal-gap recovers exactly to the end of the WAL before the gap: the first batch, not the later ones', async () => {
    const { cluster, result } = await restoreAndStart(env, ['--accept-wal-gap'], 'gap');
    started.push(cluster);
    assert.match(
      result.stdout,
      new RegExp(`WARNING: WAL file ${wal[1]} is damaged .*: recovery ends at [0-9A-F]+/[0-9A-F]+, before the target`),
    );
    assert.deepEqual(await tableChecksums(cluster), afterFirst);
    assert.notDeepEqual(afterFirst, last);
    cluster.stop('immediate');
  });

  it('verify and status show a missing file, and the restore names it', () => {
    const [s] = walSets(env.config, wal[1]);
    ok(openbar(['sm', 'delete', '--force', String(s!.id)], { config: env.config }), 'sm delete');
    const r = openbar(['restore', '--data-dir', path.join(env.dir, 'refused2'), '--plan'], { config: env.config });
    assert.equal(r.status, 1);
    assert.match(r.stderr, new RegExp(`needs WAL file ${wal[1]}, which is not in the Logs pool`));
    const v = openbar(['verify', 'latest', '--quick'], { config: env.config });
    assert.equal(v.status, 3);
    assert.match(
      v.stdout,
      new RegExp(
        `WAL file ${wal[1]} is missing: point-in-time restores from this backup stop before it \\(archived WAL resumes at ${wal[2]}\\)`,
      ),
    );
    const st = ok(openbar(['status'], { config: env.config }), 'status');
    assert.match(st.stdout, new RegExp(`timeline 1: \\d+ segment\\(s\\), \\w+ \\.\\. ${wal[2]}, 1 MISSING: ${wal[1]}`));
    const json = JSON.parse(ok(openbar(['status', '--json'], { config: env.config }), 'status --json').stdout) as {
      wal: { timelines: { gaps: { from: string }[] }[] };
    };
    assert.deepEqual(
      json.wal.timelines[0]!.gaps.map((g) => g.from),
      [wal[1]],
    );
  });
});

describe("salvage takes only this server's own WAL: the morning refresh of a test copy", () => {
  let env: PgEnv;
  const started: (SandboxCluster | undefined)[] = [];
  let copyDir: string;

  before(async () => {
    env = await makePgEnv('salvage-copy');
    await env.cluster.query(
      "CREATE TABLE t AS SELECT g AS id, 'before the copy' AS note FROM generate_series(1, 200) g",
    );
    ok(openbar(['backup'], { config: env.config }), 'backup');
    ok(openbar(['log', 'backup'], { config: env.config }), 'log backup');
  });
  after(() => removeEnv(env, [env.cluster, ...started]));

  it('a copy restored with --archive-mode off, started (timeline 2) and used, keeps its WAL to itself', async () => {
    const { cluster } = await restoreAndStart(env, [], 'copy');
    copyDir = cluster.dataDir;
    await cluster.query("INSERT INTO t SELECT g, 'only in the copy' FROM generate_series(1000, 1999) g");
    await cluster.query('SELECT pg_switch_wal()');
    await cluster.query("INSERT INTO t SELECT g, 'only in the copy' FROM generate_series(2000, 2099) g");
    cluster.stop('fast');
    assert.ok(fs.readdirSync(path.join(copyDir, 'pg_wal')).includes('00000002.history'));
    assert.equal(walSets(env.config).filter((s) => s.name.startsWith('00000002')).length, 0);
  });

  it("refreshed into the same directory: nothing of the copy is archived, the restore has the primary's newest commits, --plan says why", async () => {
    await env.cluster.query("INSERT INTO t SELECT g, 'the primary went on' FROM generate_series(5000, 5099) g");
    ok(openbar(['log', 'backup'], { config: env.config }), 'log backup');
    const sums = await tableChecksums(env.cluster);
    const plan = ok(
      openbar(['restore', '--data-dir', copyDir, '--archive-mode', 'off', '--plan'], { config: env.config }),
      'plan',
    );
    // without the copy's mark (a copy made by hand): its timeline is still not the archive's
    fs.rmSync(path.join(copyDir, 'openbar_restored_copy'), { force: true });
    const plan2 = ok(
      openbar(['restore', '--data-dir', copyDir, '--archive-mode', 'off', '--plan'], { config: env.config }),
      'plan without the mark',
    );
    ok(openbar(['restore', '--data-dir', copyDir, '--archive-mode', 'off'], { config: env.config }), 'refresh');
    assert.deepEqual(
      walSets(env.config)
        .filter((s) => s.name.startsWith('00000002'))
        .map((s) => s.name),
      [],
      'nothing of timeline 2 archived',
    );
    const c = await SandboxCluster.adopt(copyDir, path.join(env.dir, 'sock-refresh'));
    started.push(c);
    c.start();
    await c.waitForPromotion();
    assert.deepEqual(await tableChecksums(c), sums);
    c.stop('immediate');
    // and the archive still restores the primary's latest state elsewhere
    const { cluster } = await restoreAndStart(env, [], 'latest');
    started.push(cluster);
    assert.deepEqual(await tableChecksums(cluster), sums);
    cluster.stop('immediate');
    assert.match(
      plan.stdout,
      /salvage: \d+ WAL file\(s\) in .* not salvaged: .* is a copy openbar restored with --archive-mode off/,
    );
    assert.doesNotMatch(plan.stdout, /salvage would store/);
    assert.match(
      plan2.stdout,
      /salvage: 00000002\.history: a timeline the archive does not know; history files are never salvaged/,
    );
    assert.match(plan2.stdout, /salvage: 00000002[0-9A-F]{16}: timeline 2 is not in the archive's history/);
  });
});

describe('a restore to a time reads on to a transaction after it, however late the WAL was archived', () => {
  let env: PgEnv;
  const started: (SandboxCluster | undefined)[] = [];
  let atTarget: Record<string, string>;
  let target: string;
  let second: string;

  before(async () => {
    env = await makePgEnv('wal-time');
    const c = env.cluster;
    await c.query('CREATE TABLE t (id int primary key, batch int)');
    ok(openbar(['backup'], { config: env.config }), 'backup');
    // the archiver stalls: what follows is archived only after the target time
    await c.query("ALTER SYSTEM SET archive_command = '/bin/false'");
    await c.query('SELECT pg_reload_conf()');
    await c.query('INSERT INTO t SELECT g, 1 FROM generate_series(1, 500) g');
    await c.query('SELECT pg_switch_wal()');
    atTarget = await tableChecksums(c);
    await new Promise((r) => setTimeout(r, 50));
    [{ target }] = (await c.query<{ target: string }>('SELECT now()::text AS target')) as [{ target: string }];
    await new Promise((r) => setTimeout(r, 50));
    await c.query('INSERT INTO t SELECT g, 2 FROM generate_series(501, 1000) g');
    [{ second }] = (await c.query<{ second: string }>(
      'SELECT pg_walfile_name(pg_current_wal_insert_lsn()) AS second',
    )) as [{ second: string }];
    await c.query('ALTER SYSTEM RESET archive_command');
    await c.query('SELECT pg_reload_conf()');
    ok(openbar(['log', 'backup'], { config: env.config }), 'log backup');
    await c.query('INSERT INTO t SELECT g, 3 FROM generate_series(1001, 1500) g');
    ok(openbar(['log', 'backup'], { config: env.config }), 'log backup');
  });
  after(() => removeEnv(env, [env.cluster, ...started]));

  it('the file holding the first transaction after the time missing: the plan fails; --accept-wal-gap lands exactly on the time', async () => {
    const [s] = walSets(env.config, second);
    ok(openbar(['sm', 'delete', '--force', String(s!.id)], { config: env.config }), 'sm delete');
    const r = openbar(['restore', '--data-dir', path.join(env.dir, 'refused'), '--until-time', target, '--plan'], {
      config: env.config,
    });
    assert.equal(r.status, 1);
    assert.match(r.stderr, new RegExp(`needs WAL file ${second}, which is not in the Logs pool`));
    const { cluster, result } = await restoreAndStart(env, ['--until-time', target, '--accept-wal-gap'], 'time-gap');
    started.push(cluster);
    assert.match(result.stdout, /recovery ends at .*, before the target \(--accept-wal-gap\)/);
    assert.deepEqual(await tableChecksums(cluster), atTarget);
    cluster.stop('immediate');
  });
});
