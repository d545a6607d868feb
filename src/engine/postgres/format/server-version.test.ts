import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  MAJORS,
  majorFacts,
  majorOfVersionNum,
  majorOfVersionText,
  SUPPORTED_MAJORS,
  SUPPORTED_TEXT,
  unsupportedServer,
} from './server-version.js';
import { WAL_FORMATS } from './wal-format.js';

describe('supported PostgreSQL majors', () => {
  it('are 13 to 18, one row each, in order', () => {
    assert.deepEqual(SUPPORTED_MAJORS, { oldest: 13, newest: 18 });
    assert.deepEqual(
      MAJORS.map((m) => m.major),
      [13, 14, 15, 16, 17, 18],
    );
    assert.equal(SUPPORTED_TEXT, 'PostgreSQL 13 to 18');
    assert.equal(majorFacts(12), undefined);
    assert.equal(majorFacts(19), undefined);
  });

  it('carry the facts read from each major (initdb of 13.23, 14.23, 15.18, 16.14, 17.10, 18.4)', () => {
    const facts = (m: number) => {
      const f = majorFacts(m)!;
      return [f.walPageMagic, f.controlVersion, f.checksumsByDefault, f.heapCheck];
    };
    assert.deepEqual(facts(13), [0xd106, 1300, false, false]);
    assert.deepEqual(facts(14), [0xd10d, 1300, false, true]);
    assert.deepEqual(facts(15), [0xd110, 1300, false, true]);
    assert.deepEqual(facts(16), [0xd113, 1300, false, true]);
    assert.deepEqual(facts(17), [0xd116, 1700, false, true]);
    assert.deepEqual(facts(18), [0xd118, 1800, true, true]);
    // the WAL formats take their magic from here: one table, no second copy
    assert.deepEqual(
      WAL_FORMATS.map((f) => [f.major, f.magic]),
      MAJORS.map((m) => [m.major, m.walPageMagic]),
    );
  });

  it('start and stop backup mode with the functions of the major', () => {
    assert.equal(majorFacts(14)!.backupStart, 'pg_start_backup($1, true, false)');
    assert.equal(majorFacts(14)!.backupStop, 'pg_stop_backup(false, false)');
    for (const m of [15, 16, 17, 18]) {
      assert.equal(majorFacts(m)!.backupStart, 'pg_backup_start($1, true)');
      assert.equal(majorFacts(m)!.backupStop, 'pg_backup_stop(false)');
    }
  });

  it('read the major from server_version_num and from a program version line', () => {
    assert.equal(majorOfVersionNum(130023), 13);
    assert.equal(majorOfVersionNum(180004), 18);
    assert.equal(majorOfVersionNum(190000), 19);
    assert.equal(majorOfVersionText('initdb (PostgreSQL) 18.4\n'), 18);
    assert.equal(majorOfVersionText('postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)'), 15);
    assert.equal(majorOfVersionText('pg_ctl (PostgreSQL) 19devel'), 19);
    assert.equal(majorOfVersionText('16.14'), 16);
    assert.equal(majorOfVersionText('no version here'), undefined);
  });

  it('refuse a server of another major in one line that names the supported majors and the fix', () => {
    for (const v of [130023, 140023, 150018, 160014, 170010, 180004])
      assert.equal(unsupportedServer(v, `${v}`), undefined);
    assert.deepEqual(unsupportedServer(120022, '12.22'), {
      message: 'PostgreSQL 12.22 is not supported: openbar supports PostgreSQL 13 to 18',
      hint: 'upgrade the cluster to PostgreSQL 13 or later (pg_upgrade) before backing it up with openbar',
    });
    assert.deepEqual(unsupportedServer(190000, '19devel'), {
      message: 'PostgreSQL 19devel is not supported: openbar supports PostgreSQL 13 to 18',
      hint: 'back it up with a release of openbar that supports PostgreSQL 19',
    });
  });
});
