// `openbar backup` on fakes: what a level 0 and a level 1 store and record, how a level 1
// finds its pages, and that a backup counts only once every save set is committed.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fs from 'node:fs';
import path from 'node:path';
import { runBackup } from '../../src/bar/backup/backup.js';
import { runRestore } from '../../src/bar/restore/restore.js';
import { isOpenbarError } from '../../src/common/errors.js';
import { fakeBar, restoreCommand, withFakeBar, type FakeBar, type FakeBarOptions } from '../fakes/fake-bar.js';
import { withFaults } from '../fakes/faulty-storage-manager.js';
import { PAGE } from '../fakes/fake-space-stream.js';

const restoreInto = (fb: FakeBar, dir: string) =>
  runRestore(fb.ctx, {
    dataDir: path.join(fb.dir, dir),
    target: { kind: 'latest' },
    tablespaceMap: new Map(),
    salvage: false,
    restart: false,
    planOnly: false,
    archiveMode: 'off',
    restoreCommand,
  });

describe('backup (fake engine, in-memory storage)', () => {
  it('a level 0 records every space, its label and its WAL, all stored in the pools', () =>
    withFakeBar({}, async (fb) => {
      const r = await runBackup(fb.ctx, { level: 0 });
      const [b] = fb.ctx.history.backups();
      assert.equal(b!.aid, r.id);
      assert.deepEqual(b!.objects.map((o) => `${o.name} ${o.type}`).sort(), [
        'backup_label B',
        'pg_default D',
        'pg_global R',
      ]);
      assert.deepEqual(
        fb.ctx.history
          .bootLines()
          .filter((l) => l.action === r.id)
          .map((l) => l.object)
          .sort(),
        ['backup_label', 'pg_default', 'pg_global'],
      );
      // its WAL is in the Logs pool though no archiver ran: the backup stored it from pg_wal
      for (const name of r.walFiles)
        assert.equal((await fb.memory.query({ kind: 'wal', name, pool: 'Logs' })).length, 1, name);
      const spaces = await fb.memory.query({ kind: 'space', pool: 'Data' });
      assert.deepEqual(
        spaces.map((s) => s.id).sort(),
        b!.objects
          .filter((o) => o.type !== 'B')
          .flatMap((o) => o.copyIds)
          .sort(),
      );
      assert.equal(fb.engine.calls.backupsStopped, 1);
    }));

  for (const method of ['wal', 'scan'] as const) {
    it(`a level 1 by ${method} copies the pages changed since its level 0 (and new files whole), and restores to the cluster as it was`, () =>
      withFakeBar({ settings: { incremental_method: method } }, async (fb) => {
        const l0 = await runBackup(fb.ctx, { level: 0 });
        fb.cluster.write('pg_default', '5/16384', [2, 5]);
        fb.cluster.createFile('pg_default', '5/16390', 3);
        fb.cluster.switchWal();
        await fb.archive();
        const l1 = await runBackup(fb.ctx, { level: 1 });
        assert.equal(l1.method, method);
        assert.deepEqual(
          l1.levels.map((l) => `${l.space} ${l.level} ${l.base}`),
          [`pg_global 1 ${l0.id}`, `pg_default 1 ${l0.id}`],
        );
        const def = l1.spaces.find((s) => s.space === 'pg_default')!;
        assert.equal(def.bytes, 5 * PAGE, 'two changed pages and a new file of three');
        await fb.archive();
        const restored = await restoreInto(fb, 'restored');
        assert.equal(restored.plan.backup.aid, l1.id);
        assert.deepEqual((await fb.offline.trialRun(restored.dataDir)).problems, []);
      }));
  }

  it('a level 1 by wal reads the summaries of archived WAL instead of the WAL itself', () =>
    withFakeBar({ settings: { incremental_method: 'wal' } }, async (fb) => {
      await runBackup(fb.ctx, { level: 0 });
      fb.cluster.write('pg_default', '1/1259', [0]);
      fb.cluster.switchWal();
      await fb.archive();
      await runBackup(fb.ctx, { level: 1 });
      assert.ok(
        fb.logged.some((l) => /changed block\(s\) found .* \(\d+ bytes; 2 WAL file\(s\) by their summaries\)/.test(l)),
        fb.logged.join('\n'),
      );
    }));

  it('incremental_method = wal fails when WAL since the base is neither archived nor in pg_wal; auto takes the scan instead', () =>
    withFakeBar({ settings: { incremental_method: 'wal' } }, async (fb) => {
      await runBackup(fb.ctx, { level: 0 });
      fb.cluster.write('pg_default', '5/16384', [1]);
      const lost = fb.cluster.switchWal().walFile;
      fs.rmSync(path.join(fb.cluster.pgWal, lost)); // recycled before the archiver took it
      await assert.rejects(
        runBackup(fb.ctx, { level: 1 }),
        (e) => isOpenbarError(e, 'UNREACHABLE') && e.message.includes(lost),
      );
      assert.equal(fb.ctx.history.backups().length, 1, 'the failed level 1 is not recorded');
      const auto = fakeBar({ settings: { incremental_method: 'auto' } });
      try {
        await runBackup(auto.ctx, { level: 0 });
        auto.cluster.write('pg_default', '5/16384', [1]);
        fs.rmSync(path.join(auto.cluster.pgWal, auto.cluster.switchWal().walFile));
        const r = await runBackup(auto.ctx, { level: 1 });
        assert.equal(r.method, 'scan');
        assert.equal(r.spaces.find((s) => s.space === 'pg_default')!.bytes, PAGE);
      } finally {
        await auto.dispose();
      }
    }));

  it('a level 1 of a space with no level 0 takes level 0, and says why', () =>
    withFakeBar({}, async (fb) => {
      const r = await runBackup(fb.ctx, { level: 1 });
      assert.equal(r.level, 0);
      assert.match(r.levels[0]!.note ?? '', /no level 0 of pg_global: taking level 0/);
    }));

  it('a commit that fails leaves no backup: nothing in the history or boot file, no save set of it', async () => {
    const failLabelCommit = (sm: Parameters<NonNullable<FakeBarOptions['wrap']>>[0]) =>
      withFaults(sm, { commit: (objects) => objects.some((o) => o.kind === 'label') });
    await withFakeBar({ wrap: failLabelCommit }, async (fb) => {
      await assert.rejects(runBackup(fb.ctx, { level: 0 }), /injected fault: commit/);
      assert.deepEqual(fb.ctx.history.backups(), []);
      assert.deepEqual(
        fb.ctx.history.bootLines().filter((l) => l.type !== 'L'),
        [],
        'only the WAL it stored is recorded',
      );
      assert.deepEqual(await fb.memory.query({ server: 'fake', kind: 'space' }), []);
      assert.deepEqual(await fb.memory.query({ server: 'fake', kind: 'label' }), []);
      const [action] = fb.ctx.history.database!.actions({ type: 'backup' });
      assert.equal(action!.status, 1);
      assert.match(action!.statusText ?? '', /injected fault/);
      // and the next backup is whole
      const fb2 = fakeBar();
      try {
        const r = await runBackup(fb2.ctx, { level: 0 });
        assert.equal(fb2.ctx.history.backups()[0]!.aid, r.id);
      } finally {
        await fb2.dispose();
      }
    });
  });

  it('a space that cannot be copied fails the backup: its transaction aborted, backup mode ended, nothing recorded', () =>
    withFakeBar({}, async (fb) => {
      fb.engine.failCopyOf = 'pg_default';
      await assert.rejects(runBackup(fb.ctx, { level: 0 }), /cannot read space pg_default/);
      assert.deepEqual(fb.ctx.history.backups(), []);
      assert.deepEqual(await fb.memory.query({ server: 'fake', kind: 'space' }), []);
      assert.equal(fb.engine.calls.backupsAborted, 1);
      assert.equal(
        [...fb.memory.media.sets.values()].filter((s) => s.state === 'writing').length,
        0,
        'the aborted objects are gone',
      );
    }));

  it('reads the configuration kept outside the data directory while planning: a file it cannot read fails before the copy', () =>
    withFakeBar({}, async (fb) => {
      const order: string[] = [];
      const copy = fb.engine.copySpace.bind(fb.engine);
      fb.engine.copySpace = (...a: Parameters<typeof copy>) => {
        order.push('copy');
        return copy(...a);
      };
      fb.engine.configFiles = async () => {
        order.push('config');
        throw Object.assign(new Error('cannot read the configuration file /etc/x (EACCES)'), { code: 'IO' });
      };
      await assert.rejects(runBackup(fb.ctx, { level: 0 }), /EACCES/);
      assert.deepEqual(order, ['config']);
    }));
});
