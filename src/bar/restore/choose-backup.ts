// The restore strategy: which backup reaches the target, each space's chain of levels
// (a backup is a candidate only when every save set of every level is there), and whether
// the WAL to get there is all in the Logs pool. Everything here only reads; a target that
// cannot be reached fails here, before anything is overwritten.

import { fail } from '../../common/errors.js';
import { formatTime } from '../../common/units.js';
import type { ColdRestoreEngine, RecordedSpace, RecoveryTarget } from '../../engine/engine.js';
import type { BackupCopy } from '../../history/backup-history.js';
import type { BarContext } from '../bar-context.js';
import { BackupChains, type ChainLevel } from './backup-chain.js';

export interface LabelMeta {
  readonly aid: number;
  readonly startLsn: string;
  readonly stopLsn: string;
  readonly timeline: number;
  readonly startWal: string;
  readonly startTime: string;
  readonly stopTime: string;
  readonly nextXid: string;
  readonly walFiles: readonly string[];
  readonly walSegmentSize: number;
  readonly systemId: string;
  readonly spaces: readonly RecordedSpace[];
}

export interface RestorePlan {
  readonly backup: BackupCopy;
  readonly label: LabelMeta;
  readonly labelCopyId: number;
  readonly target: RecoveryTarget;
  /** WAL known to be needed and present: from the backup's start to the target (or to the newest archived) */
  readonly walFrom: string;
  readonly walTo: string;
  /** per space: its chain, newest level first (one level for a level 0); `copyIds` are the newest level's */
  readonly spaces: readonly (RecordedSpace & { copyIds: readonly number[]; levels: readonly ChainLevel[] })[];
}

export async function chooseBackup(ctx: BarContext, engine: ColdRestoreEngine, target: RecoveryTarget): Promise<RestorePlan> {
  const candidates: { backup: BackupCopy; label: LabelMeta; labelCopyId: number; chains: ReadonlyMap<string, readonly ChainLevel[]> }[] = [];
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
    const spaceChains = chainsOf(ctx, chains, b);
    if (!spaceChains) continue;
    // every save set of every level of every space's chain
    const ids = [...spaceChains.values()].flatMap((levels) => levels.flatMap((l) => l.copyIds));
    if ((await Promise.all(ids.map(present))).includes(false)) continue;
    candidates.push({ backup: b, label: info.meta as unknown as LabelMeta, labelCopyId: info.id, chains: spaceChains });
  }
  if (candidates.length === 0) fail('UNREACHABLE', `no backup of server ${ctx.server} is available`, 'take one with `openbar backup`');

  const markLsn = target.kind === 'name' ? findMark(ctx, target.value) : undefined;
  const reaches = (c: (typeof candidates)[number]) => {
    switch (target.kind) {
      case 'latest': return true;
      case 'time': return Date.parse(c.label.stopTime) <= target.ms;
      case 'lsn': return engine.compareLsn(c.label.stopLsn, target.value) <= 0;
      case 'xid': return BigInt(c.label.nextXid) <= BigInt(target.value);
      case 'name': return markLsn === undefined || engine.compareLsn(c.label.stopLsn, markLsn) <= 0;
    }
  };
  const reachable = candidates.filter(reaches);
  const oldest = candidates[0]!;
  if (reachable.length === 0) {
    fail('UNREACHABLE', `no backup is consistent before ${describeTarget(target)}`,
      `the oldest backup (${oldest.backup.aid}) is consistent from ${formatTime(oldest.label.stopTime)} (LSN ${oldest.label.stopLsn}, next xid ${oldest.label.nextXid})`);
  }
  const chosen = reachable[reachable.length - 1]!;
  const { walFrom, walTo } = await checkWal(ctx, engine, chosen.label, target, markLsn);
  const spaces = chosen.label.spaces.map((s) => {
    const levels = chosen.chains.get(s.name) ?? [];
    return { ...s, copyIds: levels[0]?.copyIds ?? [], levels };
  });
  return { backup: chosen.backup, label: chosen.label, labelCopyId: chosen.labelCopyId, target, walFrom, walTo, spaces };
}

/** Each space's chain, newest first; undefined when one cannot be resolved from the history. */
function chainsOf(ctx: BarContext, chains: BackupChains, b: BackupCopy): Map<string, readonly ChainLevel[]> | undefined {
  const out = new Map<string, readonly ChainLevel[]>();
  for (const o of b.objects.filter((x) => x.type === 'R' || x.type === 'D')) {
    const c = o.copyIds.length > 0 ? chains.of(o.copyIds[0]!) : { problem: `space ${o.name} of backup ${b.aid} has no save set` };
    if ('problem' in c) {
      ctx.log.info(`restore: backup ${b.aid} cannot be used: ${c.problem}`);
      return undefined;
    }
    out.set(o.name, c.levels);
  }
  return out;
}

function findMark(ctx: BarContext, name: string): string | undefined {
  const marks = ctx.history.marks().filter((m) => m.name === name);
  if (marks.length > 0) return marks[marks.length - 1]!.lsn;
  fail('UNREACHABLE', `restore point '${name}' was not made with \`openbar log mark\``, 'list marks with `openbar history`');
}

/** The backup's own WAL must all be there; and, for targets that name a position, the WAL up to it. */
async function checkWal(ctx: BarContext, engine: ColdRestoreEngine, label: LabelMeta, target: RecoveryTarget, markLsn: string | undefined): Promise<{ walFrom: string; walTo: string }> {
  const stored = await ctx.sm.query({ server: ctx.server, kind: 'wal' });
  const names = new Set(stored.map((s) => s.name));
  for (const w of label.walFiles) {
    if (!names.has(w)) fail('UNREACHABLE', `WAL file ${w}, needed to make backup ${label.aid} consistent, is not in the ${ctx.settings.log_pool} pool`, 'choose an older target, or find the file and `openbar log archive` it');
  }
  // walk forward from the backup's start while segments are present
  let last = label.startWal;
  for (let next = engine.nextWal(last, label.walSegmentSize); names.has(next); next = engine.nextWal(next, label.walSegmentSize)) last = next;
  const upTo = target.kind === 'lsn' ? target.value : markLsn;
  if (upTo !== undefined) {
    const needed = engine.walFilesUpTo(label.startWal, upTo, label.walSegmentSize);
    const gap = needed.find((w) => !names.has(w));
    if (gap) fail('UNREACHABLE', `${describeTarget(target)} needs WAL file ${gap}, which is not in the ${ctx.settings.log_pool} pool`, `the archived WAL reaches ${last}; run \`openbar log backup\` if the server is still up`);
  }
  if (target.kind === 'time') {
    const newest = stored.filter((s) => names.has(s.name) && s.name <= last).map((s) => Date.parse(s.committed)).reduce((a, b) => Math.max(a, b), 0);
    if (newest < target.ms) {
      fail('UNREACHABLE', `${describeTarget(target)} is later than the newest archived WAL (${last}, archived ${formatTime(newest)})`,
        'run `openbar log backup` to archive the current WAL, or choose an earlier time');
    }
  }
  return { walFrom: label.startWal, walTo: last };
}

export function describeTarget(t: RecoveryTarget): string {
  switch (t.kind) {
    case 'latest': return 'the latest state';
    case 'time': return `time ${t.value}`;
    case 'lsn': return `LSN ${t.value}`;
    case 'xid': return `transaction ${t.value}`;
    case 'name': return `restore point '${t.value}'`;
  }
}
