// The restore strategy: which backup reaches the target, on which timeline, each space's
// chain of levels (a backup is a candidate only when every save set of every level is
// there), and the WAL a recovery reads from the backup's start to the target along that
// timeline: every file present and its stored checksums intact. Everything here only
// reads; a target that cannot be reached fails here, before anything is overwritten,
// naming the file and how far the WAL does reach (which --accept-wal-gap takes instead).

import { fail, isOpenbarError } from '../../common/errors.js';
import { runParallel } from '../../common/run-parallel.js';
import { formatTime } from '../../common/units.js';
import type { OfflineEngine, RecordedSpace, RecoveryTarget } from '../../engine/engine.js';
import type { BackupCopy, MarkRecord } from '../../history/backup-history.js';
import type { BarContext } from '../bar-context.js';
import { WalArchive, type RouteEnd, type RouteFile } from '../log/wal-archive.js';
import { BackupChains, type ChainLevel } from './backup-chain.js';
import { decodeLabelMeta, type LabelMeta } from '../records/label-record.js';
import { planSalvage, type SalvagePlan } from './salvage.js';

export type { LabelMeta } from '../records/label-record.js';

export interface PlanOptions {
  readonly target: RecoveryTarget;
  /** the timeline to follow; by default the newest one that passes through a backup reaching the target */
  readonly timeline?: number | undefined;
  /** a gap or damage in the WAL on the way: recover to the furthest point reached instead of failing */
  readonly acceptWalGap?: boolean;
  /** an old data directory whose unarchived WAL salvage would store first */
  readonly salvageFrom?: string | undefined;
}

export interface RestorePlan {
  readonly backup: BackupCopy;
  readonly label: LabelMeta;
  readonly labelCopyId: number;
  /** the backup's configuration save set, as its label's instance lists it (undefined: it has none) */
  readonly configCopyId?: number | undefined;
  readonly target: RecoveryTarget;
  /** the timeline recovery follows */
  readonly timeline: number;
  /** WAL a recovery reads, checked present and intact: from the backup's start to the target (or the newest archived) */
  readonly walFrom: string;
  readonly walTo: string;
  readonly walFiles: number;
  /**
   * --accept-wal-gap: the WAL ends before the target at this file (missing or damaged);
   * recovery ends there. `targetBeyond`: the target surely lies past it.
   */
  readonly endsBefore?: {
    readonly name: string;
    readonly reached: string;
    readonly why: string;
    readonly targetBeyond: boolean;
  };
  /** what salvage would store from the old data directory, and what it leaves */
  readonly salvage: SalvagePlan;
  /** things the DBA should know about the choice (other timelines) */
  readonly notes: readonly string[];
  /** per space: its chain, newest level first (one level for a level 0); `copyIds` are the newest level's */
  readonly spaces: readonly (RecordedSpace & { copyIds: readonly number[]; levels: readonly ChainLevel[] })[];
}

interface Candidate {
  backup: BackupCopy;
  label: LabelMeta;
  labelCopyId: number;
  configCopyId: number | undefined;
  chains: ReadonlyMap<string, readonly ChainLevel[]>;
}

