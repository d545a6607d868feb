// What openbar must do on every PostgreSQL major, run against a real server of that major
// (test/harness/pg-majors.ts): a level 0 under pgbench, a FILE_COPY database made after it,
// levels 1 (by WAL, by scan) and 2, restores to the latest state and to a time, an xid and
// a named restore point with every table's rows equal and amcheck clean, verify and
// verify --restore-test. `full` runs every step; `small` leaves out the level 1 by scan and
// the restores to a time and an xid. `todo` names the steps that wait on engine work.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { SandboxCluster } from '../../src/engine/postgres/server/sandbox.js';
import { majorOfVersionNum } from '../../src/engine/postgres/format/server-version.js';
import { openbar } from '../harness/cli.js';
import {
  amcheckAnyMajor,
  makePgEnv,
  ok,
  removeEnv,
  restoreAndStart,
  serverVersionNum,
  tableChecksums,
  type PgEnv,
} from '../harness/pg.js';
import { majorBins, type Major } from '../harness/pg-majors.js';

export interface MajorSuiteOptions {
  readonly set: 'full' | 'small';
  /** step name -> why it cannot pass yet (the missing piece); run as node:test todo */
  readonly todo?: Partial<Record<'level 1 by wal' | 'restore test', string>>;
}

interface BackupResult {
  id: number;
  level: number;
  method: string | null;
  levels: { space: string; level: number; base: number | null }[];
}

type Sums = Record<string, Record<string, string>>;

