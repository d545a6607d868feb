// Rebuilding the history (onsmsync's regeneration): history.db from the boot files, or
// both from instance lines made from the save sets. What is replaced is kept aside
// under a dated name, never silently lost. history.db serves every server of the home,
// so it is rebuilt from every server's lines at once.

import fs from 'node:fs';
import path from 'node:path';
import { bootFilePath, readBootFile, rewriteBootFile, type BadBootLine, type BootLine } from './boot-file.js';
import { historyPath, seedFromBootLines } from './backup-history.js';
import { HistoryDb } from './history-db.js';
import { isoTime } from '../common/units.js';

/** Every server's boot file in `home` (ixbar.SERVER). */
export function bootFiles(home: string): { server: string; file: string }[] {
  let names: string[];
  try {
    names = fs.readdirSync(home);
  } catch {
    return [];
  }
  return names
    .filter((n) => n.startsWith('ixbar.') && !/\.(replaced|tmp)-/.test(n))
    .sort()
    .map((n) => ({ server: n.slice('ixbar.'.length), file: path.join(home, n) }));
}

/** Moves `file` (and its SQLite companions) to `file.replaced-TIME`; returns the new name, if it existed. */
export function keepAside(file: string): string | undefined {
  if (!fs.existsSync(file)) return undefined;
  const aside = `${file}.replaced-${isoTime().replace(/[:.]/g, '-')}`;
  fs.renameSync(file, aside);
  for (const s of ['-wal', '-shm']) if (fs.existsSync(file + s)) fs.renameSync(file + s, aside + s);
  return aside;
}

/** history.db anew from the given lines (all servers); the old one kept aside. */
export function writeHistoryFromLines(
  home: string,
  lines: readonly BootLine[],
  servers: readonly { name: string; systemId?: string; version?: string; pgData?: string }[] = [],
): { aside: string | undefined; instances: number } {
  const file = historyPath(home);
  const tmp = `${file}.rebuild-${process.pid}`;
  for (const s of ['', '-wal', '-shm']) fs.rmSync(tmp + s, { force: true });
  const db = HistoryDb.open(tmp, { create: true });
  let instances: number;
  try {
    for (const s of servers) db.ensureServer(s.name, s);
    instances = seedFromBootLines(db, lines);
  } finally {
    db.close();
  }
  for (const s of ['-wal', '-shm']) fs.rmSync(tmp + s, { force: true });
  const aside = keepAside(file);
  fs.renameSync(tmp, file);
  return { aside, instances };
}

/** `sync --rebuild-history`: from every boot file in the home; a bad line is handed to `onBad` and skipped. */
export function rebuildHistoryFromBootFiles(
  home: string,
  onBad?: (b: BadBootLine) => void,
): { aside: string | undefined; instances: number; servers: string[] } {
  const files = bootFiles(home);
  const lines = files.flatMap((f) => readBootFile(f.file, onBad));
  return { ...writeHistoryFromLines(home, lines), servers: files.map((f) => f.server) };
}

/** Replaces one server's boot file with `lines`, the old one kept aside. */
export function replaceBootFile(home: string, server: string, lines: readonly BootLine[]): string | undefined {
  const file = bootFilePath(home, server);
  let aside: string | undefined;
  if (fs.existsSync(file)) {
    aside = `${file}.replaced-${isoTime().replace(/[:.]/g, '-')}`;
    fs.copyFileSync(file, aside);
  }
  rewriteBootFile(file, lines);
  return aside;
}