export async function planRestore(ctx: BarContext, opts: PlanOptions): Promise<RestorePlan> {
  const { target } = opts;
  const engine = ctx.offline;
  const candidates = await usableBackups(ctx);
  const mark = target.kind === 'name' ? findMark(ctx, target.value) : undefined;
  const reachable = candidates.filter((c) => reaches(engine, c, target, mark));
  const oldest = candidates[0]!;
  if (reachable.length === 0) {
    fail(
      'UNREACHABLE',
      `no backup is consistent before ${describeTarget(target)}`,
      `the oldest backup (${oldest.backup.aid}) is consistent from ${formatTime(oldest.label.stopTime)} (LSN ${oldest.label.stopLsn}, next xid ${oldest.label.nextXid})`,
    );
  }
  const newestLabel = candidates[candidates.length - 1]!.label;
  const stored = await WalArchive.load(ctx, newestLabel.walSegmentSize);
  const salvage =
    opts.salvageFrom !== undefined
      ? await planSalvage(ctx, opts.salvageFrom, newestLabel.systemId, stored)
      : { files: [], skipped: [] };
  const archive = stored.including(salvage.files.map((f) => f.name));
  const notes: string[] = [...archive.problems];
  const { chosen, timeline } = chooseTimeline(archive, reachable, opts.timeline, target, mark, notes);
  notes.push(...otherTimelines(archive, timeline));
  const end: RouteEnd =
    target.kind === 'lsn'
      ? { kind: 'lsn', lsn: target.value }
      : mark
        ? { kind: 'lsn', lsn: mark.lsn }
        : target.kind === 'time'
          ? { kind: 'time', ms: target.ms }
          : { kind: 'newest' };
  const routeOf = (a: WalArchive) => a.route(timeline, chosen.label.startLsn, chosen.label.stopLsn, end);
  let route = routeOf(archive);
  if (route.beyondNewest) {
    const newest = archive.newestOn(timeline);
    fail(
      'UNREACHABLE',
      `${describeTarget(target)} is later than the newest archived WAL${newest ? ` (${newest}, archived ${formatTime(archive.stored(newest)?.committed ?? '')})` : ''}`,
      'run `openbar log backup` to archive the current WAL, or choose an earlier time',
    );
  }
  let why = `is not in the ${ctx.settings.log_pool} pool`;
  const damaged = await firstDamaged(ctx, archive, route.files);
  if (damaged) {
    // a damaged file ends the WAL as a missing one would
    route = routeOf(archive.excluding([damaged.file.name]));
    why = `is damaged (${damaged.problem})`;
  }
  const files = route.files;
  const endsBefore = route.gap ? { ...route.gap, why } : undefined;
  if (endsBefore) unreachable(ctx, engine, chosen, endsBefore, target, opts.acceptWalGap === true);
  const spaces = chosen.label.spaces.map((s) => {
    const levels = chosen.chains.get(s.name) ?? [];
    return { ...s, copyIds: levels[0]?.copyIds ?? [], levels };
  });
  return {
    backup: chosen.backup,
    label: chosen.label,
    labelCopyId: chosen.labelCopyId,
    configCopyId: chosen.configCopyId,
    target,
    timeline,
    walFrom: files[0]?.name ?? chosen.label.startWal,
    walTo: files[files.length - 1]?.name ?? chosen.label.startWal,
    walFiles: files.length,
    ...(endsBefore ? { endsBefore } : {}),
    salvage,
    notes,
    spaces,
  };
}

/** Backups whose label and every save set of every level are there, oldest first. */
async function usableBackups(ctx: BarContext): Promise<Candidate[]> {
  const out: Candidate[] = [];
  const chains = new BackupChains(ctx.history.backupInstances());
  const known = new Map<number, boolean>();
  const present = async (id: number) => {
    if (!known.has(id)) known.set(id, (await ctx.sm.query({ id })).length > 0);
    return known.get(id)!;
  };
  for (const b of ctx.history.backups()) {
    const labelObj = b.objects.find((o) => o.type === 'B');
    const [info] = labelObj ? await ctx.sm.query({ id: labelObj.copyIds[0]! }) : [];
    if (!info) continue; // its save sets are gone (expired or deleted)
    const label = decodeLabelMeta(info, { server: ctx.server, aid: b.aid });
    const spaceChains = chainsOf(ctx, chains, b);
    if (!spaceChains) continue;
    const ids = [...spaceChains.values()].flatMap((levels) => levels.flatMap((l) => l.copyIds));
    if ((await Promise.all(ids.map(present))).includes(false)) continue;
    // the configuration save set goes with the label (backup-record.ts)
    out.push({ backup: b, label, labelCopyId: info.id, configCopyId: labelObj!.copyIds[1], chains: spaceChains });
  }
  if (out.length === 0)
    fail('UNREACHABLE', `no backup of server ${ctx.server} is available`, 'take one with `openbar backup`');
  return out;
}

