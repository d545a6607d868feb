// `openbar restore`: a cold restore of the whole system into a data directory, with
// recovery configured to the target. runRestore reads as its steps: check the directory,
// plan (the backup, the timeline, the WAL to the target present and intact, what salvage
// would store), place the spaces and check their directories: nothing is touched before
// all of it passes, and --plan checks exactly that; then salvage WAL not yet archived,
// prepare the directories, write the spaces in parallel (pg_global first; a space of a
// level 1 or 2 from its chain, newest level first), then backup_label, tablespace links
// and recovery settings, the configuration kept outside the original data directory (into
// the data directory, or --config-dir), and record it. Interrupted, it resumes with --restart.

import path from 'node:path';
import { fail, OpenbarError } from '../../common/errors.js';
import { faultPoint } from '../../common/fault.js';
import { Progress } from '../../common/progress.js';
import { trace } from '../../common/trace.js';
import { warmCodecPool } from '../../common/io/codec-pool.js';
import { formatRate } from '../../common/units.js';
import type { OfflineEngine, PlacedConfig, RecoveryTarget } from '../../engine/engine.js';
import type { BarContext } from '../bar-context.js';
import { runParallel } from '../../common/run-parallel.js';
import { describeChain, type ChainLevel } from './backup-chain.js';
import { describeTarget, planRestore, type RestorePlan } from './choose-backup.js';
import { runSalvage } from './salvage.js';
import { RestoreState } from './restore-state.js';
import { tablespaceMapping } from './tablespace-map.js';
import { planConfig, writeConfig } from './restore-config.js';
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
  /** where the configuration files kept outside the original data directory go (default: into the restored data directory) */
  readonly configDir?: string | undefined;
  readonly signal?: AbortSignal;
  readonly report?: (line: string) => void;
}

export interface RestoreResult {
  readonly plan: RestorePlan;
  readonly salvaged: readonly string[];
  readonly bytes: number;
  readonly ms: number;
  readonly dataDir: string;
  /** the command that starts the restored server, when the engine says (undefined: --plan) */
  readonly startCommand?: string;
  /** where the backup's configuration files kept outside its data directory were written */
  readonly config?: PlacedConfig;
  /** the configuration files the backup holds (their original paths, files only), restored with it (--plan too) */
  readonly configFiles?: readonly string[];
}

export async function runRestore(ctx: BarContext, opts: RestoreOptions): Promise<RestoreResult> {
  const started = Date.now();
  const dataDir = path.resolve(opts.dataDir);
  const state = checkDataDir(ctx.offline, dataDir, opts.restart);
  if (!opts.planOnly) warmCodecPool(); // the workers start while the plan is made
  const target = opts.restart ? state!.target : opts.target;
  // salvage is planned, not done: WAL in the old pg_wal may be what makes the target reachable
  const plan = await planRestore(ctx, {
    target,
    timeline: opts.timeline,
    acceptWalGap: opts.acceptWalGap === true,
    salvageFrom: opts.salvage && !opts.restart ? dataDir : undefined,
  });
  const roots = placeSpaces(ctx, opts, dataDir, plan, state);
  const config = await planConfig(ctx, plan.backup.aid, plan.configCopyId, {
    configDir: opts.configDir,
    written: opts.restart && opts.configDir !== undefined && state!.configDir === opts.configDir,
  });
  const configFiles = config?.entries.filter((e) => e.type === 'file').map((e) => e.path);
  const withConfig = configFiles ? { configFiles } : {};
  if (opts.planOnly) return { plan, salvaged: [], bytes: 0, ms: Date.now() - started, dataDir, ...withConfig };
  const salvaged = await salvage(ctx, plan, dataDir);
  const r: Restoring = { ctx, opts, dataDir, target, plan, roots, aid: recordAttempt(ctx, plan, dataDir, target) };
  try {
    const st = prepareDirectories(r, state);
    const bytes = await restoreSpaces(r, st);
    await finishDirectory(r, st);
    const placed = config ? writeConfig(ctx, config, { aid: r.aid, dataDir, report: opts.report }) : undefined;
    const ms = recordRestore(r, st, bytes, started);
    const startCommand = ctx.offline.startCommand(dataDir, config?.configDir);
    return {
      plan,
      salvaged,
      bytes,
      ms,
      dataDir,
      ...(startCommand ? { startCommand } : {}),
      ...(placed ? { config: placed } : {}),
      ...withConfig,
    };
  } catch (err) {
    recordFailure(r, err);
    throw err;
  }
}

