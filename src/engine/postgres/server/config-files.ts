// The configuration files a running server uses that live outside its data directory
// (Debian's /etc/postgresql/N/NAME), for the backup's configuration save set. The server
// is asked where they are (config_file, hba_file, ident_file, and pg_file_settings for the
// files its settings came from); the include, include_if_exists and include_dir lines of
// the files found are followed too, as a file without settings is in no view. The files
// are read from disk, as the data directory is. Never writes.

import fs from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { fail } from '../../../common/errors.js';
import type { ConfigEntry } from '../../engine.js';
import { includeLines } from '../restore/config-lines.js';

/** The server's configuration outside `dataDir`, main file first; [] when it is all inside. */
export async function readConfigFiles(c: pg.Client, dataDir: string): Promise<ConfigEntry[]> {
  const named = (
    await c.query<{ main: string; hba: string; ident: string }>(
      "SELECT current_setting('config_file') AS main, current_setting('hba_file') AS hba, current_setting('ident_file') AS ident",
    )
  ).rows[0]!;
  const sources = await c
    .query<{ f: string }>('SELECT DISTINCT sourcefile AS f FROM pg_file_settings WHERE sourcefile IS NOT NULL')
    .then((r) => r.rows.map((x) => x.f))
    .catch(() => [] as string[]); // pg_file_settings needs a superuser or pg_read_all_settings
  const inside = insideOf(dataDir);
  const out = new Map<string, ConfigEntry>();
  const add = (role: ConfigEntry['role'], p: string, type: 'file' | 'dir' = 'file'): void => {
    if (!path.isAbsolute(p) || out.has(p) || inside(p)) return;
    const entry = readEntry(role, p, type);
    if (!entry) return;
    out.set(p, entry);
    if (type === 'file') for (const inc of includeLines(entry.content!.toString('utf8'))) follow(inc, p);
    if (type === 'dir') for (const f of confFilesIn(p)) add('include', f);
  };
  const follow = (inc: { kind: string; value: string }, from: string): void => {
    const p = path.resolve(path.dirname(from), inc.value);
    if (inc.kind === 'include_dir') add('include', p, 'dir');
    else if (inc.kind === 'include' || fs.existsSync(p)) add('include', p);
  };
  add('main', named.main);
  add('hba', named.hba);
  add('ident', named.ident);
  for (const s of sources) add('include', s);
  return [...out.values()];
}

/** Whether a path lies in `dataDir` (its files are in the critical space already), links resolved. */
function insideOf(dataDir: string): (p: string) => boolean {
  const real = (p: string) => {
    try {
      return fs.realpathSync(p);
    } catch {
      return path.resolve(p);
    }
  };
  const root = real(dataDir);
  return (p) => {
    const r = real(p);
    return r === root || r.startsWith(`${root}/`);
  };
}

function readEntry(role: ConfigEntry['role'], p: string, type: 'file' | 'dir'): ConfigEntry | undefined {
  try {
    const st = fs.statSync(p);
    if (type === 'dir') return st.isDirectory() ? { role, path: p, type, mode: st.mode & 0o7777 } : undefined;
    if (!st.isFile()) return undefined;
    return { role, path: p, type, mode: st.mode & 0o7777, content: fs.readFileSync(p) };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined; // include_if_exists, or gone since the server read it
    return fail(
      'IO',
      `cannot read the server's configuration file ${p} (${code})`,
      'run openbar as the user the server runs as (postgres), who can read it',
    );
  }
}

/** What include_dir takes from a directory: its files ending in .conf, not hidden, in name order. */
function confFilesIn(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((n) => n.endsWith('.conf') && !n.startsWith('.'))
    .sort()
    .map((n) => path.join(dir, n));
}
