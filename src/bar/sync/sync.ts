// `openbar sync` (onsmsync): makes the history, the boot file and the storage manager
// agree. With no flag it reconciles: boot-file lines missing from history are added to
// it, history instances missing from the boot file are appended to it, and records of
// save sets that are gone are dropped from both. `--from-storage` rebuilds both from
// the self-describing save sets alone (what onsmsync could not do).

import type { SaveSetInfo, StorageManager } from '../../sm/storage-manager.js';
import { instanceKey, seedFromBootLines } from '../../history/backup-history.js';
import { appendBootLines, type BootLine } from '../../history/boot-file.js';
import { replaceBootFile, writeHistoryFromLines } from '../../history/history-rebuild.js';
import type { BarContext } from '../bar-context.js';
import { isOpenbarError } from '../../common/errors.js';
import { isNewerRecord } from '../../common/meta-reader.js';
import { decodeConfig } from '../records/config-record.js';
import { decodeLabelEntry, LABEL_NAME, type LabelEntry } from '../records/label-record.js';
import { SaveSetKind } from '../records/saveset-kinds.js';
import { decodeSpacePart, type SpacePartMeta } from '../records/space-part-record.js';
import { decodeWal, type WalMeta } from '../records/wal-record.js';

export interface ReconcileReport {
  readonly addedToHistory: number;
  readonly addedToBootFile: number;
  readonly dropped: readonly { action: number; object: string; copyIds: readonly number[] }[];
}

export async function reconcile(ctx: BarContext): Promise<ReconcileReport> {
  const db = ctx.history.database!;
  const boot = ctx.history.bootLines().filter((l) => l.server === ctx.server);
  const inHistory = new Set(ctx.history.instances().map(instanceKey));
  const marksInHistory = new Set(ctx.history.marks().map((m) => `${m.aid} ${m.name}`));
  const missingInHistory = boot.filter((l) =>
    l.type === 'M' ? !marksInHistory.has(`${l.action} ${l.object}`) : !inHistory.has(instanceKey(l)),
  );
  const addedToHistory = seedFromBootLines(db, missingInHistory);

  const inBoot = new Set(boot.map((l) => (l.type === 'M' ? `M ${l.action} ${l.object}` : instanceKey(l))));
  const missingInBoot = ctx.history
    .bootLinesFromDatabase()
    .filter((l) => !inBoot.has(l.type === 'M' ? `M ${l.action} ${l.object}` : instanceKey(l)));
  appendBootLines(ctx.history.bootFile, missingInBoot);

  // records of save sets that are gone: a backup missing any of its save sets is gone whole
  const exists = await existence(
    ctx.sm,
    ctx.history.instances().flatMap((i) => i.copyIds),
  );
  const all = ctx.history.instances();
  const brokenActions = new Set(
    all.filter((i) => i.type !== 'L' && i.copyIds.some((id) => !exists.get(id))).map((i) => i.action),
  );
  const gone = all.filter((i) =>
    i.type === 'L' ? i.copyIds.some((id) => !exists.get(id)) : brokenActions.has(i.action),
  );
  ctx.history.retire(gone, ctx.settings.history);
  const report = {
    addedToHistory,
    addedToBootFile: missingInBoot.length,
    dropped: gone.map((i) => ({ action: i.action, object: i.object, copyIds: i.copyIds })),
  };
  ctx.log.info(
    `sync: ${report.addedToHistory} instance(s) added to history from the boot file, ${report.addedToBootFile} line(s) added to the boot file, ${report.dropped.length} record(s) of missing save sets dropped`,
  );
  return report;
}

async function existence(sm: StorageManager, ids: readonly number[]): Promise<Map<number, boolean>> {
  const out = new Map<number, boolean>();
  for (const id of new Set(ids)) out.set(id, (await sm.query({ id })).length > 0);
  return out;
}

export interface FromStorageReport {
  readonly servers: readonly string[];
  readonly backups: number;
  readonly walFiles: number;
  readonly incomplete: readonly string[];
  readonly historyAside: string | undefined;
}

/**
 * Boot-file lines for every server in the storage manager, from the save sets alone:
 * a backup from its label save set and the space save sets of its action; a WAL file
 * from its save set. Restore points live only in the history and the WAL: they are lost.
 * A save set's meta is read back, not trusted: one that does not decode makes no line and
 * is reported; one written by a newer openbar fails the whole rebuild (NewerRecordError),
 * as a history without its backups would let expire remove what they need.
 */