type PlannedSpace = RestorePlan['spaces'][number];

/** A space of the plan and the directory it is restored into. */
interface Root {
  readonly space: PlannedSpace;
  readonly root: string;
}

/** What the steps of a restore share once its directories are checked and its attempt recorded. */
interface Restoring {
  readonly ctx: BarContext;
  readonly opts: RestoreOptions;
  readonly dataDir: string;
  readonly target: RecoveryTarget;
  readonly plan: RestorePlan;
  readonly roots: readonly Root[];
  readonly aid: number;
}

/** Step: no server runs in the directory, and --restart has an interrupted restore there to resume; its record. */
function checkDataDir(engine: OfflineEngine, dataDir: string, restart: boolean): RestoreState | undefined {
  const pid = engine.runningServer(dataDir);
  if (pid !== undefined) fail('SERVER_RUNNING', `a PostgreSQL server (pid ${pid}) is running in ${dataDir}`);
  const state = RestoreState.load(dataDir);
  if (restart && !state)
    fail('USAGE', `no interrupted restore to resume in ${dataDir}`, 'run the restore without --restart');
  return state;
}

/**
 * Step: the directory each space goes to (its recorded place, or where --map-tablespace
 * puts it), every one checked as the restore will check it when it prepares them: nothing
 * is written before all of it passes, and --plan checks exactly this.
 */
function placeSpaces(
  ctx: BarContext,
  opts: RestoreOptions,
  dataDir: string,
  plan: RestorePlan,
  state: RestoreState | undefined,
): Root[] {
  if (opts.restart && plan.backup.aid !== state!.backupAid)
    fail(
      'CONFLICT',
      `the interrupted restore used backup ${state!.backupAid}, which is no longer the right one`,
      'run the restore again without --restart',
    );
  const mapped = tablespaceMapping(plan.spaces, opts.tablespaceMap);
  const roots = plan.spaces.map((s) => ({ space: s, root: ctx.offline.spaceRoot(dataDir, s, mapped(s)) }));
  checkNotShared(
    ctx,
    dataDir,
    roots.filter((r) => r.space.oid !== null && mapped(r.space) === undefined),
  );
  if (!opts.restart) checkDirectories(ctx.offline, dataDir, roots);
  return roots;
}

/** A copy restored beside the running original must not take the original's tablespaces (`unmapped`: those restored where they were). */
function checkNotShared(ctx: BarContext, dataDir: string, unmapped: readonly Root[]): void {
  const live =
    ctx.settings.pg_data !== undefined && path.resolve(ctx.settings.pg_data) !== dataDir
      ? ctx.offline.runningServer(path.resolve(ctx.settings.pg_data))
      : undefined;
  const shared = live === undefined ? undefined : unmapped[0];
  if (shared) {
    fail(
      'SERVER_RUNNING',
      `tablespace ${shared.space.name} would be restored to ${shared.root}, where the running server (pid ${live}) of ${ctx.settings.pg_data} keeps it`,
      `restore it elsewhere with --map-tablespace ${shared.space.name}=NEWDIR, or stop that server first`,
    );
  }
}

/** Step: the WAL the plan counted on salvaging from the old pg_wal, stored; their names. */
async function salvage(ctx: BarContext, plan: RestorePlan, dataDir: string): Promise<string[]> {
  const salvaged = await runSalvage(ctx, plan.salvage, dataDir, plan.label.systemId);
  const lost = plan.salvage.files.find((f) => !salvaged.includes(f.name));
  if (lost)
    fail(
      'UNREACHABLE',
      `salvage could not store ${lost.name} from ${dataDir}/pg_wal (see the activity log), which the plan counted on`,
      'run the restore again; or restore with --no-salvage to leave the old pg_wal out',
    );
  trace('restore: planned');
  return salvaged;
}

