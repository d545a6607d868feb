// The configuration files of a backup written back for a restored copy: into its data
// directory by default (so `pg_ctl start -D DIR` finds postgresql.conf), or into a
// directory of the user's (--config-dir). postgresql.conf, pg_hba.conf and pg_ident.conf
// take their default names there; what the main file's directory held keeps its place
// under it (conf.d/); anything else goes under openbar-included/ by its old absolute path.
// The files are changed so that the copy never uses the original's files (see
// config-lines.ts). Never writes over an existing file of a --config-dir, nor through a
// link in the data directory.

import fs from 'node:fs';
import path from 'node:path';
import { fail } from '../../../common/errors.js';
import { TargetDir } from '../../../common/io/target-dir.js';
import type { ConfigEntry, PlacedConfig } from '../../engine.js';
import { dataDirectoryLines, rewriteConfig } from './config-lines.js';

const DEFAULT_NAMES: Readonly<Record<string, string>> = {
  main: 'postgresql.conf',
  hba: 'pg_hba.conf',
  ident: 'pg_ident.conf',
};
const ELSEWHERE = 'openbar-included';

/** Where each entry goes, relative to the directory the configuration is written into. */
export function configLayout(entries: readonly ConfigEntry[]): Map<string, string> {
  const main = entries.find((e) => e.role === 'main');
  const home = main ? path.dirname(main.path) : undefined;
  const out = new Map<string, string>();
  for (const e of entries) {
    const named = DEFAULT_NAMES[e.role];
    const rel =
      named ??
      (home !== undefined && e.path.startsWith(`${home}/`) ? e.path.slice(home.length + 1) : `${ELSEWHERE}${e.path}`);
    out.set(e.path, rel);
  }
  return out;
}

/** Why the entries cannot go into `configDir` (a file in the way, not a directory, not absolute), or undefined. */
export function checkConfigPlace(entries: readonly ConfigEntry[], configDir: string | undefined): string | undefined {
  if (configDir === undefined) return undefined;
  if (!path.isAbsolute(configDir)) return `--config-dir ${configDir} is not an absolute path`;
  const st = fs.lstatSync(configDir, { throwIfNoEntry: false });
  if (st && !st.isDirectory()) return `--config-dir ${configDir} is not a directory`;
  const layout = configLayout(entries);
  for (const e of entries) {
    const p = path.join(configDir, layout.get(e.path)!);
    const there = fs.lstatSync(p, { throwIfNoEntry: false });
    if (there && !(e.type === 'dir' && there.isDirectory()))
      return `${p} exists: openbar never writes over configuration files (a running cluster's, perhaps)`;
  }
  return undefined;
}

/** Writes the entries for the copy restored into `dataDir`. */
export function placeConfig(
  entries: readonly ConfigEntry[],
  f: { dataDir: string; originalDataDir: string; configDir: string | undefined },
): PlacedConfig {
  const problem = checkConfigPlace(entries, f.configDir);
  if (problem) fail('CONFLICT', problem, 'give --config-dir an empty or new directory');
  const dir = f.configDir ?? f.dataDir;
  if (f.configDir) fs.mkdirSync(f.configDir, { recursive: true, mode: 0o700 });
  const tree = TargetDir.open(dir);
  const layout = configLayout(entries);
  const notes: string[] = [];
  // an absolute include path names a file or directory the backup holds: its new place
  const moved = (abs: string): string | undefined => {
    const rel = layout.get(path.normalize(abs));
    return rel === undefined ? undefined : path.join(dir, rel);
  };
  const written: string[] = [];
  for (const e of [...entries].sort((a, b) => layout.get(a.path)!.length - layout.get(b.path)!.length)) {
    const rel = layout.get(e.path)!;
    if (e.type === 'dir') {
      tree.dir(rel, (e.mode & 0o777) | 0o700);
    } else {
      tree.writeFile(rel, rewritten(e, rel, moved, notes, f), (e.mode & 0o777) | 0o600);
    }
    written.push(path.join(dir, rel));
  }
  return { written, configDir: dir, notes };
}

function rewritten(
  e: ConfigEntry,
  rel: string,
  moved: (abs: string) => string | undefined,
  notes: string[],
  f: { dataDir: string; configDir: string | undefined },
): Buffer {
  const content = e.content ?? Buffer.alloc(0);
  if (e.role === 'hba' || e.role === 'ident') return content;
  const r = rewriteConfig(content.toString('utf8'), rel, moved);
  notes.push(...r.notes);
  // kept apart from the data directory, the main file must say where that is
  const text = e.role === 'main' && f.configDir !== undefined ? r.text + dataDirectoryLines(f.dataDir) : r.text;
  return Buffer.from(text, 'utf8');
}

/** The command that starts the restored server. */
export function startCommand(dataDir: string, configDir: string | undefined): string {
  const d = configDir ?? dataDir;
  return `pg_ctl start -D ${/^[A-Za-z0-9_./+:-]+$/.test(d) ? d : `'${d.replace(/'/g, `'\\''`)}'`}`;
}