export function linesFromSaveSets(sets: readonly SaveSetInfo[]): {
  lines: BootLine[];
  incomplete: string[];
  servers: Map<string, { systemId?: string; version?: string }>;
} {
  const lines: BootLine[] = [];
  const incomplete: string[] = [];
  const servers = new Map<string, { systemId?: string; version?: string }>();
  const decoded = <T>(s: SaveSetInfo, decode: (s: SaveSetInfo) => T, why?: string): T | undefined => {
    try {
      return decode(s);
    } catch (err) {
      if (!isOpenbarError(err, 'FORMAT') || isNewerRecord(err)) throw err;
      incomplete.push(why ?? err.message);
      return undefined;
    }
  };
  const spaces = new Map<string, { set: SaveSetInfo; meta: SpacePartMeta }[]>();
  const labels: { set: SaveSetInfo; meta: LabelEntry }[] = [];
  const wal: { set: SaveSetInfo; meta: WalMeta }[] = [];
  const configs = new Map<string, SaveSetInfo[]>(); // by server and the backup its meta names, checked when taken
  let maxAid = 0;
  for (const s of sets) {
    if (s.kind === SaveSetKind.space) {
      const meta = decoded(s, decodeSpacePart);
      if (!meta) continue;
      const k = `${s.server} ${meta.aid}`;
      spaces.set(k, [...(spaces.get(k) ?? []), { set: s, meta }]);
      maxAid = Math.max(maxAid, meta.aid);
    } else if (s.kind === SaveSetKind.label) {
      const meta = decoded(
        s,
        decodeLabelEntry,
        `label save set ${s.id} of ${s.server}: its meta does not describe a backup`,
      );
      if (meta) labels.push({ set: s, meta });
      maxAid = Math.max(maxAid, meta?.aid ?? 0);
    } else if (s.kind === SaveSetKind.config) {
      const k = `${s.server} ${String(s.meta.aid)}`;
      configs.set(k, [...(configs.get(k) ?? []), s]);
    } else if (s.kind === SaveSetKind.wal) {
      const meta = decoded(s, decodeWal);
      if (meta) wal.push({ set: s, meta });
      maxAid = Math.max(maxAid, meta?.aid ?? 0);
    }
  }
  for (const { set: label, meta: m } of labels) {
    servers.set(label.server, {
      ...(m.systemId ? { systemId: m.systemId } : {}),
      ...(m.pgVersion ? { version: String(m.pgVersion) } : {}),
    });
    const mine = spaces.get(`${label.server} ${m.aid}`) ?? [];
    const common = {
      server: label.server,
      action: m.aid,
      level: label.level ?? 0,
      startLsn: m.startLsn,
      stopLsn: m.stopLsn,
      timeline: m.timeline,
      firstWal: m.startWal,
      time: m.stopTime,
    };
    const out: BootLine[] = [];
    let whole = true;
    for (const sp of m.spaces) {
      const parts = mine.filter((s) => s.set.name === sp.name).sort((a, b) => a.meta.part - b.meta.part);
      if (parts.length === 0 || parts.length !== parts[0]!.meta.parts) {
        whole = false;
        break;
      }
      // each space has its own level (a space of a level-1 backup may be a level 0)
      out.push({
        ...common,
        object: sp.name,
        type: sp.critical ? 'R' : 'D',
        level: parts[0]!.set.level ?? common.level,
        copyIds: parts.map((p) => p.set.id),
        baseId: parts[0]!.meta.baseCopyId,
      });
    }
    if (!whole) {
      incomplete.push(`backup ${m.aid} of ${label.server}: a space save set is missing`);
      continue;
    }
    // the configuration save set goes with the label, as the backup recorded it (copyIds[1])
    const config = configOf(configs.get(`${label.server} ${m.aid}`) ?? [], label.server, m.aid);
    const copyIds = config === undefined ? [label.id] : [label.id, config.id];
    lines.push(...out, { ...common, object: LABEL_NAME, type: 'B', copyIds, baseId: null });
  }
  for (const { set: w, meta } of wal) {
    const aid = meta.aid ?? ++maxAid;
    lines.push({
      server: w.server,
      object: w.name,
      type: 'L',
      action: aid,
      level: 0,
      copyIds: [w.id],
      baseId: null,
      startLsn: null,
      stopLsn: null,
      timeline: null,
      firstWal: null,
      time: w.committed,
    });
  }
  lines.sort((a, b) => a.time.localeCompare(b.time) || a.action - b.action);
  return { lines, incomplete, servers };
}

/** `sync --from-storage`: history.db and every server's boot file, from the save sets. */
export async function rebuildFromStorage(home: string, sm: StorageManager): Promise<FromStorageReport> {
  const kinds: readonly string[] = [SaveSetKind.label, SaveSetKind.space, SaveSetKind.wal];
  const sets = (await sm.query({})).filter((s) => kinds.includes(s.kind));
  const { lines, incomplete, servers } = linesFromSaveSets(sets);
  const names = [...new Set(lines.map((l) => l.server))].sort();
  for (const n of names)
    replaceBootFile(
      home,
      n,
      lines.filter((l) => l.server === n),
    );
  const { aside } = writeHistoryFromLines(
    home,
    lines,
    [...servers].map(([name, info]) => ({ name, ...info })),
  );
  return {
    servers: names,
    backups: lines.filter((l) => l.type === 'B').length,
    walFiles: lines.filter((l) => l.type === 'L').length,
    incomplete,
    historyAside: aside,
  };
}

/**
 * The configuration save set backup `aid` of `server` wrote, among `configs` (those whose
 * meta names it), if one decodes as that
 * (read back, not trusted: another backup's, or a damaged meta, is not taken); of two, the
 * newer id (a backup writes one; two would be a catalog merged from copies).
 */
function configOf(configs: readonly SaveSetInfo[], server: string, aid: number): SaveSetInfo | undefined {
  let found: SaveSetInfo | undefined;
  for (const c of configs) {
    try {
      decodeConfig(c, { server, aid });
    } catch (err) {
      if (!isOpenbarError(err, 'FORMAT') || isNewerRecord(err)) throw err;
      continue;
    }
    if (!found || c.id > found.id) found = c;
  }
  return found;
}
