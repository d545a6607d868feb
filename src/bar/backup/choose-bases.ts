// Which level each space of a level 1 or 2 backup gets, and what it builds on (the
// seeds' archive levels): level 1 on the space's last level 0, level 2 on its last level
// 1 taken since that level 0. When the lower level is missing, or its save sets are
// gone, or it belongs to another timeline, the space gets the lower level, and says so.

import type { HistoryInstance } from '../../history/backup-history.js';
import type { StorageManager } from '../../sm/storage-manager.js';

export interface SpaceLevel {
  readonly space: string;
  readonly level: number;
  /** the instance this one builds on (levels 1 and 2) */
  readonly base?: HistoryInstance;
  /** why the space got a lower level than asked */
  readonly note?: string;
}

/** `timeline`: the server's; undefined before backup mode starts (a first guess, not checked against it). */
export async function chooseBases(
  sm: StorageManager,
  instances: readonly HistoryInstance[],
  spaces: readonly string[],
  level: number,
  timeline: number | undefined,
): Promise<SpaceLevel[]> {
  const byCopy = new Map<number, HistoryInstance>();
  for (const i of instances) for (const c of i.copyIds) byCopy.set(c, i);
  const present = async (i: HistoryInstance): Promise<boolean> => {
    for (
      let cur: HistoryInstance | undefined = i;
      cur;
      cur = cur.baseId === null ? undefined : byCopy.get(cur.baseId)
    ) {
      for (const id of cur.copyIds) if ((await sm.query({ id })).length === 0) return false;
      if (cur.level > 0 && (cur.baseId === null || !byCopy.has(cur.baseId))) return false;
    }
    return true;
  };
  const out: SpaceLevel[] = [];
  for (const space of spaces) {
    const mine = instances.filter((i) => i.object === space && (i.type === 'R' || i.type === 'D'));
    const lastAt = (lvl: number) => mine.filter((i) => i.level === lvl).pop();
    const l0 = lastAt(0);
    const l1 = lastAt(1);
    const l1SinceL0 =
      l1 && l0 && (l1.id ?? 0) > (l0.id ?? 0) && l1.baseId !== null && l0.copyIds.includes(l1.baseId) ? l1 : undefined;
    let want = level;
    let note: string | undefined;
    let base: HistoryInstance | undefined;
    for (;;) {
      if (want === 0) break;
      const candidate = want === 2 ? l1SinceL0 : l0;
      const why = !candidate
        ? `no level ${want - 1} of ${space}${want === 2 ? ' since its last level 0' : ''}`
        : timeline !== undefined && candidate.timeline !== null && candidate.timeline !== timeline
          ? `its level ${want - 1} (backup ${candidate.action}) is on timeline ${candidate.timeline}, the server on ${timeline}`
          : !(await present(candidate))
            ? `the save sets of its level ${want - 1} (backup ${candidate.action}) or of their bases are gone`
            : undefined;
      if (!why) {
        base = candidate;
        break;
      }
      note = `${why}: taking level ${want - 1}`;
      want--;
    }
    out.push({ space, level: want, ...(base ? { base } : {}), ...(note ? { note } : {}) });
  }
  return out;
}
