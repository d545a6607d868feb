// A data directory whose pg_wal is a link to a WAL directory elsewhere (initdb --waldir),
// restored in place: the link is kept, so that WAL stays on the disk the DBA chose. The
// space stream holds pg_wal as a plain directory (a restore makes no link from a stream),
// so preparing the old directory finds where the link pointed (the restore keeps it in
// its restart record, never in the data directory, where streams write), and finishing
// puts the link back. The old WAL there (already salvaged, when salvage ran) is moved
// aside into a subdirectory the server ignores, never deleted. A restore into a new
// directory gets a plain pg_wal, as the stream says.

import fs from 'node:fs';
import path from 'node:path';

/** Where `dir/pg_wal` points when it is a link to a directory outside `dir`, else undefined; read before the old files are cleared. */
export function oldWalLink(dir: string): string | undefined {
  const wal = path.join(dir, 'pg_wal');
  const st = fs.lstatSync(wal, { throwIfNoEntry: false });
  if (!st?.isSymbolicLink()) return undefined;
  let target: string;
  try {
    target = fs.realpathSync(wal);
  } catch {
    return undefined; // dangling: pg_wal is made a directory
  }
  const root = fs.realpathSync(dir);
  if (target === root || target.startsWith(`${root}/`) || !fs.statSync(target).isDirectory()) return undefined;
  return target;
}

/**
 * Puts the pg_wal link to `noted` (what oldWalLink found before the directory was cleared)
 * back at the end of a restore: the WAL directory's old content moved aside, the restored
 * pg_wal's (archive_status) moved in, the link made. Returns the WAL directory, or
 * undefined when there is none to link to (nothing noted, or no longer a directory
 * outside `dataDir`).
 */
export function restoreWalLink(dataDir: string, noted: string | undefined): string | undefined {
  if (noted === undefined || !path.isAbsolute(noted)) return undefined;
  const st0 = fs.statSync(noted, { throwIfNoEntry: false });
  if (!st0?.isDirectory()) return undefined;
  const root = fs.realpathSync(dataDir);
  const real = fs.realpathSync(noted);
  if (real === root || real.startsWith(`${root}/`)) return undefined;
  const wal = path.join(dataDir, 'pg_wal');
  const st = fs.lstatSync(wal, { throwIfNoEntry: false });
  if (st?.isSymbolicLink()) return noted; // put back already (a --restart after this step)
  const old = fs.readdirSync(noted).filter((n) => !n.startsWith('openbar-before-restore-'));
  if (old.length > 0) {
    const aside = path.join(noted, `openbar-before-restore-${new Date().toISOString().replace(/[:.]/g, '-')}`);
    fs.mkdirSync(aside, { mode: 0o700 });
    for (const n of old) fs.renameSync(path.join(noted, n), path.join(aside, n));
  }
  if (st?.isDirectory()) {
    for (const n of fs.readdirSync(wal)) fs.renameSync(path.join(wal, n), path.join(noted, n));
    fs.rmdirSync(wal);
  }
  fs.mkdirSync(path.join(noted, 'archive_status'), { recursive: true, mode: 0o700 });
  fs.symlinkSync(noted, wal);
  return noted;
}