/** Step: the attempt recorded in the history; its action id. */
function recordAttempt(ctx: BarContext, plan: RestorePlan, dataDir: string, target: RecoveryTarget): number {
  const aid = ctx.history.beginAction('restore', plan.backup.level, {
    dataDir,
    target: describeTarget(target),
    backup: plan.backup.aid,
  });
  ctx.log.info(`restore ${aid}: backup ${plan.backup.aid} into ${dataDir}, recovery to ${describeTarget(target)}`);
  return aid;
}

/** Step: the directories emptied (an old cluster's files cleared) and the record of what is done begun; on --restart, the one left. */
function prepareDirectories(r: Restoring, state: RestoreState | undefined): RestoreState {
  if (r.opts.restart) return state!;
  const prepared = r.ctx.offline.prepareDirectory(r.dataDir, 'data');
  for (const x of r.roots) if (x.space.oid !== null) r.ctx.offline.prepareDirectory(x.root, 'tablespace');
  return RestoreState.create(r.dataDir, r.plan.backup.aid, r.target, { prepared, configDir: r.opts.configDir });
}

/** Step: every space written (what --restart finds done is left), with progress; the bytes written. */
async function restoreSpaces(r: Restoring, st: RestoreState): Promise<number> {
  const jobs = restoreJobs(r.roots, st);
  const progress = await startProgress(r, jobs);
  trace('restore: prepared');
  const read = (id: number) => r.ctx.sm.readChunks(id, r.opts.signal ? { signal: r.opts.signal } : {});
  const common = { onBytes: (n: number) => progress.add(n), ...(r.opts.signal ? { signal: r.opts.signal } : {}) };
  await inStreams(jobs, r.ctx.settings.max_backup, async (j, streams) => {
    if (j.chain) {
      // newest level first; parts of a level in parallel streams; each part recorded once
      // durable, and on --restart not written again
      const chain = j.chain;
      const levels = chain.map((l) => ({
        level: l.level,
        parts: l.copyIds.map((id) => () => read(id)),
        done: l.copyIds.map((id) => st.isDone(id)),
      }));
      const onPartDone = (depth: number, part: number) => {
        st.markDone(chain[depth]!.copyIds[part]!);
        faultPoint('restore-saveset-done');
      };
      await r.ctx.offline.restoreChain(levels, j.root, { ...common, parallel: streams, onPartDone });
      st.markSpaceDone(j.space.name);
      faultPoint('restore-space-done');
    } else {
      await r.ctx.offline.restoreSpace(read(j.ids[0]!), j.root, common);
      trace(`restore: save set ${j.ids[0]} (${j.space.name}) restored`);
      st.markDone(j.ids[0]!);
      faultPoint('restore-saveset-done');
    }
  });
  const { bytes } = progress.finish();
  trace('restore: spaces restored');
  return bytes;
}

/** The progress of the jobs, by the raw size of their save sets. */
async function startProgress(r: Restoring, jobs: readonly RestoreJob[]): Promise<Progress> {
  const { ctx, aid } = r;
  const sizes = await Promise.all(
    jobs.map(async (j) =>
      (await Promise.all(j.ids.map(async (id) => (await ctx.sm.query({ id }))[0]?.rawBytes ?? 0))).reduce(
        (a, b) => a + b,
        0,
      ),
    ),
  );
  const total = sizes.reduce((a, b) => a + b, 0);
  ctx.history.progress(aid, 0, total);
  return new Progress({
    what: `restore ${aid}`,
    total,
    log: ctx.log,
    logEveryMs: ctx.settings.progress_freq,
    onLog: (d, t) => ctx.history.progress(aid, d, t),
  });
}

/**
 * Runs the jobs. The critical space starts first, on a stream of its own beside the others:
 * it is small, and the other parts, sized by the backup, would otherwise wait for it or end
 * apart. The others run `maxBackup` at a time; `streams`: the streams for the parts of one
 * level of a chain, max_backup shared by the spaces restored at once.
 */
async function inStreams(
  jobs: readonly RestoreJob[],
  maxBackup: number,
  run: (j: RestoreJob, streams: number) => Promise<void>,
): Promise<void> {
  const others = jobs.filter((x) => !x.space.critical);
  const share = (j: RestoreJob) =>
    j.space.critical ? maxBackup : Math.max(1, Math.floor(maxBackup / Math.min(maxBackup, others.length)));
  const critical = (async () => {
    for (const j of jobs.filter((x) => x.space.critical)) await run(j, share(j));
  })();
  const rest = runParallel(others, maxBackup, (j) => run(j, share(j)));
  await Promise.allSettled([critical, rest]);
  await critical;
  await rest;
}