function reaches(engine: OfflineEngine, c: Candidate, target: RecoveryTarget, mark: MarkRecord | undefined): boolean {
  switch (target.kind) {
    case 'latest':
      return true;
    case 'time':
      return Date.parse(c.label.stopTime) <= target.ms;
    case 'lsn':
      return engine.compareLsn(c.label.stopLsn, target.value) <= 0;
    case 'xid':
      return BigInt(c.label.nextXid) <= BigInt(target.value);
    case 'name':
      return mark === undefined || engine.compareLsn(c.label.stopLsn, mark.lsn) <= 0;
  }
}

/**
 * The timeline to follow and the newest backup on its path: the one asked for, or the
 * newest timeline that passes through a backup reaching the target (and through the
 * restore point, for a named one), as PostgreSQL's 'latest' would but never one that
 * does not descend from the backup.
 */
function chooseTimeline(
  archive: WalArchive,
  reachable: readonly Candidate[],
  asked: number | undefined,
  target: RecoveryTarget,
  mark: MarkRecord | undefined,
  notes: string[],
): { chosen: Candidate; timeline: number } {
  const known = archive.timelines.timelines;
  if (asked !== undefined && !known.includes(asked)) {
    fail(
      'UNREACHABLE',
      `timeline ${asked} is not in the archive (its history file is not stored)`,
      `timelines: ${known.join(', ')}`,
    );
  }
  // a time: the timelines that existed then (one born later by a restore to an earlier point is not that time's history)
  const later =
    target.kind === 'time' && asked === undefined ? known.filter((t) => (archive.bornAt(t) ?? 0) > target.ms) : [];
  if (later.length > 0)
    notes.push(
      `timeline ${later.join(', ')} began after ${describeTarget(target)}: following the timeline current then (give --timeline to choose)`,
    );
  const skipped: number[] = [];
  for (const tl of asked !== undefined ? [asked] : [...known].reverse().filter((t) => !later.includes(t))) {
    const on = reachable.filter((c) =>
      archive.timelines.holds(tl, c.label.timeline, c.label.startLsn, c.label.stopLsn),
    );
    const markOk = mark?.timeline === undefined || archive.timelines.timelineAt(tl, mark.lsn) === mark.timeline;
    if (on.length > 0 && markOk) {
      if (skipped.length > 0)
        notes.push(
          `timeline ${skipped.join(', ')} (newer) does not pass through a backup that reaches the target${mark ? ' and the restore point' : ''}: following timeline ${tl}`,
        );
      return { chosen: on[on.length - 1]!, timeline: tl };
    }
    skipped.push(tl);
  }
  const where = reachable.map((c) => `backup ${c.backup.aid} on timeline ${c.label.timeline}`).join(', ');
  fail(
    'UNREACHABLE',
    asked !== undefined
      ? `no backup that reaches the target lies on the path of timeline ${asked}`
      : 'no timeline in the archive passes through a backup that reaches the target',
    `backups: ${where}; timelines known: ${known.join(', ')} (a timeline whose history file is missing cannot be followed)`,
  );
}

/** Timelines with WAL the chosen one does not follow (went on after a fork, or forked later): the DBA may want one of them. */
function otherTimelines(archive: WalArchive, timeline: number): string[] {
  const out: string[] = [];
  for (const tl of archive.timelines.timelines) {
    const newest = tl === timeline ? undefined : archive.newestOn(tl);
    if (newest === undefined || archive.timelines.onPath(timeline, newest)) continue;
    out.push(
      `timeline ${tl} has WAL this restore does not follow (to ${newest}, archived ${formatTime(archive.stored(newest)?.committed ?? '')}): give --timeline ${tl} to follow it instead`,
    );
  }
  return out;
}

