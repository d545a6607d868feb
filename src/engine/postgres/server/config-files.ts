// The configuration files a running server uses that live outside its data directory
// (Debian's /etc/postgresql/N/NAME), for the backup's configuration save set. The server
// names its main, hba and ident files (config_file, hba_file, ident_file, asked with the
// rest of describe()); the include, include_if_exists and include_dir lines of the files
// found are followed, as the server follows them, which reaches every file its settings
// come from (pg_file_settings would list no other). The files are read from disk, as the
// data directory is. Never writes.

import fs from 'node:fs';
import path from 'node:path';
import { fail } from '../../../common/errors.js';
import type { ConfigEntry } from '../../engine.js';
import { includeLines } from '../restore/config-lines.js';

/** How deep includes nest at most: PostgreSQL's CONF_FILE_MAX_DEPTH. */
export const MAX_INCLUDE_DEPTH = 10;

/** The files the server names: config_file, hba_file, ident_file. */
export interface ConfigNames {
  readonly main: string;
  readonly hba: string;
  readonly ident: string;
}

/**
 * The server's configuration outside `dataDir`, main file first; [] when it is all
 * inside. Each path the server (or an include line) names is one entry; a file reached
 * again, by another path or a loop (links resolved), has its includes followed once.
 * Includes nested deeper than PostgreSQL allows fail (CONFIG).
 */
export function readConfigFiles(named: ConfigNames, dataDir: string): ConfigEntry[] {
  const inside = insideOf(dataDir);
  const out = new Map<string, ConfigEntry>();
  const followed = new Set<string>();
  const add = (role: ConfigEntry['role'], p: string, type: 'file' | 'dir', depth: number, from?: string): void => {
    if (!path.isAbsolute(p) || inside(p)) return;
    if (depth > MAX_INCLUDE_DEPTH)
      fail(
        'CONFIG',
        `the server's configuration includes ${p} (from ${from}) more than ${MAX_INCLUDE_DEPTH} levels deep, deeper than PostgreSQL reads (an include loop?)`,
        'fix the include lines of the configuration',
      );
    const entry = out.get(p) ?? readEntry(role, p, type);
    if (!entry) return;
    if (!out.has(p)) out.set(p, entry);
    const real = fs.realpathSync(p);
    if (followed.has(`${type}:${real}`)) return;
    followed.add(`${type}:${real}`);
    if (type === 'file')
      for (const inc of includeLines(entry.content!.toString('utf8'))) {
        const q = path.resolve(path.dirname(p), inc.value);
        if (inc.kind === 'include_dir') add('include', q, 'dir', depth + 1, p);
        else if (inc.kind === 'include' || fs.existsSync(q)) add('include', q, 'file', depth + 1, p);
      }
    else for (const f of confFilesIn(p)) add('include', f, 'file', depth, p);
  };
  add('main', named.main, 'file', 0);
  add('hba', named.hba, 'file', 0);
  add('ident', named.ident, 'file', 0);
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
