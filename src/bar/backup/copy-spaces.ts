// The copy of a backup's spaces: every part of every space into a save set of its own
// (copy-space-part.ts, the unit of work), in max_backup parallel streams, with progress.
// Here is the scheduling; what a part does is there.

import { faultPoint } from '../../common/fault.js';
import { warmCodecPool } from '../../common/io/codec-pool.js';
import { Progress } from '../../common/progress.js';
import { runParallel } from '../../common/run-parallel.js';
import { trace } from '../../common/trace.js';
import { levelOf, type CopyPlan, type Work } from './backup-plan.js';
import type { BackupRun } from './backup-run.js';
import { copySpacePart, type PartJob, type PartResult } from './copy-space-part.js';

/**
 * A level 1 or 2 with less than this to copy starts no codec worker besides the one it has:
 * a level 1's main thread reads, checks and frames changed pages at ~250 MB/s on the
 * development machine, where one worker compresses them (zstd level 1) at ~500 MB/s.
 */
const ONE_CODEC_WORKER_BYTES = 256 * 1024 * 1024;

/** A space with less than this to copy does not take one of the max_backup streams. */
const SMALL_SPACE_BYTES = 16 * 1024 * 1024;

/** What the copy gave: a result per part, and per space the files it holds with their sizes (recorded with its label). */
export interface Copied {
  readonly parts: readonly PartResult[];
  readonly held: ReadonlyMap<string, readonly [string, number][]>;
}

/** Step: every part of every space copied into a save set of its own, in parallel streams, with progress. */
export async function copySpaces(s: BackupRun, plan: CopyPlan): Promise<Copied> {
  // one codec worker (the thread that read the WAL, or one started by the first record)
  // compresses faster than the main thread reads scattered pages; a large copy gets them all
  if (s.opts.level > 0 && plan.total > ONE_CODEC_WORKER_BYTES) warmCodecPool();
  s.ctx.history.progress(s.aid, 0, plan.total);
  const progress = new Progress({
    what: `backup ${s.aid}`,
    total: plan.total,
    log: s.ctx.log,
    logEveryMs: s.ctx.settings.progress_freq,
    onLog: (d, t) => s.ctx.history.progress(s.aid, d, t),
  });
  const held = new Map(s.spaces.map((sp) => [sp.name, [] as [string, number][]]));
  const parts = await inStreams(plan.work, s.ctx.settings.max_backup, (w) =>
    copySpacePart(s.ctx, partJob(s, plan, w, progress, held)),
  );
  progress.finish();
  faultPoint('backup-copied');
  trace('backup: spaces copied');
  return { parts, held };
}

/**
 * Runs the work in `streams` parallel streams, in its order (the critical space first). The
 * parts of a space share its queue of pieces, so a stream that finishes early helps with
 * what is left instead of idling; a part that fails stops its space's queue. A critical
 * space with little to copy (a level 1, say) runs beside the streams, not in one's place.
 */
async function inStreams(
  work: readonly Work[],
  streams: number,
  copy: (w: Work) => Promise<PartResult>,
): Promise<PartResult[]> {
  const results: PartResult[] = [];
  const aside = work[0]?.space.critical && work[0].queue.bytes < SMALL_SPACE_BYTES ? 1 : 0;
  await runParallel(work, streams + aside, async (w) => {
    try {
      results.push(await copy(w));
    } catch (err) {
      w.queue.stop();
      throw err;
    }
  });
  return results;
}

/** The job of one part: its space's level, base and source, and its pieces as they are pulled. */
function partJob(
  s: BackupRun,
  plan: CopyPlan,
  w: Work,
  progress: Progress,
  held: Map<string, [string, number][]>,
): PartJob {
  const l = levelOf(plan, w.space.name);
  return {
    txn: s.txn,
    aid: s.aid,
    handle: s.handle,
    info: s.info,
    progress,
    signal: s.opts.signal,
    space: w.space,
    part: w.part,
    parts: w.parts,
    files: w.queue.forPart(w.part),
    level: l.level,
    baseCopyId: l.base?.copyIds[0] ?? null,
    incremental: plan.sources.get(w.space.name),
    onFile: (path: string, size: number) => {
      held.get(w.space.name)!.push([path, size]);
    },
  };
}
