// kill -9 of `openbar backup` at each stage: no backup is reported (history, boot file),
// the server leaves backup mode, the next backup succeeds, and a restore uses the last
// good one.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { lastLine, openbar } from '../harness/cli.js';
import { makePgEnv, ok, removeEnv, restoreAndStart, tableChecksums, type PgEnv } from '../harness/pg.js';
import type { SandboxCluster } from '../../src/engine/postgres/server/sandbox.js';

describe('backup crash safety (kill -9)', () => {
  let env: PgEnv;
  let good: number;
  const started: SandboxCluster[] = [];
  const bootLines = () =>
    fs
      .readFileSync(path.join(env.home, 'ixbar.main'), 'utf8')
      .split('\n')
      .filter((l) => l && !l.startsWith('#') && l.split(' ')[2] !== 'L');
  const instances = () =>
    (
      JSON.parse(ok(openbar(['history', '--json'], { config: env.config }), 'history').stdout) as {
        instances: unknown[];
      }[]
    ).flatMap((a) => a.instances);

  before(async () => {
    env = await makePgEnv('bkcrash');
    env.cluster.pgbenchInit(2);
    good = Number(lastLine(ok(openbar(['backup'], { config: env.config }), 'first backup').stdout));
  });
  after(() => removeEnv(env, [env.cluster, ...started]));

  for (const point of [
    'backup-started',
    'sm-data-record@5',
    'backup-copied',
    'backup-before-wal-check',
    'backup-before-commit',
    'backup-committed',
  ]) {
    it(`reports nothing when killed at ${point}`, async () => {
      const lines = bootLines().length;
      const inst = instances().length;
      const r = openbar(['backup'], { config: env.config, env: { OPENBAR_FAULT: point } });
      assert.equal(r.signal, 'SIGKILL', r.stderr);
      assert.equal(bootLines().length, lines, 'no boot-file line');
      assert.equal(instances().length, inst, 'no bar_instance row');
      const h = JSON.parse(ok(openbar(['history', '--json'], { config: env.config }), 'history').stdout) as {
        status: number;
      }[];
      assert.equal(h[h.length - 1]!.status, -1, 'the attempt stays as not completed');
      // the server is out of backup mode once the session is gone: a new backup can start
      const deadline = Date.now() + 10_000;
      while (
        (
          await env.cluster.query<{ n: number }>(
            "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'openbar backup'",
          )
        )[0]!.n > 0 &&
        Date.now() < deadline
      )
        await new Promise((res) => setTimeout(res, 100));
    });
  }

  it('restores from the last good backup, and the next backup succeeds', async () => {
    await env.cluster.query('CREATE TABLE after_crashes AS SELECT 1 AS x');
    const plan = ok(
      openbar(['restore', '--data-dir', path.join(env.dir, 'p'), '--plan'], { config: env.config }),
      'plan',
    );
    assert.match(plan.stdout, new RegExp(`^backup ${good} `));
    const next = Number(lastLine(ok(openbar(['backup'], { config: env.config }), 'backup after crashes').stdout));
    assert.ok(next > good);
    ok(openbar(['log', 'backup'], { config: env.config }), 'log backup');
    const sums = await tableChecksums(env.cluster);
    const { cluster, result } = await restoreAndStart(env, [], 'after');
    started.push(cluster);
    assert.match(result.stdout, new RegExp(`^backup ${next} `));
    assert.deepEqual(await tableChecksums(cluster), sums);
  });
});
