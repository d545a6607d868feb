// The history survives losing itself, and expire keeps only what the policy says:
// three level-0 backups with WAL between; failed backups recorded as failures only;
// a restore from the boot file alone; history rebuilt from the boot file, then both
// from the save sets; a dry run that leaves the home byte-identical; expire
// --generations 1 removing the older backups and only their WAL, with PITR after the
// newest backup still exact and a target before it refused with the oldest time named.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { SandboxCluster } from '../../src/engine/postgres/server/sandbox.js';
import { lastLine, openbar, savesets } from '../harness/cli.js';
import { makePgEnv, ok, removeEnv, restoreAndStart, tableChecksums, type PgEnv } from '../harness/pg.js';

interface Inst {
  aid: number;
  object: string;
  type: string;
  level: number;
  copyIds: number[];
  baseId: number | null;
  startLsn: string | null;
  stopLsn: string | null;
  timeline: number | null;
  firstWal: string | null;
  time: string;
  expired: boolean;
}
interface Act {
  aid: number;
  type: string;
  status: number;
  detail: Record<string, unknown>;
  instances: Inst[];
}

const history = (config: string): Act[] =>
  JSON.parse(ok(openbar(['history', '--all', '--json'], { config }), 'history').stdout) as Act[];
const instanceRows = (acts: Act[]) =>
  acts
    .flatMap((a) => a.instances)
    .filter((i) => !i.expired)
    .map((i) =>
      [
        i.aid,
        i.object,
        i.type,
        i.level,
        i.copyIds.join(','),
        i.baseId,
        i.startLsn,
        i.stopLsn,
        i.timeline,
        i.firstWal,
        i.time,
      ].join(' '),
    )
    .sort();
const bootLines = (home: string) =>
  fs
    .readFileSync(path.join(home, 'ixbar.main'), 'utf8')
    .split('\n')
    .filter((l) => l && !l.startsWith('#'));
const utcNow = async (c: SandboxCluster) =>
  (
    await c.query<{ t: string }>(
      "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00' AS t",
    )
  )[0]!.t;

function homeDigest(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out[path.relative(dir, p)] = createHash('sha256').update(fs.readFileSync(p)).digest('hex');
    }
  };
  walk(dir);
  return out;
}

