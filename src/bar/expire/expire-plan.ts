// What `openbar expire` would remove (onsmsync's expiration policy), decided from the
// history and the stored WAL alone; nothing here changes anything. A backup is kept
// when the policy keeps it, when a kept backup depends on it (its level-0 / level-1
// base), or when it is the newest level 0 of a space (unless forced). WAL is kept from
// the start of the oldest kept backup on; older WAL served only expired backups.
// A cut-off by time keeps the window restorable: the last backup before the cut-off
// stays, since a point just after the cut-off is recovered from it.

import type { HistoryInstance } from '../../history/backup-history.js';

export type ExpirePolicy =
  { readonly kind: 'generations'; readonly count: number } | { readonly kind: 'before'; readonly ms: number };

export interface PlannedBackup {
  readonly aid: number;
  readonly level: number;
  readonly time: string;
  readonly spaces: readonly string[];
  readonly firstWal: string | null;
  readonly instances: readonly HistoryInstance[];
  /** the backups (action ids) this one needs to be restored */
  readonly bases: readonly number[];
  /** why it is kept, when it is */
  keptBecause?: string;
}

export interface StoredWal {
  readonly id: number;
  readonly name: string;
  readonly position: string | null;
}

export interface ExpirePlan {
  readonly keep: readonly PlannedBackup[];
  readonly expire: readonly PlannedBackup[];
  /** WAL save sets to delete, oldest first */
  readonly wal: readonly StoredWal[];
  /** the position from which WAL is kept (null: none is needed any more) */
  readonly walKeptFrom: string | null;
  /** instances (history rows) of the WAL files deleted */
  readonly walInstances: readonly HistoryInstance[];
}

export interface PlanInput {
  readonly instances: readonly HistoryInstance[];
  readonly wal: readonly StoredWal[];
  readonly policy: ExpirePolicy;
  readonly force: boolean;
  /** the position of a WAL file name (see OfflineEngine.walPosition) */
  readonly walPosition: (name: string) => string | null;
}

export function planExpire(input: PlanInput): ExpirePlan {
  const backups = groupBackups(input.instances);
  const byAid = new Map(backups.map((b) => [b.aid, b]));
  const keep = new Set<number>();
  const why = (aid: number, reason: string) => {
    if (!keep.has(aid)) {
      keep.add(aid);
      byAid.get(aid)!.keptBecause = reason;
    }
  };

  if (input.policy.kind === 'generations') {
    const n = input.policy.count;
    for (const space of spacesOf(backups)) {
      const roots = backups.filter((b) => b.level === 0 && b.spaces.includes(space)).slice(-n);
      for (const r of roots) why(r.aid, `one of the ${n} newest level-0 generations of ${space}`);
    }
    // a kept level 0 keeps its generation: the level 1 and 2 backups built on it
    for (const b of backups)
      if (b.level > 0 && chainOf(b, byAid).some((a) => keep.has(a) && byAid.get(a)!.level === 0))
        why(b.aid, 'built on a kept level 0');
  } else {
    const cutoff = input.policy.ms;
    for (const b of backups) if (Date.parse(b.time) >= cutoff) why(b.aid, 'newer than the cut-off');
    // a point in time just after the cut-off is restored from the last backup before it
    const bridge = backups.filter((b) => Date.parse(b.time) < cutoff).pop();
    if (bridge && keep.size > 0) why(bridge.aid, 'needed to restore to times just after the cut-off');
  }
  if (!input.force) {
    for (const space of spacesOf(backups)) {
      const newest = backups.filter((b) => b.level === 0 && b.spaces.includes(space)).pop();
      if (newest) why(newest.aid, `the newest level 0 of ${space} (--force to expire it)`);
    }
  }
  // never break a kept backup's chain
  for (const aid of [...keep])
    for (const base of chainOf(byAid.get(aid)!, byAid)) why(base, `base of kept backup ${aid}`);

  const kept = backups.filter((b) => keep.has(b.aid));
  const expire = backups.filter((b) => !keep.has(b.aid));
  const starts = kept
    .map((b) => (b.firstWal ? input.walPosition(b.firstWal) : null))
    .filter((p): p is string => p !== null);
  const walKeptFrom = starts.length > 0 ? starts.sort()[0]! : null;
  const wal = input.wal
    .filter((w) => w.position !== null && (walKeptFrom === null || w.position < walKeptFrom))
    .sort((a, b) => a.position!.localeCompare(b.position!) || a.name.localeCompare(b.name));
  const walIds = new Set(wal.map((w) => w.id));
  const walInstances = input.instances.filter((i) => i.type === 'L' && i.copyIds.some((id) => walIds.has(id)));
  return { keep: kept, expire, wal, walKeptFrom, walInstances };
}

function groupBackups(instances: readonly HistoryInstance[]): PlannedBackup[] {
  const byAid = new Map<number, HistoryInstance[]>();
  for (const i of instances) {
    if (i.type === 'L' || i.type === 'M') continue;
    byAid.set(i.action, [...(byAid.get(i.action) ?? []), i]);
  }
  // base copy id -> the backup holding that copy
  const owner = new Map<number, number>();
  for (const [aid, list] of byAid) for (const i of list) for (const c of i.copyIds) owner.set(c, aid);
  const out: PlannedBackup[] = [];
  for (const [aid, list] of byAid) {
    const label = list.find((i) => i.type === 'B') ?? list[0]!;
    const bases = [
      ...new Set(
        list
          .map((i) => (i.baseId === null ? undefined : owner.get(i.baseId)))
          .filter((a): a is number => a !== undefined && a !== aid),
      ),
    ];
    out.push({
      aid,
      level: label.level,
      time: label.time,
      firstWal: label.firstWal,
      instances: list,
      bases,
      spaces: list.filter((i) => i.type === 'R' || i.type === 'D').map((i) => i.object),
    });
  }
  return out.sort((a, b) => a.aid - b.aid);
}

function spacesOf(backups: readonly PlannedBackup[]): string[] {
  return [...new Set(backups.flatMap((b) => b.spaces))];
}

/** Every backup `b` needs, transitively (not itself). */
function chainOf(b: PlannedBackup, byAid: ReadonlyMap<number, PlannedBackup>): number[] {
  const out: number[] = [];
  const todo = [...b.bases];
  while (todo.length > 0) {
    const a = todo.pop()!;
    if (out.includes(a)) continue;
    out.push(a);
    todo.push(...(byAid.get(a)?.bases ?? []));
  }
  return out;
}
