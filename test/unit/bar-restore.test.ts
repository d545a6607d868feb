// `openbar restore` on fakes: which backup a target takes, the WAL route checked before
// anything is written (a missing or damaged file named), and the restore itself into a
// temporary directory: a level 1 chain, a tablespace mapped, salvage, --restart.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { runBackup } from '../../src/bar/backup/backup.js';
import { planRestore } from '../../src/bar/restore/choose-backup.js';
import { runRestore, type RestoreOptions } from '../../src/bar/restore/restore.js';
import { isOpenbarError } from '../../src/common/errors.js';
import type { ConfigEntry, OfflineEngine, RecoveryTarget } from '../../src/engine/engine.js';
import { checkConfigPlace, placeConfig } from '../../src/engine/postgres/restore/config-place.js';
import { restoreCommand, withFakeBar, type FakeBar } from '../fakes/fake-bar.js';
import { RECOVERY_FILE } from '../fakes/fake-offline-engine.js';

const latest: RecoveryTarget = { kind: 'latest' };

function restore(fb: FakeBar, dir: string, more: Partial<RestoreOptions> = {}, engine: OfflineEngine = fb.offline) {
  return runRestore(engine === fb.offline ? fb.ctx : { ...fb.ctx, offline: engine }, {
    dataDir: path.isAbsolute(dir) ? dir : path.join(fb.dir, dir),
    target: latest,
    tablespaceMap: new Map(),
    salvage: false,
    restart: false,
    planOnly: false,
    archiveMode: 'off',
    restoreCommand,
    ...more,
  });
}

/** Closes three more segments with a change in each: the WAL after a backup. */
function moreWal(fb: FakeBar): string[] {
  return [1, 2, 3].map((i) => {
    fb.cluster.write('pg_default', '5/16384', [i]);
    return fb.cluster.switchWal().walFile;
  });
}

const unreachable = (re: RegExp) => (e: unknown) => isOpenbarError(e, 'UNREACHABLE') && re.test(e.message);