export function majorSuite(major: Major, o: MajorSuiteOptions): void {
  describe(`PostgreSQL ${major}: backup, restore and verify (${o.set} set)`, () => {
    const bins = majorBins(major);
    let env: PgEnv;
    const started: SandboxCluster[] = [];
    const backups: BackupResult[] = [];
    const marks: { kind: 'time' | 'xid' | 'name'; value: string; sums: Record<string, string> }[] = [];
    let latest: Sums;
    const fileCopy = major >= 15 ? ' STRATEGY FILE_COPY' : ''; // before 15 CREATE DATABASE copies files always
    const q = (sql: string, db = 'postgres') => env.cluster.query(sql, [], db);
    const backup = (level: number, method?: 'wal' | 'scan'): BackupResult =>
      JSON.parse(
        ok(
          openbar(
            [...(method ? ['--set', `incremental_method=${method}`] : []), 'backup', '-L', String(level), '--json'],
            {
              config: env.config,
            },
          ),
          `backup -L ${level}${method ? ` by ${method}` : ''}`,
        ).stdout,
      ) as BackupResult;
    const sumsOf = async (c: SandboxCluster): Promise<Sums> => ({
      postgres: await tableChecksums(c, 'postgres'),
      fc: await tableChecksums(c, 'fc'),
    });
    const restored = async (flags: string[], name: string): Promise<SandboxCluster> => {
      const { cluster } = await restoreAndStart(env, flags, name);
      started.push(cluster);
      assert.equal(
        majorOfVersionNum(await serverVersionNum(cluster)),
        major,
        'the restored copy runs on the same major',
      );
      return cluster;
    };

    before(async () => {
      env = await makePgEnv(`pg${major}`, { bins });
      assert.equal(
        majorOfVersionNum(await serverVersionNum(env.cluster)),
        major,
        `${bins.bin} runs PostgreSQL ${major}`,
      );
      env.cluster.pgbenchInit(2);
      await q('CREATE TABLE ledger (id int PRIMARY KEY, v text, n int)');
      await q('INSERT INTO ledger SELECT g, md5(g::text), 0 FROM generate_series(1, 10000) g');
    });
    after(() => removeEnv(env, [env.cluster, ...started]));

    it('takes a level 0 while pgbench writes', async () => {
      const load = env.cluster.pgbench(3, 2);
      await new Promise((r) => setTimeout(r, 500));
      backups.push(backup(0));
      await load;
      assert.equal(backups[0]!.level, 0);
    });

    it(`makes a database by file copy after it (CREATE DATABASE${fileCopy})`, async () => {
      await q(`CREATE DATABASE fc${fileCopy}`);
      await q("CREATE TABLE copied AS SELECT g AS id, repeat('c', 50) AS v FROM generate_series(1, 5000) g", 'fc');
      await q('UPDATE ledger SET n = n + 1 WHERE id % 3 = 0');
      await env.cluster.pgbench(1, 2);
      assert.equal((await tableChecksums(env.cluster, 'fc'))['public.copied']?.split(':')[0], '5000');
    });

    const lastLevel1 = () => [...backups].reverse().find((b) => b.level === 1);

    it('takes a level 1 by WAL', o.todo?.['level 1 by wal'] ? { todo: o.todo['level 1 by wal'] } : {}, () => {
      const b = backup(1, 'wal');
      backups.push(b);
      assert.equal(b.method, 'wal');
      assert.ok(
        b.levels.every((l) => l.level === 1 && l.base === backups[0]!.id),
        JSON.stringify(b.levels),
      );
    });

    if (o.set === 'full')
      it('takes a level 1 by scan', async () => {
        await q('DELETE FROM ledger WHERE id > 9000');
        await q('VACUUM ledger');
        await q('INSERT INTO copied SELECT g, md5(g::text) FROM generate_series(5001, 6000) g', 'fc');
        const b = backup(1, 'scan');
        backups.push(b);
        assert.equal(b.method, 'scan');
        assert.ok(
          b.levels.every((l) => l.level === 1 && l.base === backups[0]!.id),
          JSON.stringify(b.levels),
        );
      });

    it('takes a level 2 on the level 1 while pgbench writes', async () => {
      await q('CREATE TABLE made_late AS SELECT g FROM generate_series(1, 3000) g');
      const load = env.cluster.pgbench(2, 2);
      await new Promise((r) => setTimeout(r, 300));
      const b = backup(2);
      await load;
      backups.push(b);
      const base = lastLevel1();
      assert.ok(base, 'a level 1 to chain on');
      assert.ok(
        b.levels.every((l) => l.level === 2 && l.base === base.id),
        JSON.stringify(b.levels),
      );
    });

    it('marks instants by time, xid and restore point', async () => {
      const kinds = o.set === 'full' ? (['time', 'xid', 'name'] as const) : (['name'] as const);
      const c = await env.cluster.client();
      try {
        for (const [k, kind] of kinds.entries()) {
          await c.query('BEGIN');
          const xid = (await c.query<{ x: string }>('SELECT txid_current()::text AS x')).rows[0]!.x;
          await c.query('UPDATE ledger SET n = n + 1, v = md5(v) WHERE id % 4 = $1', [k]);
          await c.query('COMMIT');
          const sums = await tableChecksums(env.cluster, 'postgres', ['public.ledger']);
          const value =
            kind === 'time'
              ? (
                  await c.query<{ t: string }>(
                    "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00' AS t",
                  )
                ).rows[0]!.t
              : kind === 'xid'
                ? xid
                : (ok(openbar(['log', 'mark', `point-${major}`], { config: env.config }), 'log mark'),
                  `point-${major}`);
          marks.push({ kind, value, sums });
          await new Promise((r) => setTimeout(r, 300));
        }
      } finally {
        await c.end();
      }
      await q("UPDATE ledger SET v = 'after the marks'");
      latest = await sumsOf(env.cluster);
      ok(openbar(['log', 'backup'], { config: env.config }), 'log backup');
      assert.equal(new Set(marks.map((m) => JSON.stringify(m.sums))).size, marks.length);
    });

    it('restores the latest state through the chain: rows equal in every database, amcheck clean', async () => {
      const c = await restored([], 'latest');
      assert.deepEqual(await sumsOf(c), latest);
      const check = await amcheckAnyMajor(c);
      assert.ok(check.ok, check.output);
      c.stop('fast');
    });

    for (const kind of o.set === 'full' ? (['time', 'xid', 'name'] as const) : (['name'] as const))
      it(`restores to a mark by ${kind === 'name' ? 'restore point' : kind}`, async () => {
        const m = marks.find((x) => x.kind === kind)!;
        const c = await restored([`--until-${kind}`, m.value], `mark-${kind}`);
        assert.deepEqual(await tableChecksums(c, 'postgres', ['public.ledger']), m.sums, `${kind} ${m.value}`);
        c.stop('fast');
      });

    it('verify passes the level 0 and the latest backup', () => {
      for (const id of [backups[0]!.id, backups.at(-1)!.id]) {
        const r = openbar(['verify', String(id), '--json'], { config: env.config });
        assert.ok(r.status === 0 || r.status === 3, r.stderr);
        const failed = (JSON.parse(r.stdout) as { checks: { name: string; passed: boolean }[] }).checks.filter(
          (x) => !x.passed,
        );
        assert.deepEqual(failed, [], `verify ${id}`);
        assert.equal(r.status, 0);
      }
    });

    it(
      'verify --restore-test starts the copy with the same major',
      o.todo?.['restore test'] ? { todo: o.todo['restore test'] } : {},
      () => {
        const r = openbar(['--set', `pg_bin=${bins.bin}`, 'verify', 'latest', '--restore-test', '--json'], {
          config: env.config,
        });
        assert.equal(r.status, 0, `${r.stderr}${r.stdout}`);
      },
    );
  });
}