/** The first file of the route whose stored copy fails its media check (every record's checksum), checked in parallel. */
async function firstDamaged(
  ctx: BarContext,
  archive: WalArchive,
  files: readonly RouteFile[],
): Promise<{ file: RouteFile; problem: string } | undefined> {
  const bad = new Map<RouteFile, string>();
  await runParallel(
    files.filter((f) => archive.stored(f.name)),
    Math.max(1, ctx.settings.max_backup),
    async (f) => {
      try {
        await ctx.sm.checkStored(archive.stored(f.name)!.id);
      } catch (err) {
        if (!isOpenbarError(err) || !['CHECKSUM', 'TRUNCATED', 'FORMAT', 'IO', 'NOT_FOUND'].includes(err.code))
          throw err;
        bad.set(f, err.message);
      }
    },
  );
  const file = files.find((f) => bad.has(f));
  return file ? { file, problem: bad.get(file)! } : undefined;
}

/**
 * The WAL stops before the target: refused (or, with --accept-wal-gap, logged as where
 * recovery will end); always refused when the gap is in the backup's own WAL, without
 * which it cannot be made consistent at all.
 */
function unreachable(
  ctx: BarContext,
  engine: OfflineEngine,
  c: Candidate,
  gap: { name: string; reached: string; why: string; targetBeyond: boolean },
  target: RecoveryTarget,
  accept: boolean,
): void {
  if (engine.compareLsn(gap.reached, c.label.stopLsn) < 0) {
    fail(
      'UNREACHABLE',
      `WAL file ${gap.name}, needed to make backup ${c.backup.aid} consistent, ${gap.why} (${ctx.settings.log_pool} pool)`,
      'it may not be archived yet: run `openbar log backup` on the server that wrote it (after a failover, the new primary), or choose an older target',
    );
  }
  if (accept) {
    ctx.log.warn(
      `restore: WAL file ${gap.name} ${gap.why}: recovery will end at ${gap.reached}, before ${describeTarget(target)} (--accept-wal-gap)`,
    );
    return;
  }
  fail(
    'UNREACHABLE',
    `${describeTarget(target)} needs WAL file ${gap.name}, which ${gap.why}; the archived WAL reaches ${gap.reached}`,
    gap.targetBeyond || target.kind === 'latest'
      ? 'restore to that point with --accept-wal-gap, or find the file and `openbar log archive` it'
      : 'the target may lie before it: --accept-wal-gap restores with the target kept, recovery ending at the gap at the latest; or find the file and `openbar log archive` it',
  );
}

/** Each space's chain, newest first; undefined when one cannot be resolved from the history. */
function chainsOf(
  ctx: BarContext,
  chains: BackupChains,
  b: BackupCopy,
): Map<string, readonly ChainLevel[]> | undefined {
  const out = new Map<string, readonly ChainLevel[]>();
  for (const o of b.objects.filter((x) => x.type === 'R' || x.type === 'D')) {
    const c =
      o.copyIds.length > 0
        ? chains.of(o.copyIds[0]!)
        : { problem: `space ${o.name} of backup ${b.aid} has no save set` };
    if ('problem' in c) {
      ctx.log.info(`restore: backup ${b.aid} cannot be used: ${c.problem}`);
      return undefined;
    }
    out.set(o.name, c.levels);
  }
  return out;
}

function findMark(ctx: BarContext, name: string): MarkRecord {
  const marks = ctx.history.marks().filter((m) => m.name === name);
  if (marks.length > 0) return marks[marks.length - 1]!;
  fail(
    'UNREACHABLE',
    `restore point '${name}' was not made with \`openbar log mark\``,
    'list marks with `openbar history`',
  );
}

export function describeTarget(t: RecoveryTarget): string {
  switch (t.kind) {
    case 'latest':
      return 'the latest state';
    case 'time':
      return `time ${t.value} (${formatUtc(t.ms)})`;
    case 'lsn':
      return `LSN ${t.value}`;
    case 'xid':
      return `transaction ${t.value}`;
    case 'name':
      return `restore point '${t.value}'`;
  }
}

/** `2026-11-22 13:05:00 UTC` (milliseconds when there are any). */
function formatUtc(ms: number): string {
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 10)} ${iso.endsWith('.000Z') ? iso.slice(11, 19) : iso.slice(11, 23)} UTC`;
}
