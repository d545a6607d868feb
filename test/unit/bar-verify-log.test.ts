// `openbar verify` (its WAL phase above all) and `openbar log` on fakes: a sound backup
// passes, a missing or damaged WAL file is reported by name as data; log archive's gate
// and idempotence, restore_command's answers, log backup and log mark.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { runBackup } from '../../src/bar/backup/backup.js';
import { archiveWal, restoreWal } from '../../src/bar/log/archive-wal.js';
import { logBackup, logMark } from '../../src/bar/log/log-backup.js';
import { planRestore } from '../../src/bar/restore/choose-backup.js';
import { runVerify, type VerifyReport } from '../../src/bar/verify/verify.js';
import { isOpenbarError } from '../../src/common/errors.js';
import { withFakeBar, type FakeBar } from '../fakes/fake-bar.js';
import { encodeSegment, parseSegmentName } from '../fakes/fake-wal.js';

const verify = (fb: FakeBar, quick = false) => runVerify(fb.ctx, { backup: 'latest', quick });
const check = (r: VerifyReport, name: string) => r.checks.find((c) => c.name === name)!;

function moreWal(fb: FakeBar): string[] {
  return [1, 2, 3].map((i) => {
    fb.cluster.write('pg_default', '5/16384', [i]);
    return fb.cluster.switchWal().walFile;
  });
}

describe('verify (fake engine, in-memory storage)', () => {
  it('passes a sound level 1 chain, its WAL and the WAL after it, and records that it did', () =>
    withFakeBar({}, async (fb) => {
      await runBackup(fb.ctx, { level: 0 });
      fb.cluster.write('pg_default', '1/1259', [1]);
      const b = await runBackup(fb.ctx, { level: 1 });
      moreWal(fb);
      await fb.archive();
      const r = await verify(fb);
      assert.deepEqual(
        r.checks.filter((c) => !c.passed),
        [],
      );
      assert.deepEqual(
        r.checks.map((c) => c.name),
        ['save sets', 'pages', 'files complete', 'pg_control', 'backup WAL', 'WAL to latest'],
      );
      assert.match(check(r, 'save sets').detail, /^4 save set\(s\) \(2 of base levels\)/);
      assert.match(check(r, 'WAL to latest').detail, /^3 file\(s\) after the backup on timeline 1/);
      assert.ok(
        fb.ctx.history.database!.instances({ aid: b.id }).every((i) => i.verified === true),
        'the verify is recorded on its instances',
      );
    }));

  it("names a WAL file missing after the backup, a damaged one of its own, and a space's missing save set, and goes on", () =>
    withFakeBar({}, async (fb) => {
      const b = await runBackup(fb.ctx, { level: 0 });
      const [, lost, after] = moreWal(fb);
      await fb.archive([lost!]);
      const [own] = await fb.memory.query({ kind: 'wal', name: b.walFiles[0]! });
      fb.memory.media.sets.get(own!.id)!.records[0]!.bytes[9]! ^= 1;
      const space = fb.ctx.history.backups()[0]!.objects.find((o) => o.name === 'pg_default')!.copyIds[0]!;
      await fb.ctx.sm.delete([space]);
      for (const quick of [false, true]) {
        const r = await verify(fb, quick);
        assert.equal(r.passed, false);
        assert.deepEqual(check(r, 'WAL to latest').problems, [
          `WAL file ${lost} is missing: point-in-time restores from this backup stop before it (archived WAL resumes at ${after})`,
        ]);
        assert.match(
          check(r, 'backup WAL').problems[0] ?? '',
          new RegExp(
            `^WAL file ${b.walFiles[0]}: save set ${own!.id} \\(${b.walFiles[0]}\\): record checksum mismatch`,
          ),
        );
        assert.deepEqual(check(r, 'save sets').problems, [
          `save set ${space} (space pg_default, part 1) is missing from the storage manager`,
        ]);
      }
    }));
});

describe('log (fake engine, in-memory storage)', () => {
  it('log archive stores a file once: again is fine, other content under its name is refused', () =>
    withFakeBar({}, async (fb) => {
      const name = fb.cluster.switchWal().walFile;
      const file = path.join(fb.cluster.pgWal, name);
      assert.equal((await archiveWal(fb.ctx, file)).already, false);
      assert.equal((await archiveWal(fb.ctx, file)).already, true);
      const { timeline, segno } = parseSegmentName(name)!;
      fs.writeFileSync(file, encodeSegment({ systemId: fb.cluster.systemId, timeline, segno, records: [] }));
      await assert.rejects(archiveWal(fb.ctx, file), (e) => isOpenbarError(e, 'CONFLICT') && e.message.includes(name));
      assert.equal((await fb.memory.query({ kind: 'wal', name })).length, 1);
    }));

  it("log archive refuses another system's file and a file cut short, storing nothing", () =>
    withFakeBar({}, async (fb) => {
      const name = fb.cluster.switchWal().walFile;
      const file = path.join(fb.cluster.pgWal, name);
      const { timeline, segno } = parseSegmentName(name)!;
      fs.writeFileSync(file, encodeSegment({ systemId: '6999', timeline, segno, records: [] }));
      await assert.rejects(
        archiveWal(fb.ctx, file),
        (e) => isOpenbarError(e, 'BAD_WAL') && /another cluster/.test(e.hint ?? ''),
      );
      fs.writeFileSync(
        file,
        encodeSegment({ systemId: fb.cluster.systemId, timeline, segno, records: [] }).subarray(0, 4096),
      );
      await assert.rejects(
        archiveWal(fb.ctx, file),
        (e) => isOpenbarError(e, 'BAD_WAL') && /not a whole segment/.test(e.message),
      );
      assert.deepEqual(await fb.memory.query({ kind: 'wal' }), []);
    }));

  it('restore_command serves a stored file whole, and says false for one not stored or at the --before bound', () =>
    withFakeBar({}, async (fb) => {
      const [a, b] = [fb.cluster.switchWal().walFile, fb.cluster.switchWal().walFile];
      await fb.archive();
      const dest = path.join(fb.dir, 'RECOVERYXLOG');
      assert.equal(await restoreWal(fb.ctx, a, dest), true);
      assert.ok(fs.readFileSync(dest).equals(fs.readFileSync(path.join(fb.cluster.pgWal, a))));
      assert.equal(await restoreWal(fb.ctx, b, dest, b), false);
      assert.equal(await restoreWal(fb.ctx, '0000000100000000000000FF', dest), false);
    }));

  it('log backup closes the segment and returns once the archiver stored it; log mark is a restore target', () =>
    withFakeBar({}, async (fb) => {
      const b = await runBackup(fb.ctx, { level: 0 });
      fb.cluster.write('pg_default', '5/16384', [0]);
      const mark = await logMark(fb.ctx, 'before-upgrade');
      const waiting = logBackup(fb.ctx, 10_000);
      await sleep(20);
      await fb.archive();
      const r = await waiting;
      assert.equal((await fb.memory.query({ kind: 'wal', name: r.walFile })).length, 1);
      fb.cluster.write('pg_default', '5/16384', [1]);
      const plan = await planRestore(fb.ctx, { target: { kind: 'name', value: 'before-upgrade' } });
      assert.equal(plan.backup.aid, b.id);
      assert.equal(plan.walTo, r.walFile, `the route ends in the segment of the mark at ${mark.lsn}`);
    }));
});
