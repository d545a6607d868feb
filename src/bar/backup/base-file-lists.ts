// The file lists the bases of a level 1 or 2 recorded (file-list.ts, in their label save
// sets), read once per base backup: per space, the files its base holds, or why that is
// not known. A list that cannot be read, or does not check out, is not used at all.

import { isOpenbarError } from '../../common/errors.js';
import type { HistoryInstance } from '../../history/backup-history.js';
import { readWhole } from '../../sm/storage-manager.js';
import type { BarContext } from '../bar-context.js';
import type { SpaceLevel } from './choose-bases.js';
import { fileListOfLabel, type SpaceFiles } from './file-list.js';

/** What a space's base holds, or why it cannot be told (said after "its level N (backup B)"). */
export type BaseList = { readonly files: SpaceFiles } | { readonly missing: string };

type Lists = Map<string, SpaceFiles> | { readonly missing: string };

/** For each space of `levels` (each with a base): its base's list. */
export async function baseFileLists(
  ctx: BarContext,
  instances: readonly HistoryInstance[],
  levels: readonly SpaceLevel[],
): Promise<Map<string, BaseList>> {
  const byBackup = new Map<number, Promise<Lists>>();
  for (const l of levels) {
    const action = l.base!.action;
    if (!byBackup.has(action)) byBackup.set(action, readLists(ctx, instances, action));
  }
  const out = new Map<string, BaseList>();
  for (const l of levels) {
    const lists = await byBackup.get(l.base!.action)!;
    if (!(lists instanceof Map)) {
      out.set(l.space, lists);
      continue;
    }
    const files = lists.get(l.space);
    out.set(l.space, files ? { files } : { missing: `recorded no list of the files of ${l.space}` });
  }
  return out;
}

/** The lists backup `action` recorded with its label. */
async function readLists(ctx: BarContext, instances: readonly HistoryInstance[], action: number): Promise<Lists> {
  const label = instances.find((i) => i.action === action && i.type === 'B');
  if (!label?.copyIds.length) return { missing: 'has no label save set in the history' };
  try {
    return (
      fileListOfLabel(await readWhole(ctx.sm, label.copyIds[0]!), label.copyIds[0]!) ?? {
        missing: 'recorded no list of its files (taken by an older openbar)',
      }
    );
  } catch (err) {
    if (!isOpenbarError(err) || !['CHECKSUM', 'TRUNCATED', 'FORMAT', 'NOT_FOUND'].includes(err.code)) throw err;
    return { missing: `has a list of its files that cannot be used (${err.message})` };
  }
}
