// `openbar restore`: a cold restore of the whole system into a data directory, with
// recovery configured to the target. In order: plan (the backup, the timeline, the WAL to
// the target present and intact, what salvage would store) and check the directories:
// nothing is touched before all of it passes, and --plan checks exactly that; then salvage
// WAL not yet archived, prepare the directories, write the spaces in parallel (pg_global
// first; a space of a level 1 or 2 from its chain, newest level first), then backup_label,
// tablespace links and recovery settings. Interrupted, it resumes with --restart.

import path from 'node:path';
import { fail, OpenbarError } from '../../common/errors.js';
import { faultPoint } from '../../common/fault.js';
import { Progress } from '../../common/progress.js';
import { trace } from '../../common/trace.js';
import { warmCodecPool } from '../../common/io/codec-pool.js';
import { formatRate } from '../../common/units.js';
import type { OfflineEngine, RecoveryTarget } from '../../engine/engine.js';
import type { BarContext } from '../bar-context.js';
import { runParallel } from '../../common/run-parallel.js';
import { describeChain, type ChainLevel } from './backup-chain.js';
import { describeTarget, planRestore, type RestorePlan } from './choose-backup.js';
import { runSalvage } from './salvage.js';
import { RestoreState } from './restore-state.js';
import { readWhole } from '../../sm/storage-manager.js';
import { decodeLabelContent } from '../records/label-record.js';

export interface RestoreOptions {
  readonly dataDir: string;
  readonly target: RecoveryTarget;
  readonly tablespaceMap: ReadonlyMap<string, string>;
  readonly salvage: boolean;
  readonly restart: boolean;
  readonly planOnly: boolean;
  readonly archiveMode: 'preserve' | 'off';
  /** the timeline to follow (default: the newest that passes through a backup reaching the target) */
  readonly timeline?: number | undefined;
  /** a gap or damage in the WAL before the target: recover to the furthest point instead of failing */
  readonly acceptWalGap?: boolean;
  /** the restored server's restore_command; `before`: the WAL file recovery must end before */
  readonly restoreCommand: (before?: string) => string;
  readonly signal?: AbortSignal;
  readonly report?: (line: string) => void;
}

export interface RestoreResult {
  readonly plan: RestorePlan;
  readonly salvaged: readonly string[];
  readonly bytes: number;
  readonly ms: number;
  readonly dataDir: string;
}

