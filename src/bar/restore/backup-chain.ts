// The chain of a space instance: a level 2 rests on a level 1, which rests on a level 0,
// each link being the base's first save-set id (baseId). Resolved from the history
// alone, per space (a space of a level-1 backup may itself be a level 0). Reads only.

import type { HistoryInstance } from '../../history/backup-history.js';

/** One level of a chain, newest first in a chain. */
export interface ChainLevel {
  /** 0 for the instance the chain rests on (it has no base), else the level recorded */
  readonly level: number;
  /** the backup (action) that took it */
  readonly aid: number;
  readonly copyIds: readonly number[];
  /** start of the backup that took it: pages it holds that are newer were changing as it read them */
  readonly startLsn: string | null;
}

export type ChainResult = { readonly levels: readonly ChainLevel[] } | { readonly problem: string };

/** Longer chains than this are taken for a loop in damaged history. */
const MAX_DEPTH = 16;

export class BackupChains {
  private readonly byCopy = new Map<number, HistoryInstance>();

  constructor(instances: readonly HistoryInstance[]) {
    for (const i of instances) {
      if (i.type !== 'R' && i.type !== 'D') continue;
      for (const c of i.copyIds) this.byCopy.set(c, i);
    }
  }

  /** The chain of the space instance whose first save set is `copyId`, newest first. */
  of(copyId: number): ChainResult {
    const levels: ChainLevel[] = [];
    let cur = this.byCopy.get(copyId);
    if (!cur) return { problem: `save set ${copyId} is not a space instance in the history` };
    const newest = cur;
    for (;;) {
      levels.push({
        level: cur.baseId === null ? 0 : cur.level,
        aid: cur.action,
        copyIds: cur.copyIds,
        startLsn: cur.startLsn,
      });
      if (cur.baseId === null) return { levels };
      const base = this.byCopy.get(cur.baseId);
      const what = `space ${newest.object} of backup ${newest.action}`;
      if (!base)
        return {
          problem: `${what}: its level ${cur.level} (backup ${cur.action}) rests on save set ${cur.baseId}, which the history no longer has (expired or deleted)`,
        };
      if (base.object !== cur.object)
        return {
          problem: `${what}: its level ${cur.level} (backup ${cur.action}) names save set ${cur.baseId} as its base, a copy of ${base.object}`,
        };
      if (levels.length >= MAX_DEPTH || levels.some((l) => l.aid === base.action))
        return { problem: `${what}: its chain of bases loops at backup ${base.action}` };
      cur = base;
    }
  }
}

/** `level 2 save set(s) 31 <- level 1 29 <- level 0 12` */
export function describeChain(levels: readonly Pick<ChainLevel, 'level' | 'copyIds'>[]): string {
  return levels.map((l, i) => `level ${l.level} ${i === 0 ? 'save set(s) ' : ''}${l.copyIds.join(',')}`).join(' <- ');
}
