// The plan of a backup's copy, made once backup mode is on: the files of each space
// (listed while the WAL is read), each space's level and base, how it finds its changed
// pages, and the parts its files are shared among (the critical space first, then the
// largest). Only reads: the server's files, the history, the catalog and the WAL.

import { trace } from '../../common/trace.js';
import type { IncrementalSource, SpaceFile, SpaceInfo } from '../../engine/engine.js';
import type { BackupRun } from './backup-run.js';
import { chooseBases, type SpaceLevel } from './choose-bases.js';
import { earlyLevels, incrementalSources, type EarlyWal } from './incremental-sources.js';
import { PieceQueue, partsFor } from './plan-parts.js';

/** One unit of work of the copy: one part of one space, pulling from the space's queue of pieces. */
export interface Work {
  readonly space: SpaceInfo;
  readonly queue: PieceQueue;
  readonly part: number;
  readonly parts: number;
}

/** What the copy does: each space's level and base, how it finds its pages, its parts, and the bytes to copy. */
export interface CopyPlan {
  readonly levels: readonly SpaceLevel[];
  readonly sources: ReadonlyMap<string, IncrementalSource>;
  readonly work: readonly Work[];
  readonly total: number;
}

/** Step: the files listed, each space's level and base, its changed pages, and its parts. */
export async function planCopy(s: BackupRun, early: EarlyWal | undefined): Promise<CopyPlan> {
  // the files are listed while the WAL is still being read
  const listing = listSpaces(s);
  const chosen = await chooseLevels(s, early);
  trace('backup: levels chosen');
  const { sources, levels } = await findChangedPages(s, chosen, early);
  const work = await planWork(s, await listing, sources);
  trace('backup: files listed');
  const total = [...new Set(work.map((w) => w.queue))].reduce((a, q) => a + q.bytes, 0);
  return { levels, sources, work, total };
}

/** The files of every space; what the listing did that a DBA should know is logged and reported. */
function listSpaces(s: BackupRun): Promise<SpaceFile[][]> {
  const noted = (space: string) => (note: string) => {
    s.ctx.log.warn(`backup ${s.aid}: ${space}: ${note}`);
    s.opts.report?.(`${space}: ${note}`);
  };
  const listing = Promise.all(s.spaces.map((space) => s.engine.listFiles(space, noted(space.name))));
  listing.then(
    () => trace('backup: listing done'),
    () => {},
  ); // awaited by planCopy
  return listing;
}

/** Each space's level and base: the bases chosen before backup mode when they still hold, else chosen now. */
async function chooseLevels(s: BackupRun, early: EarlyWal | undefined): Promise<SpaceLevel[]> {
  const names = s.spaces.map((x) => x.name);
  if (s.opts.level === 0) return names.map((space) => ({ space, level: 0 }));
  return (
    earlyLevels(early, names, s.handle.timeline) ??
    (await chooseBases(s.ctx.sm, s.ctx.history.backupInstances(), names, s.opts.level, s.handle.timeline))
  );
}

/** How each space of a level 1 or 2 finds its pages; a space whose base cannot say which files are new since may get a lower level here. */
async function findChangedPages(
  s: BackupRun,
  chosen: readonly SpaceLevel[],
  early: EarlyWal | undefined,
): Promise<{ sources: Map<string, IncrementalSource>; levels: SpaceLevel[] }> {
  const found = await incrementalSources(s.ctx, s.engine, s.aid, chosen, s.handle, s.info, early);
  for (const l of found.levels)
    if (l.note) {
      s.ctx.log.info(`backup ${s.aid}: ${l.note}`);
      s.opts.report?.(`${l.space}: ${l.note}`);
    }
  trace('backup: changed pages known');
  return found;
}

/** One unit of work per part of each space; the critical space first, then the largest spaces. */
async function planWork(
  s: BackupRun,
  files: readonly SpaceFile[][],
  sources: ReadonlyMap<string, IncrementalSource>,
): Promise<Work[]> {
  const listed = s.spaces.map((space, i) => {
    const src = sources.get(space.name);
    return {
      space,
      queue: new PieceQueue(files[i]!, src ? (f) => s.engine.incrementalBytes(space, f, src) : undefined),
    };
  });
  listed.sort((a, b) => Number(b.space.critical) - Number(a.space.critical) || b.queue.bytes - a.queue.bytes);
  // small files read ahead (an incremental, only those it copies whole)
  for (const { space, queue } of listed) s.engine.prepareCopy(space, queue.order());
  return listed.flatMap(({ space, queue }) => {
    const parts = space.critical ? 1 : partsFor(queue.bytes, s.ctx.settings.max_backup);
    return Array.from({ length: parts }, (_, part) => ({ space, queue, part, parts }));
  });
}

export const levelOf = (plan: CopyPlan, space: string): SpaceLevel => plan.levels.find((l) => l.space === space)!;

/** The backup's level: the highest any space got. */
export const backupLevel = (plan: CopyPlan): number => Math.max(...plan.levels.map((l) => l.level));