describe('history, boot file, sync and expire', () => {
  let env: PgEnv;
  const started: SandboxCluster[] = [];
  const backups: number[] = [];
  let failedKilled: number;
  let failedThrown: number;
  let betweenFirstAndSecond: string;
  let afterThird: { time: string; sums: Record<string, string> };
  let finalSums: Record<string, string>;

  before(async () => {
    env = await makePgEnv('expire');
    const c = env.cluster;
    await c.query('CREATE TABLE t (id int PRIMARY KEY, v text)');
    const batch = async (k: number) =>
      c.query('INSERT INTO t SELECT g, md5(g::text) FROM generate_series($1::int, $1::int + 999) g', [k * 1000]);
    for (let k = 0; k < 3; k++) {
      await batch(k);
      ok(openbar(['log', 'backup'], { config: env.config }), 'log backup');
      backups.push(Number(lastLine(ok(openbar(['backup'], { config: env.config }), `backup ${k}`).stdout)));
      if (k === 0) {
        await batch(10);
        betweenFirstAndSecond = await utcNow(c);
        await batch(11);
      }
    }
    // two failed backups: one killed, one failing with an error
    const killed = openbar(['backup'], { config: env.config, env: { OPENBAR_FAULT: 'backup-copied' } });
    assert.equal(killed.signal, 'SIGKILL');
    const thrown = openbar(['backup'], { config: env.config, env: { OPENBAR_FAULT: 'backup-before-commit!' } });
    assert.equal(thrown.status, 1);
    assert.match(thrown.stderr, /injected fault/);
    ok(openbar(['log', 'mark', 'after-third'], { config: env.config }), 'log mark');
    await batch(20);
    afterThird = { time: await utcNow(c), sums: await tableChecksums(c) };
    await batch(21);
    finalSums = await tableChecksums(c);
    ok(openbar(['log', 'backup'], { config: env.config }), 'log backup');
    // a cold restore needs no server; stopped, nothing archives behind the test's back
    c.stop('fast');
    const acts = history(env.config).filter((a) => a.type === 'backup');
    failedKilled = acts.find((a) => a.status === -1)!.aid;
    failedThrown = acts.find((a) => a.status === 1)!.aid;
  });
  after(() => removeEnv(env, [env.cluster, ...started]));

  it('records failed backups in bar_action only, never as instances or boot-file lines', () => {
    const acts = history(env.config);
    for (const aid of [failedKilled, failedThrown]) {
      const a = acts.find((x) => x.aid === aid)!;
      assert.equal(a.instances.length, 0);
      assert.ok(
        !bootLines(env.home).some((l) => l.split(' ')[3] === String(aid)),
        `boot file has a line of failed backup ${aid}`,
      );
    }
    assert.equal(acts.find((x) => x.aid === failedThrown)!.detail.startLsn, undefined);
    const st = JSON.parse(ok(openbar(['status', '--json'], { config: env.config }), 'status').stdout) as {
      backups: number;
      lastFailedBackup: { aid: number };
    };
    assert.equal(st.backups, 3);
    assert.equal(st.lastFailedBackup.aid, failedThrown);
  });

  it('expire --dry-run lists what would go and leaves the home byte-identical', () => {
    const before = homeDigest(env.home);
    const r = ok(
      openbar(['expire', '--generations', '1', '--dry-run', '--json'], { config: env.config }),
      'expire --dry-run',
    );
    const plan = JSON.parse(r.stdout) as {
      expired: { backup: number }[];
      kept: { backup: number }[];
      wal: { files: number };
    };
    assert.deepEqual(
      plan.expired.map((b) => b.backup),
      backups.slice(0, 2),
    );
    assert.deepEqual(
      plan.kept.map((b) => b.backup),
      backups.slice(2),
    );
    assert.ok(plan.wal.files > 0);
    assert.deepEqual(homeDigest(env.home), before);
  });

  it('restores to a point in time from the boot file alone, without the history database', async () => {
    const original = instanceRows(history(env.config));
    for (const s of ['', '-wal', '-shm']) fs.rmSync(path.join(env.home, `history.db${s}`), { force: true });
    const { cluster } = await restoreAndStart(env, ['--until-time', afterThird.time], 'boot-only');
    started.push(cluster);
    assert.deepEqual(await tableChecksums(cluster), afterThird.sums);
    cluster.stop('fast');
    assert.ok(!fs.existsSync(path.join(env.home, 'history.db')), 'a restore must not need to write history');
    // status works from the boot file too
    assert.match(ok(openbar(['status'], { config: env.config }), 'status').stdout, /from the boot file/);

    ok(openbar(['sync', '--rebuild-history'], { config: env.config }), 'sync --rebuild-history');
    const rebuilt = history(env.config);
    assert.deepEqual(instanceRows(rebuilt), original);
    assert.ok(
      rebuilt.some((a) => a.type === 'mark' && a.detail.name === 'after-third'),
      'the restore point comes back from the boot file',
    );
  });

  it('rebuilds history and boot file from the save sets alone, and restores from them', async () => {
    const original = instanceRows(history(env.config));
    const originalBoot = bootLines(env.home)
      .filter((l) => l.split(' ')[2] !== 'M')
      .sort();
    for (const s of ['', '-wal', '-shm']) fs.rmSync(path.join(env.home, `history.db${s}`), { force: true });
    fs.rmSync(path.join(env.home, 'ixbar.main'));
    ok(openbar(['sync', '--from-storage'], { config: env.config }), 'sync --from-storage');
    assert.deepEqual(instanceRows(history(env.config)), original);
    assert.deepEqual(bootLines(env.home).sort(), originalBoot);
    const { cluster } = await restoreAndStart(env, [], 'from-storage');
    started.push(cluster);
    assert.deepEqual(await tableChecksums(cluster), finalSums);
    cluster.stop('fast');
  });

  it('sync reconciles: a lost boot-file line comes back, records of deleted save sets go', () => {
    const boot = fs.readFileSync(path.join(env.home, 'ixbar.main'), 'utf8').split('\n');
    const victimLine = boot.find((l) => l.split(' ')[3] === String(backups[1]) && l.split(' ')[1] === 'pg_global')!;
    fs.writeFileSync(path.join(env.home, 'ixbar.main'), boot.filter((l) => l !== victimLine).join('\n'));
    const oldestWal = savesets(env.config)
      .filter((s) => s.kind === 'wal')
      .sort((a, b) => a.name.localeCompare(b.name))[0]!;
    ok(openbar(['sm', 'delete', '--force', String(oldestWal.id)], { config: env.config }), 'sm delete');
    const r = JSON.parse(ok(openbar(['sync', '--json'], { config: env.config }), 'sync').stdout) as {
      addedToHistory: number;
      addedToBootFile: number;
      dropped: { object: string }[];
    };
    assert.equal(r.addedToBootFile, 1);
    assert.equal(r.addedToHistory, 0);
    assert.deepEqual(
      r.dropped.map((d) => d.object),
      [oldestWal.name],
    );
    assert.ok(bootLines(env.home).includes(victimLine));
    assert.ok(!bootLines(env.home).some((l) => l.split(' ')[1] === oldestWal.name));
    assert.ok(!history(env.config).some((a) => a.instances.some((i) => i.object === oldestWal.name && !i.expired)));
    // a second pass has nothing to do
    const again = JSON.parse(ok(openbar(['sync', '--json'], { config: env.config }), 'sync again').stdout) as {
      addedToHistory: number;
      addedToBootFile: number;
      dropped: unknown[];
    };
    assert.deepEqual([again.addedToHistory, again.addedToBootFile, again.dropped.length], [0, 0, 0]);
  });

  it('expire --generations 1 removes the two older backups and only the WAL they needed', async () => {
    const walBefore = savesets(env.config)
      .filter((s) => s.kind === 'wal')
      .map((s) => s.name);
    const r = ok(
      openbar(['--set', 'history=keep', 'expire', '--generations', '1', '--json'], { config: env.config }),
      'expire',
    );
    const res = JSON.parse(r.stdout) as {
      expired: { backup: number; saveSets: number[] }[];
      wal: { keptFrom: string };
    };
    assert.deepEqual(
      res.expired.map((b) => b.backup),
      backups.slice(0, 2),
    );
    const left = savesets(env.config);
    const gone = res.expired.flatMap((b) => b.saveSets);
    assert.ok(gone.length >= 6);
    for (const id of gone)
      assert.ok(!left.some((s) => s.id === id), `save set ${id} of an expired backup is still there`);
    const third = history(env.config)
      .find((a) => a.aid === backups[2])!
      .instances.find((i) => i.type === 'B')!;
    const walAfter = left.filter((s) => s.kind === 'wal').map((s) => s.name);
    const segs = (names: string[]) => names.filter((n) => /^[0-9A-F]{24}$/.test(n));
    assert.deepEqual(
      segs(walAfter),
      segs(walBefore).filter((n) => n.slice(8) >= third.firstWal!.slice(8)),
    );
    assert.ok(segs(walBefore).length > segs(walAfter).length);
    // history = keep: the rows stay, marked expired; the boot file has no line of them
    const acts = history(env.config);
    for (const aid of backups.slice(0, 2)) {
      assert.ok(acts.find((a) => a.aid === aid)!.instances.every((i) => i.expired));
      assert.ok(!bootLines(env.home).some((l) => l.split(' ')[3] === String(aid)));
    }
    assert.ok(acts.some((a) => a.type === 'expire' && a.status === 0));
    // running it again finds nothing more to do
    const again = JSON.parse(
      ok(openbar(['expire', '--generations', '1', '--json'], { config: env.config }), 'expire again').stdout,
    ) as { expired: unknown[]; saveSets: number };
    assert.equal(again.expired.length, 0);
    assert.equal(again.saveSets, 0);
  });

  it('still restores to a point after the newest backup, and names the oldest time for one before it', async () => {
    const { cluster } = await restoreAndStart(env, ['--until-time', afterThird.time], 'after-expire');
    started.push(cluster);
    assert.deepEqual(await tableChecksums(cluster), afterThird.sums);
    cluster.stop('fast');
    const r = openbar(
      ['restore', '--data-dir', path.join(env.dir, 'too-early'), '--until-time', betweenFirstAndSecond],
      { config: env.config },
    );
    assert.equal(r.status, 1, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(`no backup is consistent before time .*the oldest backup \\(${backups[2]}\\) is consistent from `),
    );
    assert.ok(!fs.existsSync(path.join(env.dir, 'too-early')), 'nothing written for an unreachable target');
  });
});