describe('restore (fake engine, in-memory storage)', () => {
  it('takes the newest backup that reaches the target: latest, a position, a time, a transaction', () =>
    withFakeBar({}, async (fb) => {
      const first = await runBackup(fb.ctx, { level: 0 });
      const between = fb.cluster.write('pg_default', '5/16384', [0]);
      const xidBetween = String(fb.cluster.nextXid - 1); // the transaction that wrote it
      await sleep(15);
      const time = new Date().toISOString();
      await sleep(15);
      const second = await runBackup(fb.ctx, { level: 0 });
      moreWal(fb);
      await fb.archive();
      const plan = (target: RecoveryTarget) => planRestore(fb.ctx, { target });
      assert.equal((await plan(latest)).backup.aid, second.id);
      assert.equal((await plan({ kind: 'lsn', value: between })).backup.aid, first.id);
      assert.equal((await plan(fb.offline.parseTarget('time', time))).backup.aid, first.id);
      assert.equal((await plan({ kind: 'xid', value: xidBetween })).backup.aid, first.id);
      await assert.rejects(plan({ kind: 'lsn', value: '0/1' }), unreachable(/no backup is consistent before LSN 0\/1/));
    }));

  it('a WAL file missing on the route fails the plan naming it; --accept-wal-gap ends recovery before it', () =>
    withFakeBar({}, async (fb) => {
      const b = await runBackup(fb.ctx, { level: 0 });
      const [, lost] = moreWal(fb);
      await fb.archive([lost!]);
      await assert.rejects(
        planRestore(fb.ctx, { target: latest }),
        unreachable(
          new RegExp(
            `the latest state needs WAL file ${lost}, which is not in the Logs pool; the archived WAL reaches \\S+`,
          ),
        ),
      );
      const plan = await planRestore(fb.ctx, { target: latest, acceptWalGap: true });
      assert.equal(plan.backup.aid, b.id);
      assert.equal(plan.endsBefore?.name, lost);
      const r = await restore(fb, 'restored', { acceptWalGap: true });
      const recovery = JSON.parse(fs.readFileSync(path.join(r.dataDir, RECOVERY_FILE), 'utf8')) as {
        restoreCommand: string;
        target: RecoveryTarget;
      };
      assert.equal(recovery.restoreCommand, restoreCommand(lost));
      assert.deepEqual(recovery.target, latest);
    }));

  it("a backup's own WAL missing fails the plan whatever is accepted", () =>
    withFakeBar({}, async (fb) => {
      const b = await runBackup(fb.ctx, { level: 0 });
      moreWal(fb);
      await fb.archive();
      const own = await fb.memory.query({ kind: 'wal', name: b.walFiles[0]! });
      await fb.ctx.sm.delete(own.map((s) => s.id));
      await assert.rejects(
        planRestore(fb.ctx, { target: latest, acceptWalGap: true }),
        unreachable(
          new RegExp(`WAL file ${b.walFiles[0]}, needed to make backup ${b.id} consistent, is not in the Logs pool`),
        ),
      );
    }));

  it('a damaged WAL file on the route ends it as a missing one would, and the plan says what is wrong with it', () =>
    withFakeBar({}, async (fb) => {
      await runBackup(fb.ctx, { level: 0 });
      const [damaged] = moreWal(fb);
      await fb.archive();
      const [set] = await fb.memory.query({ kind: 'wal', name: damaged! });
      fb.memory.media.sets.get(set!.id)!.records[1]!.bytes[17]! ^= 0x40;
      await assert.rejects(
        planRestore(fb.ctx, { target: latest }),
        unreachable(
          new RegExp(
            `needs WAL file ${damaged}, which is damaged \\(save set ${set!.id} \\(${damaged}\\): record checksum mismatch in memory pool Logs at offset 262144\\)`,
          ),
        ),
      );
    }));

  it('restores a level 1 chain and a mapped tablespace into empty directories, with recovery set to the target', () =>
    withFakeBar({ tablespace: true }, async (fb) => {
      await runBackup(fb.ctx, { level: 0 });
      fb.cluster.write('ts1', 'PG_17_202401/5/16500', [1]);
      fb.cluster.write('pg_default', '1/1259', [3]);
      await fb.archive();
      const l1 = await runBackup(fb.ctx, { level: 1 });
      await fb.archive();
      const mapped = path.join(fb.dir, 'ts-restored');
      const r = await restore(fb, 'restored', { tablespaceMap: new Map([['ts1', mapped]]) });
      assert.equal(r.plan.backup.aid, l1.id);
      assert.deepEqual(
        r.plan.spaces.map((s) => `${s.name} ${s.levels.map((l) => l.level).join('<-')}`),
        ['pg_global 1<-0', 'pg_default 1<-0', 'ts1 1<-0'],
      );
      assert.deepEqual((await fb.offline.trialRun(r.dataDir)).problems, []);
      assert.equal(fs.readlinkSync(path.join(r.dataDir, 'pg_tblspc', '16400')), mapped);
      const recovery = JSON.parse(fs.readFileSync(path.join(r.dataDir, RECOVERY_FILE), 'utf8')) as Record<
        string,
        unknown
      >;
      assert.deepEqual(recovery, { target: latest, timeline: 1, restoreCommand: restoreCommand(), archiveMode: 'off' });
      assert.equal(
        fs.existsSync(path.join(r.dataDir, '.openbar_restore')),
        false,
        'the restart record is removed at the end',
      );
    }));

  it('refuses a directory that is not empty, or where the server runs, before writing anything (and --plan checks the same)', () =>
    withFakeBar({}, async (fb) => {
      await runBackup(fb.ctx, { level: 0 });
      await fb.archive();
      const dir = path.join(fb.dir, 'occupied');
      fs.mkdirSync(dir);
      fs.writeFileSync(path.join(dir, 'notes.txt'), 'mine');
      for (const planOnly of [true, false]) {
        await assert.rejects(
          restore(fb, dir, { planOnly }),
          (e) => isOpenbarError(e, 'USAGE') && /is not empty/.test(e.message),
        );
      }
      assert.deepEqual(fs.readdirSync(dir), ['notes.txt']);
      await assert.rejects(restore(fb, fb.cluster.dataDir), (e) => isOpenbarError(e, 'SERVER_RUNNING'));
    }));

  it('salvage stores the WAL the archive lacks from the old pg_wal, which makes the target reachable', () =>
    withFakeBar({}, async (fb) => {
      const b = await runBackup(fb.ctx, { level: 0 });
      await fb.archive();
      const unarchived = moreWal(fb);
      const target: RecoveryTarget = { kind: 'lsn', value: fb.cluster.write('pg_default', '5/16384', [4]) };
      fb.cluster.stop(); // crashed: its pg_wal has what the archive lacks, the current segment too
      await assert.rejects(planRestore(fb.ctx, { target }), unreachable(new RegExp(`needs WAL file ${unarchived[0]}`)));
      const plan = await planRestore(fb.ctx, { target, salvageFrom: fb.cluster.dataDir });
      assert.deepEqual(
        plan.salvage.files.map((f) => f.name),
        [...unarchived, fb.cluster.currentSegment],
      );
      const r = await restore(fb, fb.cluster.dataDir, { target, salvage: true });
      assert.equal(r.plan.backup.aid, b.id);
      assert.deepEqual(
        r.salvaged,
        plan.salvage.files.map((f) => f.name),
      );
      for (const name of r.salvaged) assert.equal((await fb.memory.query({ kind: 'wal', name })).length, 1, name);
      assert.deepEqual((await fb.offline.trialRun(r.dataDir)).problems, []);
    }));

  it('an interrupted restore resumes with --restart, skipping what it wrote', () =>
    withFakeBar({}, async (fb) => {
      await runBackup(fb.ctx, { level: 0 });
      await fb.archive();
      const written: string[] = [];
      let failOnce = true;
      const flaky: OfflineEngine = Object.assign(Object.create(fb.offline) as OfflineEngine, {
        restoreSpace: async (stream: AsyncIterable<Buffer>, root: string, opts: { onBytes?: (n: number) => void }) => {
          if (root.endsWith('base') && failOnce) {
            failOnce = false;
            throw new Error('disk went away');
          }
          written.push(path.basename(root));
          return fb.offline.restoreSpace(stream, root, opts);
        },
      });
      await assert.rejects(restore(fb, 'restored', {}, flaky), /disk went away/);
      const r = await restore(fb, 'restored', { restart: true }, flaky);
      assert.deepEqual(written, ['restored', 'base'], 'pg_global is not written again');
      assert.deepEqual((await fb.offline.trialRun(r.dataDir)).problems, []);
    }));

  describe('the configuration kept outside the data directory', () => {
    const conf = (text: string): ConfigEntry[] => [
      { role: 'main', path: '/etc/fake/main/postgresql.conf', type: 'file', mode: 0o644, content: Buffer.from(text) },
    ];

    it("is the save set the backup's label instance lists: another backup's damaged one does not matter", () =>
      withFakeBar({}, async (fb) => {
        fb.engine.configEntries = conf('port = 1\n');
        const first = await runBackup(fb.ctx, { level: 0 });
        fb.engine.configEntries = conf('port = 2\n');
        await runBackup(fb.ctx, { level: 0 });
        await fb.archive();
        // a configuration save set no label lists, for the first backup, and one whose meta is damaged
        const txn = await fb.memory.beginTransaction();
        for (const meta of [
          { metaVersion: 1, aid: first.id, dataDir: '/d', files: 1 },
          { metaVersion: 1, aid: 'x' },
        ]) {
          const w = await txn.createObject({
            pool: 'Data',
            server: fb.ctx.server,
            name: 'config_files',
            kind: 'config',
            meta,
          });
          await w.write(Buffer.from('not json'));
          await w.close();
        }
        await txn.commit();
        const r = await restore(fb, 'restored', { target: { kind: 'lsn', value: first.stopLsn } });
        assert.equal(fs.readFileSync(path.join(r.dataDir, 'main.conf'), 'utf8'), 'port = 1\n');
        assert.equal(r.startCommand, `fake-start ${r.dataDir}`);
      }));

    it('a --restart after the configuration was written into --config-dir is not refused by its own files', () =>
      withFakeBar({}, async (fb) => {
        fb.engine.configEntries = conf("include_dir 'conf.d'\n");
        await runBackup(fb.ctx, { level: 0 });
        await fb.archive();
        let failOnce = true;
        // the engine's own placing, cut short right after it wrote
        const cut: OfflineEngine = Object.assign(Object.create(fb.offline) as OfflineEngine, {
          checkConfigPlace,
          placeConfig: (entries: readonly ConfigEntry[], f: Parameters<OfflineEngine['placeConfig']>[1]) => {
            const placed = placeConfig(entries, f);
            if (failOnce) {
              failOnce = false;
              throw new Error('power cut');
            }
            return placed;
          },
        });
        const configDir = path.join(fb.dir, 'conf');
        await assert.rejects(restore(fb, 'restored', { configDir }, cut), /power cut/);
        // another directory holding files is still refused on restart
        const other = path.join(fb.dir, 'other');
        fs.mkdirSync(other);
        fs.writeFileSync(path.join(other, 'postgresql.conf'), 'mine');
        await assert.rejects(
          restore(fb, 'restored', { restart: true, configDir: other }, cut),
          /other\/postgresql\.conf exists/,
        );
        const r = await restore(fb, 'restored', { restart: true, configDir }, cut);
        assert.equal(r.config?.configDir, configDir);
        assert.match(fs.readFileSync(path.join(configDir, 'postgresql.conf'), 'utf8'), /^data_directory = /m);
      }));
  });
});
