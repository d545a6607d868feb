// The configuration files of a backup written back for a restored copy: into its data
// directory by default (so `pg_ctl start -D DIR` finds postgresql.conf), or into a
// directory of the user's (--config-dir). postgresql.conf, pg_hba.conf and pg_ident.conf
// take their default names there; every other file and directory goes under
// openbar-included/ by its old absolute path, so that no included file lands where the
// restored spaces put one (an include at .../main/global/pg_control is not pg_control).
// The files are changed so that the copy never uses the original's files, and include
// lines name the new places (see config-lines.ts). Never writes over an existing file of a
// --config-dir (checked in the restore's plan), nor through a link below the directory.

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

/** Where each entry goes, relative to the directory the configuration is written into; two entries on one place fail (FORMAT). */
export function configLayout(entries: readonly ConfigEntry[]): Map<string, string> {
  const out = new Map<string, string>();
  const taken = new Map<string, string>();
  for (const e of entries) {
    const rel = DEFAULT_NAMES[e.role] ?? `${ELSEWHERE}${e.path}`;
    const other = taken.get(rel);
    if (other !== undefined || out.has(e.path))
      fail('FORMAT', `the configuration files ${other ?? e.path} and ${e.path} would both be written to ${rel}`);
    taken.set(rel, e.path);
    out.set(e.path, rel);
  }
  return out;
}

/**
 * Why the entries cannot be written (two on one place; into `configDir`: a file in the
 * way, not a directory, not absolute), or undefined. `ours`: what is in `configDir` was
 * written by this restore (a --restart), not in the way.
 */
export function checkConfigPlace(
  entries: readonly ConfigEntry[],
  configDir: string | undefined,
  opts: { ours: boolean } = { ours: false },
): string | undefined {
  let layout: Map<string, string>;
  try {
    layout = configLayout(entries);
  } catch (err) {
    return (err as Error).message;
  }
  if (configDir === undefined) return undefined;
  if (!path.isAbsolute(configDir)) return `--config-dir ${configDir} is not an absolute path`;
  const st = fs.lstatSync(configDir, { throwIfNoEntry: false });
  if (st && !st.isDirectory()) return `--config-dir ${configDir} is not a directory`;
  if (opts.ours) return undefined;
  for (const e of entries) {
    const p = path.join(configDir, layout.get(e.path)!);
    const there = fs.lstatSync(p, { throwIfNoEntry: false });
    if (there && !(e.type === 'dir' && there.isDirectory()))
      return `${p} exists: openbar never writes over configuration files (a running cluster's, perhaps)`;
  }
  return undefined;
}

/** Writes the entries for the copy restored into `dataDir` (its place checked by checkConfigPlace in the plan). */
export function placeConfig(
  entries: readonly ConfigEntry[],
  f: { dataDir: string; configDir: string | undefined },
): PlacedConfig {
  const dir = f.configDir ?? f.dataDir;
  const tree = TargetDir.open(dir);
  const layout = configLayout(entries);
  const notes: string[] = [];
  // an include path (resolved from its file's old directory) that names a file or directory the backup holds: its new place
  const moved = (abs: string): string | undefined => {
    const rel = layout.get(path.normalize(abs));
    return rel === undefined ? undefined : tree.path(rel);
  };
  const written: string[] = [];
  for (const e of [...entries].sort((a, b) => layout.get(a.path)!.length - layout.get(b.path)!.length)) {
    const rel = layout.get(e.path)!;
    if (e.type === 'dir') {
      tree.dir(rel, (e.mode & 0o777) | 0o700);
    } else {
      tree.writeFile(rel, rewritten(e, rel, moved, notes, f), (e.mode & 0o777) | 0o600);
    }
    written.push(tree.path(rel));
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
  const r = rewriteConfig(content.toString('utf8'), rel, moved, path.dirname(e.path));
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
