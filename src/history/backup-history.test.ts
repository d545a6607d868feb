import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { BackupHistory, historyPath } from './backup-history.js';

const home = fs.mkdtempSync(path.join(os.tmpdir(), 'openbar-history-'));

describe('backup history: the instances of backups', () => {
  after(() => fs.rmSync(home, { recursive: true, force: true }));

  it('leaves out the archived WAL files and restore points, from history.db and from the boot file alike', () => {
    const h = BackupHistory.open(home, 'srv', { create: true });
    const time = new Date().toISOString();
    const backup = h.beginAction('backup', 0);
    h.recordInstances(backup, [
      {
        object: 'pg_global',
        type: 'R',
        level: 0,
        copyIds: [1],
        startLsn: '0/2000028',
        stopLsn: '0/2000100',
        timeline: 1,
        time,
      },
      {
        object: 'pg_default',
        type: 'D',
        level: 0,
        copyIds: [2],
        startLsn: '0/2000028',
        stopLsn: '0/2000100',
        timeline: 1,
        time,
      },
      {
        object: 'backup_label',
        type: 'B',
        level: 0,
        copyIds: [3],
        startLsn: '0/2000028',
        stopLsn: '0/2000100',
        timeline: 1,
        time,
      },
    ]);
    h.endAction(backup, 0, 'completed');
    for (let i = 0; i < 50; i++) {
      const aid = h.beginAction('log-backup', null, { name: `wal ${i}` });
      h.recordInstances(aid, [
        {
          object: `0000000100000000000000${(i + 2).toString(16).padStart(2, '0').toUpperCase()}`,
          type: 'L',
          level: 0,
          copyIds: [10 + i],
          time,
        },
      ]);
      h.endAction(aid, 0, 'completed');
    }
    h.recordMark(h.beginAction('mark', null), { name: 'before', lsn: '0/5000000', time, xid: '800', timeline: 1 });
    const kinds = (list: readonly { type: string }[]) => [...new Set(list.map((i) => i.type))].sort().join('');
    assert.equal(kinds(h.instances()), 'BDLR', 'every instance is still there for those who want them all');
    const fromDb = h.backupInstances();
    assert.equal(kinds(fromDb), 'BDR');
    assert.deepEqual(
      fromDb.map((i) => i.object),
      ['pg_global', 'pg_default', 'backup_label'],
    );
    h.close();

    // history.db lost: the boot file says the same
    fs.rmSync(historyPath(home));
    const cold = BackupHistory.open(home, 'srv', { create: false });
    assert.equal(cold.hasDatabase, false);
    assert.deepEqual(
      cold.backupInstances().map((i) => i.object),
      ['pg_global', 'pg_default', 'backup_label'],
    );
    assert.equal(kinds(cold.instances()), 'BDLR');
    cold.close();
  });
});
