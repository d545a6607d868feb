// `openbar expire` and `openbar sync` on fakes: what a policy lets go and what it must
// keep for a retained backup, and the history rebuilt from what the storage manager holds.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { runBackup, type BackupResult } from '../../src/bar/backup/backup.js';
import { runExpire } from '../../src/bar/expire/expire.js';
import { planRestore } from '../../src/bar/restore/choose-backup.js';
import { reconcile, rebuildFromStorage } from '../../src/bar/sync/sync.js';
import { historyPath } from '../../src/history/backup-history.js';
import { withFakeBar, type FakeBar } from '../fakes/fake-bar.js';

/** Level 0, 1, 0, 1, each after some WAL: [b0, b1 on b0, b2, b3 on b2]. */
async function fourBackups(fb: FakeBar): Promise<BackupResult[]> {
  const out: BackupResult[] = [];
  for (const level of [0, 1, 0, 1]) {
    fb.cluster.write('pg_default', '5/16384', [out.length]);
    fb.cluster.switchWal();
    await fb.archive();
    out.push(await runBackup(fb.ctx, { level }));
    await sleep(5); // distinct stop times
  }
  await fb.archive();
  return out;
}

const copiesOf = (fb: FakeBar, aid: number) =>
  fb.ctx.history
    .backups()
    .find((b) => b.aid === aid)
    ?.objects.flatMap((o) => o.copyIds) ?? [];

describe('expire (fake engine, in-memory storage)', () => {
  it('one generation: the newest level 0 and the level 1 on it stay, the older chain and the WAL before the kept one go', () =>
    withFakeBar({}, async (fb) => {
      const [b0, b1, b2, b3] = await fourBackups(fb);
      const doomed = [...copiesOf(fb, b0!.id), ...copiesOf(fb, b1!.id)];
      const r = await runExpire(fb.ctx, { policy: { kind: 'generations', count: 1 }, force: false, dryRun: false });
      assert.deepEqual(
        r.plan.expire.map((b) => b.aid),
        [b0!.id, b1!.id],
      );
      assert.deepEqual(
        r.plan.keep.map((b) => `${b.aid} ${b.keptBecause}`),
        [`${b2!.id} one of the 1 newest level-0 generations of pg_global`, `${b3!.id} built on a kept level 0`],
      );
      for (const id of doomed) assert.deepEqual(await fb.memory.query({ id }), [], `save set ${id}`);
      const walLeft = (await fb.memory.query({ kind: 'wal' })).map((s) => s.name);
      assert.equal(r.plan.walKeptFrom, b2!.walFiles[0]!.slice(8));
      assert.ok(
        walLeft.every((n) => n >= b2!.walFiles[0]!),
        `WAL left: ${walLeft.join(' ')}`,
      );
      assert.deepEqual(
        (await fb.memory.query({ kind: 'walsum' })).map((s) => s.name).filter((n) => !walLeft.includes(n)),
        [],
        'no summary outlives its WAL file',
      );
      assert.deepEqual(
        fb.ctx.history.backups().map((b) => b.aid),
        [b2!.id, b3!.id],
      );
      assert.equal((await planRestore(fb.ctx, { target: { kind: 'latest' } })).backup.aid, b3!.id);
    }));

  it('a cut-off keeps the backup just before it, and the level 0 that one rests on; a dry run changes nothing', () =>
    withFakeBar({}, async (fb) => {
      const [b0, b1, b2] = await fourBackups(fb);
      const cutoff =
        (Date.parse(fb.ctx.history.backups()[1]!.time) + Date.parse(fb.ctx.history.backups()[2]!.time)) / 2;
      const before = await fb.memory.query({});
      const dry = await runExpire(fb.ctx, { policy: { kind: 'before', ms: cutoff }, force: false, dryRun: true });
      assert.deepEqual(dry.plan.expire, []);
      const why = new Map(dry.plan.keep.map((b) => [b.aid, b.keptBecause]));
      assert.equal(why.get(b1!.id), 'needed to restore to times just after the cut-off');
      assert.equal(why.get(b0!.id), `base of kept backup ${b1!.id}`);
      assert.equal(why.get(b2!.id), 'newer than the cut-off');
      assert.deepEqual(await fb.memory.query({}), before);
      // with a cut-off after the last level 0 but one, that level 0's chain goes
      const later = (Date.parse(fb.ctx.history.backups()[2]!.time) + Date.parse(fb.ctx.history.backups()[3]!.time)) / 2;
      const r = await runExpire(fb.ctx, { policy: { kind: 'before', ms: later }, force: false, dryRun: false });
      assert.deepEqual(
        r.plan.expire.map((b) => b.aid),
        [b0!.id, b1!.id],
      );
      assert.ok(r.deletedSaveSets > 0 && r.freedBytes > 0);
    }));
});

describe('sync (fake engine, in-memory storage)', () => {
  it('--from-storage rebuilds the history and the boot file from the save sets alone', () =>
    withFakeBar({}, async (fb) => {
      const [, , , b3] = await fourBackups(fb);
      const shape = () =>
        fb.ctx.history.backups().map((b) => ({
          aid: b.aid,
          level: b.level,
          stopLsn: b.stopLsn,
          objects: [...b.objects].sort((x, y) => x.name.localeCompare(y.name)),
        }));
      const wanted = shape();
      const walLines = fb.ctx.history.bootLines().filter((l) => l.type === 'L').length;
      fb.ctx.history.close();
      fs.rmSync(historyPath(fb.ctx.home));
      fs.rmSync(fb.ctx.history.bootFile);
      const report = await rebuildFromStorage(fb.ctx.home, fb.ctx.sm);
      assert.deepEqual(report.incomplete, []);
      assert.equal(report.backups, 4);
      fb.reopenHistory();
      assert.deepEqual(shape(), wanted);
      assert.equal(fb.ctx.history.bootLines().filter((l) => l.type === 'L').length, walLines);
      assert.equal((await planRestore(fb.ctx, { target: { kind: 'latest' } })).backup.aid, b3!.id);
    }));

  it('reconcile drops the records of a backup whose save set is gone, and puts back boot-file lines', () =>
    withFakeBar({}, async (fb) => {
      const [b0, b1] = await fourBackups(fb);
      fs.writeFileSync(fb.ctx.history.bootFile, '');
      const gone = fb.ctx.history
        .backups()
        .find((b) => b.aid === b0!.id)!
        .objects.find((o) => o.name === 'pg_default')!.copyIds;
      await fb.ctx.sm.delete(gone);
      const r = await reconcile(fb.ctx);
      assert.deepEqual([...new Set(r.dropped.map((d) => d.action))], [b0!.id]);
      assert.ok(!fb.ctx.history.backups().some((b) => b.aid === b0!.id));
      // a level 1 on the dropped level 0 stays recorded, but no restore takes it
      assert.ok(fb.ctx.history.backups().some((b) => b.aid === b1!.id));
      await assert.rejects(
        planRestore(fb.ctx, { target: { kind: 'lsn', value: b1!.stopLsn } }),
        /no backup is consistent before/,
      );
      assert.ok(r.addedToBootFile > 0);
      assert.equal(fb.ctx.history.bootLines().length, fb.ctx.history.bootLinesFromDatabase().length);
    }));
});
