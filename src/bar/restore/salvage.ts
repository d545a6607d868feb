// Log salvage (onbar -l -s): before a cold restore overwrites an old data directory, the
// WAL in its pg_wal that the Logs pool lacks is stored, so the restore can reach it. Only
// WAL of this server's own history enters the archive (invariant 11): the directory's
// pg_control names this server's system, openbar did not restore it as a copy that does
// not archive, each segment is of a timeline the archive's history files lead to and
// passes log archive's checks. History files are never salvaged: a timeline the archive
// does not know (a test copy's promotion) must not become the one restores follow.

import fs from 'node:fs';
import type { OfflineEngine } from '../../engine/engine.js';
import type { BarContext } from '../bar-context.js';
import { archiveWal } from '../log/archive-wal.js';
import type { WalArchive } from '../log/wal-archive.js';

export interface SalvagePlan {
  /** segments that would be stored, oldest first: name and path */
  readonly files: readonly { name: string; path: string }[];
  /** what is left in the old pg_wal and why, one line each */
  readonly skipped: readonly string[];
}

const NOTHING: SalvagePlan = { files: [], skipped: [] };

/** What salvage would store from `dataDir` (reads the candidates whole to check them; stores nothing). */
export async function planSalvage(
  ctx: BarContext,
  dataDir: string,
  systemId: string,
  archive: WalArchive,
): Promise<SalvagePlan> {
  const engine = ctx.offline;
  const old = engine.oldDirectory(dataDir);
  if (old.walFiles.length === 0 || old.identity === undefined) return NOTHING;
  const all = (why: string): SalvagePlan => ({
    files: [],
    skipped: [`${old.walFiles.length} WAL file(s) in ${dataDir}/pg_wal not salvaged: ${why}`],
  });
  if ('problem' in old.identity) return all(`${dataDir} ${old.identity.problem}`);
  if (old.restoredCopy !== undefined)
    return all(
      `${dataDir} is a copy openbar restored with --archive-mode off (${old.restoredCopy}); its WAL is not this server's`,
    );
  if (old.identity.systemId !== systemId)
    return all(`${dataDir} holds database system ${old.identity.systemId}, this server's is ${systemId}`);
  const files: { name: string; path: string }[] = [];
  const skipped: string[] = [];
  const known = new Set(archive.timelines.timelines);
  for (const w of old.walFiles) {
    const stored = archive.stored(w.name);
    if (w.kind === 'history') {
      if (!stored) skipped.push(`${w.name}: a timeline the archive does not know; history files are never salvaged`);
      continue;
    }
    if (stored) continue; // archived already
    const tli = engine.walPosition(w.name)?.timeline ?? 0;
    if (!known.has(tli)) {
      skipped.push(`${w.name}: timeline ${tli} is not in the archive's history`);
      continue;
    }
    const problem = checkFile(engine, w.name, w.path, systemId);
    if (problem) {
      skipped.push(`${w.name}: ${problem}`);
      continue;
    }
    files.push({ name: w.name, path: w.path });
  }
  return { files, skipped };
}

/** Why the file fails log archive's checks, or undefined (an empty, recycled or half-written one fails). */
function checkFile(engine: OfflineEngine, name: string, file: string, systemId: string): string | undefined {
  let data: Buffer;
  try {
    data = fs.readFileSync(file);
  } catch (err) {
    return `cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`;
  }
  const c = engine.walFileCheck(name, { systemId, salvage: true });
  c.push(data);
  const v = c.end();
  return v.ok ? undefined : v.problem;
}

/** Stores the planned files as log archive would (checked again as they are read); returns those stored. */
export async function runSalvage(
  ctx: BarContext,
  plan: SalvagePlan,
  dataDir: string,
  systemId: string,
): Promise<string[]> {
  for (const s of plan.skipped) ctx.log.warn(`salvage: ${s}`);
  const out: string[] = [];
  for (const w of plan.files) {
    try {
      await archiveWal(ctx, w.path, { action: 'salvage', expect: { systemId, salvage: true } });
      out.push(w.name);
    } catch (err) {
      ctx.log.warn(`salvage: ${w.name} not saved: ${(err as Error).message}`);
    }
  }
  if (out.length > 0)
    ctx.log.info(
      `salvage: ${out.length} WAL file(s) saved from ${dataDir}/pg_wal: ${out[0]} .. ${out[out.length - 1]}`,
    );
  return out;
}
