// Facts about a data directory on disk: is a server running in it, whose cluster is it
// (pg_control), did openbar restore it as a copy that does not archive, and which WAL
// files does its pg_wal hold (for salvage before a cold restore). Reads only, except
// for the copy mark, which the restore writes.

import fs from 'node:fs';
import path from 'node:path';
import type { ClusterIdentity } from '../../engine.js';
import { CONTROL_FILE, readControlFile } from '../format/control-file.js';
import { walFileKind } from '../format/lsn.js';

/** Left by a restore with --archive-mode off: the directory is a copy, its WAL is not this server's archive's. */
export const COPY_MARK = 'openbar_restored_copy';

/**
 * Whether `name`, at the top of a data directory, is one of openbar's own files there
 * (openbar_restored_copy, the restart record .openbar_restore, openbar_pg_wal_link of
 * earlier builds): never backed up, and refused in a stream, which must not forge them.
 */
export function isOpenbarOwn(name: string): boolean {
  return name.startsWith('openbar_') || name.startsWith('.openbar_');
}

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

/**
 * The system identifier in `dir`'s pg_control: undefined when there is none (no cluster),
 * a problem when it cannot be trusted (unreadable, damaged, or read while rewritten).
 */
export function clusterIdentity(dir: string): ClusterIdentity | { problem: string } | undefined {
  let content: Buffer;
  try {
    content = fs.readFileSync(path.join(dir, CONTROL_FILE));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT'
      ? undefined
      : { problem: `cannot read its pg_control (${code ?? (err as Error).message})` };
  }
  const c = readControlFile(content);
  if ('error' in c) return { problem: `its pg_control: ${c.error}` };
  if (c.crcOffset === undefined) return { problem: 'its pg_control fails its CRC (damaged)' };
  return { systemId: c.systemId };
}

/** The copy mark's content (what restored it, when), or undefined when `dir` is not a restored copy. */
export function restoredCopy(dir: string): string | undefined {
  try {
    return fs.readFileSync(path.join(dir, COPY_MARK), 'utf8').trim() || 'restored as a copy';
  } catch {
    return undefined;
  }
}

/** WAL segment and history files in `dir/pg_wal`, oldest first. */
export function walFilesIn(dir: string): { name: string; kind: 'segment' | 'history' }[] {
  try {
    return fs
      .readdirSync(path.join(dir, 'pg_wal'))
      .sort()
      .flatMap((name) => {
        const kind = walFileKind(name);
        return kind === 'segment' || kind === 'history' ? [{ name, kind }] : [];
      });
  } catch {
    return [];
  }
}
