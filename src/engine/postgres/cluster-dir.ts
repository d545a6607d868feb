// Facts about a data directory on disk: is a server running in it, and which WAL
// files does its pg_wal hold (for salvage before a cold restore).

import fs from 'node:fs';
import path from 'node:path';
import { walFileKind } from './lsn.js';

/** The pid of a live postmaster in `dir`, or undefined (a stale postmaster.pid is ignored). */
export function runningPostmaster(dir: string): number | undefined {
  let text: string;
  try {
    text = fs.readFileSync(path.join(dir, 'postmaster.pid'), 'utf8');
  } catch {
    return undefined;
  }
  const pid = Number(text.split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM' ? pid : undefined;
  }
}

/** WAL segment and history files in `dir/pg_wal`, oldest first. */
export function walFilesIn(dir: string): string[] {
  try {
    return fs.readdirSync(path.join(dir, 'pg_wal')).filter((n) => {
      const k = walFileKind(n);
      return k === 'segment' || k === 'history';
    }).sort();
  } catch {
    return [];
  }
}