/** Step: backup_label, tablespace links and recovery settings written, everything flushed: the directory can be started. */
async function finishDirectory(r: Restoring, st: RestoreState): Promise<void> {
  const labelFiles = await readLabel(r.ctx, r.plan.labelCopyId);
  await r.ctx.offline.finish(r.dataDir, {
    labelFiles,
    prepared: st.prepared,
    tablespaces: r.roots.filter((x) => x.space.oid !== null).map((x) => ({ oid: x.space.oid!, location: x.root })),
    recovery: {
      target: recoveryTarget(r.plan),
      timeline: r.plan.timeline,
      restoreCommand: r.opts.restoreCommand(r.plan.endsBefore?.name),
      archiveMode: r.opts.archiveMode,
    },
  });
  trace('restore: finished');
}

/** Step: the record of what is done removed, the restore recorded as completed, logged and reported; its duration. */
function recordRestore(r: Restoring, st: RestoreState, bytes: number, started: number): number {
  st.remove();
  const ms = Date.now() - started;
  r.ctx.history.endAction(r.aid, 0, 'completed', { bytes, ms });
  r.ctx.log.info(
    `restore ${r.aid}: completed, ${bytes} bytes written, ${formatRate(bytes, ms)}; start PostgreSQL on ${r.dataDir} to recover to ${describeTarget(r.target)}`,
  );
  for (const x of r.roots)
    r.opts.report?.(`${x.space.name.padEnd(12)} restored to ${x.root} from ${describeChain(x.space.levels)}`);
  return ms;
}

/** On failure: the attempt recorded as failed, and said how to resume when it can be. */
function recordFailure(r: Restoring, err: unknown): void {
  r.ctx.history.endAction(r.aid, err instanceof OpenbarError ? err.exitStatus : 1, (err as Error).message);
  // only a restore that has started writing can be resumed
  const resumable = RestoreState.load(r.dataDir) !== undefined;
  r.ctx.log.error(
    `restore ${r.aid}: failed: ${(err as Error).message}${resumable ? `; resume with \`openbar restore --data-dir ${r.dataDir} --restart\`` : ''}`,
  );
}

/** What the restore will check when it prepares them, checked before anything is written (and by --plan). */
function checkDirectories(engine: OfflineEngine, dataDir: string, roots: readonly Root[]): void {
  const dirs = [
    { dir: dataDir, role: 'data' as const },
    ...roots.filter((r) => r.space.oid !== null).map((r) => ({ dir: r.root, role: 'tablespace' as const })),
  ];
  for (const d of dirs) {
    const problem = engine.checkDirectory(d.dir, d.role);
    if (problem)
      fail(
        'USAGE',
        problem,
        d.role === 'data'
          ? 'restore into an empty directory, or an old data directory of this cluster, that this user can write'
          : 'map the tablespace elsewhere with --map-tablespace NAME=DIR',
      );
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

/** A save set of a one-level space, or a whole space restored from its chain of levels (resumed by part). */
interface RestoreJob {
  readonly space: PlannedSpace;
  readonly root: string;
  readonly ids: readonly number[];
  readonly chain?: readonly ChainLevel[];
}

/**
 * What is left to do: on --restart, save sets and chained spaces already written are
 * skipped (`ids`: the save sets left to write; a chain skips its own, see restoreChain).
 */
function restoreJobs(roots: readonly Root[], st: RestoreState): RestoreJob[] {
  return roots.flatMap((r): RestoreJob[] => {
    if (r.space.levels.length > 1) {
      return st.isSpaceDone(r.space.name)
        ? []
        : [
            {
              ...r,
              ids: r.space.levels.flatMap((l) => l.copyIds).filter((id) => !st.isDone(id)),
              chain: r.space.levels,
            },
          ];
    }
    return r.space.copyIds.filter((id) => !st.isDone(id)).map((id) => ({ ...r, ids: [id] }));
  });
}

async function readLabel(ctx: BarContext, id: number): Promise<readonly { name: string; content: string }[]> {
  return decodeLabelContent(await readWhole(ctx.sm, id), id).labelFiles;
}
