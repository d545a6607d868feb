// `openbar restore`: a cold restore of the whole system into a data directory, with
// recovery configured to the target. In order: check the target and the directory
// (nothing is touched before both pass), salvage WAL not yet archived, prepare the
// directories, write the spaces in parallel (pg_global first), then backup_label,
// tablespace links and recovery settings. Interrupted, it resumes with --restart.

import fs from 'node:fs';
import path from 'node:path';
import { fail, OpenbarError } from '../../common/errors.js';
import { faultPoint } from '../../common/fault.js';
import { Progress } from '../../common/progress.js';
import { trace } from '../../common/trace.js';
import { warmCodecPool } from '../../common/io/codec-pool.js';
import { formatRate } from '../../common/units.js';
import type { ColdRestoreEngine, RecoveryTarget } from '../../engine/engine.js';
import type { BarContext } from '../bar-context.js';
import { runParallel } from '../../common/run-parallel.js';
import { archiveWal } from '../log/archive-wal.js';
import { chooseBackup, describeTarget, type RestorePlan } from './choose-backup.js';
import { RestoreState } from './restore-state.js';

export interface RestoreOptions {
  readonly dataDir: string;
  readonly target: RecoveryTarget;
  readonly tablespaceMap: ReadonlyMap<string, string>;
  readonly salvage: boolean;
  readonly restart: boolean;
  readonly planOnly: boolean;
  readonly archiveMode: 'preserve' | 'off';
  readonly restoreCommand: string;
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

export async function runRestore(ctx: BarContext, engine: ColdRestoreEngine, opts: RestoreOptions): Promise<RestoreResult> {
  const started = Date.now();
  const dataDir = path.resolve(opts.dataDir);
  const pid = engine.runningServer(dataDir);
  if (pid !== undefined) fail('SERVER_RUNNING', `a PostgreSQL server (pid ${pid}) is running in ${dataDir}`);
  const state = RestoreState.load(dataDir);
  if (opts.restart && !state) fail('USAGE', `no interrupted restore to resume in ${dataDir}`, 'run the restore without --restart');

  if (!opts.planOnly) warmCodecPool(); // the workers start while the plan is made
  // salvage first: WAL in the old pg_wal may be what makes the target reachable
  const salvaged = !opts.planOnly && opts.salvage && !opts.restart ? await salvage(ctx, engine, dataDir) : [];
  const target = opts.restart ? state!.target : opts.target;
  const plan = await chooseBackup(ctx, engine, target);
  if (opts.restart && plan.backup.aid !== state!.backupAid) fail('CONFLICT', `the interrupted restore used backup ${state!.backupAid}, which is no longer the right one`, 'run the restore again without --restart');
  for (const s of opts.tablespaceMap.keys()) {
    if (!plan.spaces.some((x) => x.oid !== null && (x.name === s || String(x.oid) === s))) fail('USAGE', `--map-tablespace: the backup has no tablespace '${s}'`, `tablespaces: ${plan.spaces.filter((x) => x.oid !== null).map((x) => x.name).join(', ') || 'none'}`);
  }
  if (opts.planOnly) return { plan, salvaged, bytes: 0, ms: Date.now() - started, dataDir };

  trace('restore: planned');
  const aid = ctx.history.beginAction('restore', plan.backup.level, { dataDir, target: describeTarget(target), backup: plan.backup.aid });
  ctx.log.info(`restore ${aid}: backup ${plan.backup.aid} into ${dataDir}, recovery to ${describeTarget(target)}`);
  try {
    const mapped = (s: (typeof plan.spaces)[number]) => opts.tablespaceMap.get(s.name) ?? (s.oid !== null ? opts.tablespaceMap.get(String(s.oid)) : undefined);
    const roots = plan.spaces.map((s) => ({ space: s, root: engine.spaceRoot(dataDir, s, mapped(s)) }));
    let st = state;
    if (!opts.restart) {
      engine.prepareDirectory(dataDir, 'data');
      for (const r of roots) if (r.space.oid !== null) engine.prepareDirectory(r.root, 'tablespace');
      st = RestoreState.create(dataDir, plan.backup.aid, target);
    }
    const jobs = roots.flatMap((r) => r.space.copyIds.map((id) => ({ ...r, id }))).filter((j) => !st!.isDone(j.id));
    const sizes = await Promise.all(jobs.map(async (j) => (await ctx.sm.query({ id: j.id }))[0]?.rawBytes ?? 0));
    const total = sizes.reduce((a, b) => a + b, 0);
    ctx.history.progress(aid, 0, total);
    const progress = new Progress({ what: `restore ${aid}`, total, log: ctx.log, logEveryMs: ctx.settings.progress_freq, onLog: (d, t) => ctx.history.progress(aid, d, t) });
    trace('restore: prepared');
    const one = async (j: (typeof jobs)[number]) => {
      await engine.restoreSpace(ctx.sm.readChunks(j.id, opts.signal ? { signal: opts.signal } : {}), j.root, { onBytes: (n) => progress.add(n), ...(opts.signal ? { signal: opts.signal } : {}) });
      trace(`restore: save set ${j.id} (${j.space.name}) restored`);
      st!.markDone(j.id);
      faultPoint('restore-saveset-done');
    };
    // the critical space starts first, on a stream of its own beside the others: it is
    // small, and the other parts, sized by the backup, would otherwise wait for it or end apart
    const critical = (async () => { for (const j of jobs.filter((x) => x.space.critical)) await one(j); })();
    const rest = runParallel(jobs.filter((x) => !x.space.critical), ctx.settings.max_backup, one);
    await Promise.allSettled([critical, rest]);
    await critical;
    await rest;
    const { bytes } = progress.finish();

    trace('restore: spaces restored');
    const labelFiles = await readLabel(ctx, plan.labelCopyId);
    await engine.finish(dataDir, {
      labelFiles,
      tablespaces: roots.filter((r) => r.space.oid !== null).map((r) => ({ oid: r.space.oid!, location: r.root })),
      recovery: { target, restoreCommand: opts.restoreCommand, archiveMode: opts.archiveMode },
    });
    trace('restore: finished');
    st!.remove();
    const ms = Date.now() - started;
    ctx.history.endAction(aid, 0, 'completed', { bytes, ms });
    ctx.log.info(`restore ${aid}: completed, ${bytes} bytes written, ${formatRate(bytes, ms)}; start PostgreSQL on ${dataDir} to recover to ${describeTarget(target)}`);
    for (const r of roots) opts.report?.(`${r.space.name.padEnd(12)} restored to ${r.root} from save set(s) ${r.space.copyIds.join(',')}`);
    return { plan, salvaged, bytes, ms, dataDir };
  } catch (err) {
    ctx.history.endAction(aid, err instanceof OpenbarError ? err.exitStatus : 1, (err as Error).message);
    ctx.log.error(`restore ${aid}: failed: ${(err as Error).message}; resume with \`openbar restore --data-dir ${dataDir} --restart\``);
    throw err;
  }
}

async function readLabel(ctx: BarContext, id: number): Promise<{ name: string; content: string }[]> {
  const parts: Buffer[] = [];
  for await (const c of ctx.sm.readChunks(id)) parts.push(Buffer.from(c));
  return (JSON.parse(Buffer.concat(parts).toString('utf8')) as { labelFiles: { name: string; content: string }[] }).labelFiles;
}

/** Log salvage: WAL in the old pg_wal that the Logs pool lacks is archived before it is overwritten. */
async function salvage(ctx: BarContext, engine: ColdRestoreEngine, dataDir: string): Promise<string[]> {
  const out: string[] = [];
  for (const w of engine.salvageableWal(dataDir)) {
    if ((await ctx.sm.query({ server: ctx.server, kind: 'wal', name: w.name })).length > 0) continue;
    try {
      const size = fs.statSync(w.path).size;
      if (size === 0) continue;
      await archiveWal(ctx, w.path, { action: 'salvage' });
      out.push(w.name);
    } catch (err) {
      // a recycled or foreign segment that conflicts is not salvage material: skip it, say so
      ctx.log.warn(`salvage: ${w.name} not saved: ${(err as Error).message}`);
    }
  }
  if (out.length > 0) ctx.log.info(`salvage: ${out.length} WAL file(s) saved from ${dataDir}/pg_wal: ${out[0]} .. ${out[out.length - 1]}`);
  return out;
}
