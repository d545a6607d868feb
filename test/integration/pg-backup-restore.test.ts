// The main job against a real cluster: a level-0 backup taken while pgbench writes,
// restored to the latest state and to marks by time, LSN, xid and restore point, each
// landing exactly on the rows of that instant; pg_amcheck clean; an unreachable target
// refused before anything is touched.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { SandboxCluster } from '../../src/engine/postgres/server/sandbox.js';
import { lastLine, openbar } from '../harness/cli.js';
import { amcheck, makePgEnv, ok, removeEnv, restoreAndStart, tableChecksums, type PgEnv } from '../harness/pg.js';

interface Mark {
  kind: 'time' | 'lsn' | 'xid' | 'name';
  value: string;
  sums: Record<string, string>;
}

describe('level-0 backup and point-in-time restore', () => {
  let env: PgEnv;
  const started: SandboxCluster[] = [];
  const marks: Mark[] = [];
  let latestSums: Record<string, string>;
  let backupId: number;

  before(async () => {
    env = await makePgEnv('pitr');
    env.cluster.pgbenchInit(5);
    await env.cluster.query('CREATE TABLE ledger (id int PRIMARY KEY, v text, n int)');
    await env.cluster.query('INSERT INTO ledger SELECT g, md5(g::text), 0 FROM generate_series(1, 20000) g');
    // backup while pgbench writes
    const load = env.cluster.pgbench(8, 2);
    await new Promise((r) => setTimeout(r, 1000));
    const b = ok(openbar(['backup'], { config: env.config }), 'backup');
    backupId = Number(lastLine(b.stdout));
    // marks while the load goes on: one writer on ledger, so each instant is exact
    const c = await env.cluster.client();
    try {
      const kinds: Mark['kind'][] = ['time', 'lsn', 'xid', 'name'];
      for (const [k, kind] of kinds.entries()) {
        await c.query('BEGIN');
        const {
          rows: [x],
        } = await c.query<{ xid: string }>('SELECT txid_current()::text AS xid');
        await c.query('UPDATE ledger SET n = n + 1, v = md5(v) WHERE id % 4 = $1', [k]);
        await c.query('INSERT INTO ledger SELECT g, $1, $2 FROM generate_series($3::int, $3::int + 499) g', [
          `batch ${k}`,
          k,
          30000 + k * 1000,
        ]);
        await c.query('COMMIT');
        const sums = await tableChecksums(env.cluster, 'postgres', ['public.ledger']);
        let value: string;
        if (kind === 'time')
          value = (
            await c.query<{ t: string }>(
              "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00' AS t",
            )
          ).rows[0]!.t;
        else if (kind === 'lsn')
          value = (await c.query<{ l: string }>('SELECT pg_current_wal_lsn()::text AS l')).rows[0]!.l;
        else if (kind === 'xid') value = x!.xid;
        else
          value =
            ok(openbar(['log', 'mark', 'before-batch-4', '--json'], { config: env.config }), 'log mark') &&
            'before-batch-4';
        marks.push({ kind, value, sums });
        await new Promise((r) => setTimeout(r, 300));
      }
    } finally {
      await c.end();
    }
    await load;
    await env.cluster.query("UPDATE ledger SET v = 'after all marks'");
    latestSums = await tableChecksums(env.cluster);
    ok(openbar(['log', 'backup'], { config: env.config }), 'log backup');
  });
  after(() => removeEnv(env, [env.cluster, ...started]));

  it('records the backup in the history and the boot file', () => {
    const boot = fs
      .readFileSync(path.join(env.home, 'ixbar.main'), 'utf8')
      .split('\n')
      .filter((l) => l && !l.startsWith('#'));
    const mine = boot.filter((l) => l.split(' ')[3] === String(backupId));
    assert.deepEqual(mine.map((l) => l.split(' ').slice(1, 3).join(' ')).sort(), [
      'backup_label B',
      'pg_default D',
      'pg_global R',
    ]);
    const h = JSON.parse(ok(openbar(['history', '--json'], { config: env.config }), 'history').stdout) as {
      aid: number;
      type: string;
      status: number;
      instances: unknown[];
    }[];
    assert.equal(h.find((a) => a.aid === backupId)?.status, 0);
    assert.equal(h.find((a) => a.aid === backupId)?.instances.length, 3);
  });

  it('restores the latest state: row checksums equal, pg_amcheck clean', async () => {
    const { cluster } = await restoreAndStart(env, [], 'latest');
    started.push(cluster);
    assert.deepEqual(await tableChecksums(cluster), latestSums);
    const check = amcheck(cluster);
    assert.ok(check.ok, check.output);
  });

  it('took marks that tell the instants apart', () => {
    const distinct = new Set([
      ...marks.map((m) => JSON.stringify(m.sums)),
      JSON.stringify({ 'public.ledger': latestSums['public.ledger'] }),
    ]);
    assert.equal(distinct.size, 5);
  });

  for (const kind of ['time', 'lsn', 'xid', 'name'] as const) {
    it(`lands exactly on a mark by ${kind}`, async () => {
      const m = marks.find((x) => x.kind === kind)!;
      const { cluster } = await restoreAndStart(env, [`--until-${kind}`, m.value], `mark-${kind}`);
      started.push(cluster);
      assert.deepEqual(
        await tableChecksums(cluster, 'postgres', ['public.ledger']),
        m.sums,
        `restored to ${kind} ${m.value}`,
      );
      cluster.stop('immediate');
    });
  }

  it('refuses an unreachable target before touching anything', () => {
    const dir = path.join(env.dir, 'untouched');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'PG_VERSION'), '15\n');
    const early = openbar(['restore', '--data-dir', dir, '--until-time', '2001-01-01 00:00:00+00'], {
      config: env.config,
    });
    assert.equal(early.status, 1);
    assert.match(
      early.stderr,
      /^openbar: no backup is consistent before time 2001-01-01 00:00:00\+00 \(2001-01-01 00:00:00 UTC\): the oldest backup \(\d+\) is consistent from /,
    );
    const late = openbar(['restore', '--data-dir', dir, '--until-lsn', 'FF/0'], { config: env.config });
    assert.equal(late.status, 1);
    assert.match(late.stderr, /^openbar: LSN FF\/0 needs WAL file \w+, which is not in the Logs pool/);
    const name = openbar(['restore', '--data-dir', dir, '--until-name', 'no-such-mark'], { config: env.config });
    assert.equal(name.status, 1);
    assert.match(name.stderr, /restore point 'no-such-mark' was not made/);
    assert.deepEqual(fs.readdirSync(dir), ['PG_VERSION']);
  });

  it('refuses bad input with one line and the right exit status', () => {
    const dir = path.join(env.dir, 'untouched2');
    fs.mkdirSync(dir);
    const bad = openbar(['restore', '--data-dir', dir, '--until-time', 'yesterday-ish'], { config: env.config });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /^openbar: --until-time 'yesterday-ish' is not a time/);
    const running = openbar(['restore', '--data-dir', env.cluster.dataDir], { config: env.config });
    assert.equal(running.status, 1);
    assert.match(running.stderr, /^openbar: a PostgreSQL server \(pid \d+\) is running in .*: stop the server/);
    const noConfig = openbar(['restore', '--data-dir', dir], { config: path.join(env.dir, 'missing.conf') });
    assert.equal(noConfig.status, 2);
    assert.match(noConfig.stderr, /^openbar: config file .*missing\.conf does not exist/);
    const plan = ok(openbar(['restore', '--data-dir', dir, '--plan'], { config: env.config }), 'plan');
    assert.match(plan.stdout, new RegExp(`backup ${backupId} \\(level 0`));
    assert.match(plan.stdout, /nothing changed/);
    assert.deepEqual(fs.readdirSync(dir), []);
    // a time without its zone: openbar and the restored server could read it differently
    const zoneless = openbar(['restore', '--data-dir', dir, '--until-time', '2026-11-22 14:05:00'], {
      config: env.config,
    });
    assert.equal(zoneless.status, 2);
    assert.match(
      zoneless.stderr,
      /^openbar: --until-time '2026-11-22 14:05:00' has no time zone: add one, e.g. '2026-11-22 14:05:00\+00'/,
    );
    // --plan checks what the restore checks: a directory that is neither empty nor a cluster's
    const full = path.join(env.dir, 'not-a-cluster');
    fs.mkdirSync(full);
    fs.writeFileSync(path.join(full, 'precious.txt'), 'keep me');
    const logBefore = fs.readFileSync(path.join(env.home, 'activity.log'), 'utf8').length;
    for (const flags of [['--plan'], []]) {
      const r = openbar(['restore', '--data-dir', full, ...flags], { config: env.config });
      assert.equal(r.status, 2, flags.join(' '));
      assert.match(r.stderr, /^openbar: .*not-a-cluster is not empty and does not hold a PostgreSQL data directory: /);
    }
    assert.deepEqual(fs.readdirSync(full), ['precious.txt']);
    assert.doesNotMatch(
      fs.readFileSync(path.join(env.home, 'activity.log'), 'utf8').slice(logBefore),
      /--restart/,
      'nothing to resume',
    );
    for (const r of [bad, running, noConfig, zoneless]) assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  });
});
