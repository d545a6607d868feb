// Timelines end to end, after PostgreSQL's 028_pitr_timelines: a point-in-time restore
// becomes the new primary (timeline 2) archiving into the same home; it is backed up (a
// level 1 on timeline 1's base takes a level 0, and says so) and changed. Then restores
// land exactly on a time on timeline 1 before the fork, a time on timeline 2, the latest
// state (timeline 2), and with --timeline 1 the old primary's last state.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openbar } from '../harness/cli.js';
import { makePgEnv, ok, removeEnv, restoreAndStart, tableChecksums, type PgEnv } from '../harness/pg.js';
import { SandboxCluster } from '../../src/engine/postgres/server/sandbox.js';

type Sums = Record<string, string>;

/** now() as the server prints it (with its zone), once what came before is committed and before what comes after. */
async function instant(c: SandboxCluster): Promise<string> {
  await new Promise((r) => setTimeout(r, 50));
  const [r] = await c.query<{ t: string }>('SELECT now()::text AS t');
  await new Promise((r) => setTimeout(r, 50));
  return r!.t;
}

describe('restores across timelines', () => {
  let env: PgEnv;
  let second: SandboxCluster;
  let secondConfig: string;
  const started: (SandboxCluster | undefined)[] = [];
  const at: Record<string, string> = {};
  const sums: Record<string, Sums> = {};

  before(async () => {
    env = await makePgEnv('timelines');
    const c = env.cluster;
    await c.query('CREATE TABLE t (id int primary key, step text)');
    ok(openbar(['backup'], { config: env.config }), 'level 0 on timeline 1');
    await c.query("INSERT INTO t SELECT g, 'a0' FROM generate_series(1, 300) g");
    sums.a0 = await tableChecksums(c);
    at.a0 = await instant(c);
    await c.query("INSERT INTO t SELECT g, 'a1' FROM generate_series(301, 600) g");
    sums.a1 = await tableChecksums(c);
    at.a1 = await instant(c);
    // what timeline 1 goes on to after the point the restore will fork at
    await c.query("INSERT INTO t SELECT g, 'b, timeline 1 only' FROM generate_series(601, 900) g");
    sums.b = await tableChecksums(c);
    ok(openbar(['log', 'backup'], { config: env.config }), 'log backup');
    c.stop('fast');
  });
  after(() => removeEnv(env, [env.cluster, second, ...started]));

  it('a restore to a time becomes the new primary on timeline 2, archiving into the same home', async () => {
    // archive settings preserved: the restored server archives through the same config
    const dataDir = path.join(env.dir, 'second');
    ok(openbar(['restore', '--data-dir', dataDir, '--until-time', at.a1!], { config: env.config }), 'restore to a1');
    second = await SandboxCluster.adopt(dataDir, path.join(env.dir, 'sock-second'));
    second.start();
    await second.waitForPromotion();
    assert.deepEqual(await tableChecksums(second), sums.a1);
    // its own config: same home and server, its data directory and port
    secondConfig = path.join(env.dir, 'second.conf');
    fs.writeFileSync(
      secondConfig,
      fs
        .readFileSync(env.config, 'utf8')
        .replace(/^pg_data = .*$/m, `pg_data = ${dataDir}`)
        .replace(/^pg_host = .*$/m, `pg_host = ${second.socketDir}`)
        .replace(/^pg_port = .*$/m, `pg_port = ${second.port}`),
    );
  });

  it('a level 1 on timeline 2 whose base is on timeline 1 takes a level 0, and says so', async () => {
    const r = ok(openbar(['backup', '-L', '1'], { config: secondConfig }), 'backup -L 1 on timeline 2');
    assert.match(r.stdout, /is on timeline 1, the server on 2: taking level 0/);
    await second.query("INSERT INTO t SELECT g, 'c, timeline 2' FROM generate_series(601, 750) g");
    sums.c = await tableChecksums(second);
    at.c = await instant(second);
    await second.query("UPDATE t SET step = 'd, timeline 2' WHERE id <= 100");
    sums.d = await tableChecksums(second);
    ok(openbar(['log', 'backup'], { config: secondConfig }), 'log backup on timeline 2');
    second.stop('fast');
    const names = (
      JSON.parse(ok(openbar(['sm', 'savesets', '--json'], { config: env.config }), 'savesets').stdout) as {
        name: string;
      }[]
    ).map((s) => s.name);
    assert.ok(names.includes('00000002.history'), 'the new timeline archived its history');
  });

  const restoreTo = async (name: string, flags: string[], want: () => Sums, plan?: RegExp) => {
    if (plan)
      assert.match(
        ok(
          openbar(['restore', '--data-dir', path.join(env.dir, `plan-${name}`), '--plan', ...flags], {
            config: env.config,
          }),
          `plan ${name}`,
        ).stdout,
        plan,
      );
    const { cluster } = await restoreAndStart(env, flags, name);
    started.push(cluster);
    assert.deepEqual(await tableChecksums(cluster), want(), name);
    cluster.stop('immediate');
  };

  it('lands on a time on timeline 1 before the fork (the timeline current then, and following timeline 2)', async () => {
    await restoreTo(
      'a0',
      ['--until-time', at.a0!],
      () => sums.a0!,
      /on timeline 1; recovery to time[^\n]*\nnote: timeline 2 began after /,
    );
    await restoreTo(
      'a0-tl2',
      ['--until-time', at.a0!, '--timeline', '2'],
      () => sums.a0!,
      /on timeline 2; recovery to time/,
    );
  });

  it('lands on a time on timeline 2', async () => {
    await restoreTo('c', ['--until-time', at.c!], () => sums.c!, /^backup \d+ \(level 0, .*\n.* on timeline 2/);
  });

  it('restores the latest state of timeline 2, and says timeline 1 went on elsewhere', async () => {
    await restoreTo(
      'latest',
      [],
      () => sums.d!,
      /note: timeline 1 has WAL this restore does not follow .*give --timeline 1/,
    );
  });

  it("with --timeline 1, restores the old primary's last state", async () => {
    await restoreTo('latest-tl1', ['--timeline', '1'], () => sums.b!, /on timeline 1; recovery to the latest state/);
  });
});
