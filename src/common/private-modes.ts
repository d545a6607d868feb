// The modes of everything openbar keeps: private to its owner, as PostgreSQL keeps its
// data directory (directories 0700, files 0600), whatever the umask. Files are created
// with these modes; a looser home found later is reported with the fix, never chmodded
// behind the owner's back.

import fs from 'node:fs';
import path from 'node:path';

export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;
/** a closed volume: immutable, and still private */
export const READ_ONLY_FILE_MODE = 0o400;

/** Makes `dir` (and any missing parent) with mode 0700; an existing directory is left as it is. */
export function mkdirPrivate(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
}

/**
 * Creates `file` empty with mode 0600 when it does not exist. SQLite creates a database
 * 0644 whatever the umask, and gives its -wal and -shm files the database's mode: a
 * database file made here first keeps all three private.
 */
export function ensurePrivateFile(file: string): void {
  fs.closeSync(fs.openSync(file, 'a', PRIVATE_FILE_MODE));
}

/** The permission bits of `p` when group or other have any (undefined when private or absent). */
function openMode(p: string): number | undefined {
  let mode: number;
  try {
    mode = fs.statSync(p).mode & 0o777;
  } catch {
    return undefined;
  }
  return (mode & 0o077) === 0 ? undefined : mode;
}

const octal = (mode: number) => mode.toString(8).padStart(4, '0');

/**
 * What in `home` other users can reach: the home, each file and directory in it, and the
 * directories one level down (the pools' volume directories, locks/). Files deeper down
 * (volumes, locks) are not looked at one by one: a private directory already keeps them
 * from everyone else, and a home of thousands of volumes is opened at every archived WAL file.
 */
export function looseModes(home: string): { path: string; mode: number }[] {
  const out: { path: string; mode: number }[] = [];
  const note = (p: string) => {
    const mode = openMode(p);
    if (mode !== undefined) out.push({ path: p, mode });
  };
  let names: fs.Dirent[];
  try {
    names = fs.readdirSync(home, { withFileTypes: true });
  } catch {
    return out;
  }
  note(home);
  for (const d of names) {
    const p = path.join(home, d.name);
    note(p);
    if (!d.isDirectory()) continue;
    let inner: fs.Dirent[] = [];
    try {
      inner = fs.readdirSync(p, { withFileTypes: true });
    } catch {
      /* unreadable: its own mode was noted */
    }
    for (const e of inner) if (e.isDirectory()) note(path.join(p, e.name));
  }
  return out;
}

/** One warning line naming what is open in `home` and the fix; undefined when all is private. */
export function looseHomeWarning(home: string): string | undefined {
  const loose = looseModes(home);
  if (loose.length === 0) return undefined;
  const shown = loose
    .slice(0, 3)
    .map((l) => `${l.path === home ? home : path.relative(home, l.path)} ${octal(l.mode)}`);
  const more = loose.length > 3 ? `, and ${loose.length - 3} more` : '';
  return `the home ${home} is open to other users (${shown.join(', ')}${more}); openbar keeps it private (directories 0700, files 0600): chmod -R go-rwx ${home}`;
}

/** One warning line when a directory outside the home (a pool's device) is open to other users. */
export function looseDirWarning(dir: string, what: string): string | undefined {
  const mode = openMode(dir);
  return mode === undefined ? undefined : `${what} ${dir} is open to other users (${octal(mode)}): chmod go-rwx ${dir}`;
}
