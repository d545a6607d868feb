// Non-exclusive backup mode on one held session, with the major's functions
// (server-version.ts: pg_backup_start / pg_backup_stop, pg_start_backup / pg_stop_backup
// before PostgreSQL 15). The session must stay open
// from start to stop; closing it aborts the backup on the server side. The stop does not
// wait for archiving (the server polls once a second): the client checks the Logs pool.

import type pg from 'pg';
import type { BackupHandle, BackupStopped } from '../../engine.js';
import { queryOne } from './pg-connection.js';
import { formatLsn, parseLsn, walFileName, walFilesBetween, segmentOf } from '../format/lsn.js';
import { isoTime } from '../../../common/units.js';
import type { MajorFacts } from '../format/server-version.js';

export async function startBackup(
  client: pg.Client,
  major: MajorFacts,
  segmentSize: number,
  label: string,
): Promise<BackupHandle> {
  const started = await queryOne<{ lsn: string }>(client, `SELECT ${major.backupStart} AS lsn`, [label]);
  const startTime = isoTime();
  const startLsn = parseLsn(started.lsn);
  const { timeline_id: timeline } = await queryOne<{ timeline_id: number }>(
    client,
    'SELECT timeline_id FROM pg_control_checkpoint()',
  );
  let done = false;

  const stop = async (): Promise<BackupStopped> => {
    const stopSql = `SELECT lsn, labelfile, spcmapfile FROM ${major.backupStop}`;
    const r = await queryOne<{ lsn: string; labelfile: string; spcmapfile: string | null }>(client, stopSql);
    done = true;
    const { next: nextXid } = await queryOne<{ next: string }>(
      client,
      'SELECT txid_current_snapshot()::text AS next',
    ).then((x) => ({ next: String(x.next).split(':')[1]! }));
    const stopLsn = parseLsn(r.lsn);
    const lastByte = stopLsn > startLsn ? stopLsn - 1n : startLsn;
    const labelFiles = [{ name: 'backup_label', content: r.labelfile }];
    if (r.spcmapfile) labelFiles.push({ name: 'tablespace_map', content: r.spcmapfile });
    return {
      stopLsn: formatLsn(stopLsn),
      stopTime: isoTime(),
      walFiles: walFilesBetween(timeline, startLsn, lastByte, segmentSize),
      labelFiles,
      nextXid,
    };
  };

  const abort = async (): Promise<void> => {
    if (done) return;
    done = true;
    await client.query(`SELECT ${major.backupStop}`).catch(() => {});
  };

  return {
    startLsn: formatLsn(startLsn),
    timeline,
    startWal: walFileName(timeline, segmentOf(startLsn, segmentSize), segmentSize),
    startTime,
    stop,
    abort,
  };
}