export async function runRestore(ctx: BarContext, opts: RestoreOptions): Promise<RestoreResult> {
  const engine = ctx.offline;
  const started = Date.now();
  const dataDir = path.resolve(opts.dataDir);
  const pid = engine.runningServer(dataDir);
  if (pid !== undefined) fail('SERVER_RUNNING', `a PostgreSQL server (pid ${pid}) is running in ${dataDir}`);
  const state = RestoreState.load(dataDir);
  if (opts.restart && !state) fail('USAGE', `no interrupted restore to resume in ${dataDir}`, 'run the restore without --restart');

  if (!opts.planOnly) warmCodecPool(); // the workers start while the plan is made
  const target = opts.restart ? state!.target : opts.target;
  // salvage is planned, not done: WAL in the old pg_wal may be what makes the target reachable
  const plan = await planRestore(ctx, { target, timeline: opts.timeline, acceptWalGap: opts.acceptWalGap === true, salvageFrom: opts.salvage && !opts.restart ? dataDir : undefined });
  if (opts.restart && plan.backup.aid !== state!.backupAid) fail('CONFLICT', `the interrupted restore used backup ${state!.backupAid}, which is no longer the right one`, 'run the restore again without --restart');
  for (const s of opts.tablespaceMap.keys()) {
    if (!plan.spaces.some((x) => x.oid !== null && (x.name === s || String(x.oid) === s))) fail('USAGE', `--map-tablespace: the backup has no tablespace '${s}'`, `tablespaces: ${plan.spaces.filter((x) => x.oid !== null).map((x) => x.name).join(', ') || 'none'}`);
  }
  const mapped = (s: (typeof plan.spaces)[number]) => opts.tablespaceMap.get(s.name) ?? (s.oid !== null ? opts.tablespaceMap.get(String(s.oid)) : undefined);
  const roots = plan.spaces.map((s) => ({ space: s, root: engine.spaceRoot(dataDir, s, mapped(s)) }));
  // a copy restored beside the running original must not take the original's tablespaces
  const live = ctx.settings.pg_data !== undefined && path.resolve(ctx.settings.pg_data) !== dataDir ? engine.runningServer(path.resolve(ctx.settings.pg_data)) : undefined;
  const shared = live === undefined ? undefined : roots.find((r) => r.space.oid !== null && mapped(r.space) === undefined);
  if (shared) {
    fail('SERVER_RUNNING', `tablespace ${shared.space.name} would be restored to ${shared.root}, where the running server (pid ${live}) of ${ctx.settings.pg_data} keeps it`,
      `restore it elsewhere with --map-tablespace ${shared.space.name}=NEWDIR, or stop that server first`);
  }
  if (!opts.restart) checkDirectories(engine, dataDir, roots);
  if (opts.planOnly) return { plan, salvaged: [], bytes: 0, ms: Date.now() - started, dataDir };

  const salvaged = await runSalvage(ctx, plan.salvage, dataDir, plan.label.systemId);
  const lost = plan.salvage.files.find((f) => !salvaged.includes(f.name));
  if (lost) fail('UNREACHABLE', `salvage could not store ${lost.name} from ${dataDir}/pg_wal (see the activity log), which the plan counted on`, 'run the restore again; or restore with --no-salvage to leave the old pg_wal out');
  trace('restore: planned');
  const aid = ctx.history.beginAction('restore', plan.backup.level, { dataDir, target: describeTarget(target), backup: plan.backup.aid });
  ctx.log.info(`restore ${aid}: backup ${plan.backup.aid} into ${dataDir}, recovery to ${describeTarget(target)}`);
  try {
    let st = state;
    if (!opts.restart) {
      engine.prepareDirectory(dataDir, 'data');
      for (const r of roots) if (r.space.oid !== null) engine.prepareDirectory(r.root, 'tablespace');
      st = RestoreState.create(dataDir, plan.backup.aid, target);
    }
    const jobs = restoreJobs(roots, st!);
    const sizes = await Promise.all(jobs.map(async (j) => (await Promise.all(j.ids.map(async (id) => (await ctx.sm.query({ id }))[0]?.rawBytes ?? 0))).reduce((a, b) => a + b, 0)));
    const total = sizes.reduce((a, b) => a + b, 0);
    ctx.history.progress(aid, 0, total);
    const progress = new Progress({ what: `restore ${aid}`, total, log: ctx.log, logEveryMs: ctx.settings.progress_freq, onLog: (d, t) => ctx.history.progress(aid, d, t) });
    trace('restore: prepared');
    const read = (id: number) => ctx.sm.readChunks(id, opts.signal ? { signal: opts.signal } : {});
    const common = { onBytes: (n: number) => progress.add(n), ...(opts.signal ? { signal: opts.signal } : {}) };
    const others = jobs.filter((x) => !x.space.critical);
    // streams for the parts of one level of a chain: max_backup shared by the spaces restored at once
    const share = (j: RestoreJob) => (j.space.critical ? ctx.settings.max_backup : Math.max(1, Math.floor(ctx.settings.max_backup / Math.min(ctx.settings.max_backup, others.length))));
    const one = async (j: RestoreJob) => {
      if (j.chain) {
        // newest level first; parts of a level in parallel streams
        await engine.restoreChain(j.chain.map((l) => ({ level: l.level, parts: l.copyIds.map((id) => () => read(id)) })), j.root, { ...common, parallel: share(j) });
        st!.markSpaceDone(j.space.name);
        faultPoint('restore-space-done');
      } else {
        await engine.restoreSpace(read(j.ids[0]!), j.root, common);
        trace(`restore: save set ${j.ids[0]} (${j.space.name}) restored`);
        st!.markDone(j.ids[0]!);
        faultPoint('restore-saveset-done');
      }
    };
    // the critical space starts first, on a stream of its own beside the others: it is
    // small, and the other parts, sized by the backup, would otherwise wait for it or end apart
    const critical = (async () => { for (const j of jobs.filter((x) => x.space.critical)) await one(j); })();
    const rest = runParallel(others, ctx.settings.max_backup, one);
    await Promise.allSettled([critical, rest]);
    await critical;
    await rest;
    const { bytes } = progress.finish();

    trace('restore: spaces restored');
    const labelFiles = await readLabel(ctx, plan.labelCopyId);
    await engine.finish(dataDir, {
      labelFiles,
      tablespaces: roots.filter((r) => r.space.oid !== null).map((r) => ({ oid: r.space.oid!, location: r.root })),
      recovery: { target: recoveryTarget(plan), timeline: plan.timeline, restoreCommand: opts.restoreCommand(plan.endsBefore?.name), archiveMode: opts.archiveMode },
    });
    trace('restore: finished');
    st!.remove();
    const ms = Date.now() - started;
    ctx.history.endAction(aid, 0, 'completed', { bytes, ms });
    ctx.log.info(`restore ${aid}: completed, ${bytes} bytes written, ${formatRate(bytes, ms)}; start PostgreSQL on ${dataDir} to recover to ${describeTarget(target)}`);
    for (const r of roots) opts.report?.(`${r.space.name.padEnd(12)} restored to ${r.root} from ${describeChain(r.space.levels)}`);
    return { plan, salvaged, bytes, ms, dataDir };
  } catch (err) {
    ctx.history.endAction(aid, err instanceof OpenbarError ? err.exitStatus : 1, (err as Error).message);
    // only a restore that has started writing can be resumed
    const resumable = RestoreState.load(dataDir) !== undefined;
    ctx.log.error(`restore ${aid}: failed: ${(err as Error).message}${resumable ? `; resume with \`openbar restore --data-dir ${dataDir} --restart\`` : ''}`);
    throw err;
  }
}

/** What the restore will check when it prepares them, checked before anything is written (and by --plan). */
function checkDirectories(engine: OfflineEngine, dataDir: string, roots: readonly { space: PlannedSpace; root: string }[]): void {
  const dirs = [{ dir: dataDir, role: 'data' as const }, ...roots.filter((r) => r.space.oid !== null).map((r) => ({ dir: r.root, role: 'tablespace' as const }))];
  for (const d of dirs) {
    const problem = engine.checkDirectory(d.dir, d.role);
    if (problem) fail('USAGE', problem, d.role === 'data' ? 'restore into an empty directory, or an old data directory of this cluster, that this user can write' : 'map the tablespace elsewhere with --map-tablespace NAME=DIR');
  }
}

/**
 * The target recovery is configured with. With --accept-wal-gap recovery ends where the
 * WAL does; a target surely past that (a position, or a time every file before the gap
 * ends before) would only make the server refuse to start (PostgreSQL fails a recovery
 * that ends before its target), so it is dropped: recovery cannot go past it anyway. A
 * target that may lie before the gap (a transaction, a time the WAL cannot tell) is kept,
 * so that recovery never goes past it.
 */
function recoveryTarget(plan: RestorePlan): RecoveryTarget {
  return plan.endsBefore?.targetBeyond ? { kind: 'latest' } : plan.target;
}

type PlannedSpace = RestorePlan['spaces'][number];

/** A save set of a one-level space, or a whole space restored from its chain of levels. */
interface RestoreJob { readonly space: PlannedSpace; readonly root: string; readonly ids: readonly number[]; readonly chain?: readonly ChainLevel[] }

/** What is left to do: on --restart, save sets and chained spaces already written are skipped. */
function restoreJobs(roots: readonly { space: PlannedSpace; root: string }[], st: RestoreState): RestoreJob[] {
  return roots.flatMap((r): RestoreJob[] => {
    if (r.space.levels.length > 1) {
      return st.isSpaceDone(r.space.name) ? [] : [{ ...r, ids: r.space.levels.flatMap((l) => l.copyIds), chain: r.space.levels }];
    }
    return r.space.copyIds.filter((id) => !st.isDone(id)).map((id) => ({ ...r, ids: [id] }));
  });
}

async function readLabel(ctx: BarContext, id: number): Promise<readonly { name: string; content: string }[]> {
  return decodeLabelContent(await readWhole(ctx.sm, id), id).labelFiles;
}
