// The end of a backup: its label stored with the save sets, and once they are committed
// the backup recorded as a success (history and boot file), logged and reported.

import { trace } from '../../common/trace.js';
import { formatBytes, formatRate } from '../../common/units.js';
import type { BackupStopped, ConfigEntry, SpaceInfo } from '../../engine/engine.js';
import type { NewInstance } from '../../history/history-db.js';
import { encodeLabel, encodeLabelContent } from '../records/label-record.js';
import { encodeConfig, encodeConfigContent } from '../records/config-record.js';
import type { BackupResult, SpaceResult } from './backup.js';
import { backupLevel, levelOf, type CopyPlan } from './backup-plan.js';
import type { BackupRun } from './backup-run.js';
import type { SpaceLevel } from './choose-bases.js';
import type { Copied } from './copy-spaces.js';
import type { PartResult } from './copy-space-part.js';
import { encodeFileList } from './file-list.js';

/** Step: the backup label stored (what a restore needs besides the spaces: label files, file list, levels); its save set id. */
export async function storeLabel(
  s: BackupRun,
  plan: CopyPlan,
  held: Copied['held'],
  stopped: BackupStopped,
): Promise<number> {
  const { handle, info } = s;
  const w = await s.txn.createObject(
    encodeLabel(
      { pool: s.ctx.settings.data_pool, server: s.ctx.server, level: backupLevel(plan) },
      {
        aid: s.aid,
        startLsn: handle.startLsn,
        stopLsn: stopped.stopLsn,
        timeline: handle.timeline,
        startWal: handle.startWal,
        startTime: handle.startTime,
        stopTime: stopped.stopTime,
        nextXid: stopped.nextXid,
        walFiles: stopped.walFiles,
        systemId: info.systemId,
        walSegmentSize: info.walSegmentSize,
        pgVersion: info.version,
        checksums: info.checksums,
        spaces: s.spaces.map((sp) => ({
          name: sp.name,
          critical: sp.critical,
          oid: sp.oid,
          location: sp.oid === null ? null : sp.root,
        })),
        levels: plan.levels.map((l) => ({
          space: l.space,
          level: l.level,
          baseCopyId: l.base?.copyIds[0] ?? null,
          baseAid: l.base?.action ?? null,
          method: plan.sources.get(l.space)?.method ?? null,
        })),
      },
    ),
  );
  await w.write(encodeLabelContent({ labelFiles: stopped.labelFiles, fileList: encodeFileList(held) }));
  await w.close();
  trace('backup: label stored');
  return w.id;
}

/**
 * Step, while the copy is planned: the server's configuration files that live outside its
 * data directory (Debian's /etc/postgresql/N/NAME), read, so that one the backup cannot
 * read fails it before the copy; [] when every file is inside the data directory (in
 * pg_global already).
 */
export async function readConfig(s: BackupRun): Promise<readonly ConfigEntry[]> {
  return (await s.engine.configFiles?.()) ?? [];
}

/**
 * Step: the configuration files readConfig read stored as their own save set, listed
 * with the label's instance; its id, or undefined when there are none.
 */
export async function storeConfig(s: BackupRun, entries: readonly ConfigEntry[]): Promise<number | undefined> {
  if (entries.length === 0) return undefined;
  const w = await s.txn.createObject(
    encodeConfig(
      { pool: s.ctx.settings.data_pool, server: s.ctx.server },
      { aid: s.aid, dataDir: s.info.dataDir, files: entries.length },
    ),
  );
  await w.write(encodeConfigContent(entries));
  await w.close();
  s.ctx.log.info(
    `backup ${s.aid}: configuration kept outside the data directory stored: ${entries.map((e) => e.path).join(', ')}`,
  );
  trace('backup: configuration stored');
  return w.id;
}

/** Step: the backup recorded as a success (history and boot file), logged and reported. */
export function recordBackup(
  s: BackupRun,
  plan: CopyPlan,
  parts: readonly PartResult[],
  stopped: BackupStopped,
  labelId: number,
  stored: ReadonlyMap<number, number>,
  started: number,
  configId?: number,
): BackupResult {
  const spaces = summarise(
    s.spaces,
    parts.map((r) => ({ ...r, storedBytes: stored.get(r.id) ?? 0 })),
  );
  s.ctx.history.recordInstances(s.aid, instancesOf(s, plan, spaces, stopped, labelId, configId));
  const bytes = spaces.reduce((a, x) => a + x.bytes, 0);
  const storedBytes = spaces.reduce((a, x) => a + x.storedBytes, 0);
  const ms = Date.now() - started;
  s.ctx.history.endAction(s.aid, 0, 'completed', {
    bytes,
    storedBytes,
    ms,
    startLsn: s.handle.startLsn,
    stopLsn: stopped.stopLsn,
  });
  s.ctx.log.info(completedLine(s.aid, plan, spaces, bytes, storedBytes, ms));
  for (const x of spaces) s.opts.report?.(spaceLine(x, levelOf(plan, x.space), plan.sources.get(x.space)?.method));
  trace('backup: recorded');
  return {
    id: s.aid,
    level: backupLevel(plan),
    levels: plan.levels.map((l) => ({
      space: l.space,
      level: l.level,
      base: l.base?.action ?? null,
      note: l.note ?? null,
    })),
    method: [...plan.sources.values()][0]?.method ?? null,
    startLsn: s.handle.startLsn,
    stopLsn: stopped.stopLsn,
    timeline: s.handle.timeline,
    walFiles: stopped.walFiles,
    spaces,
    bytes,
    storedBytes,
    ms,
  };
}

/** The history's instances of the backup: one per space, and its label. */
function instancesOf(
  s: BackupRun,
  plan: CopyPlan,
  spaces: readonly SpaceResult[],
  stopped: BackupStopped,
  labelId: number,
  configId: number | undefined,
): NewInstance[] {
  const { handle } = s;
  const at = {
    startLsn: handle.startLsn,
    stopLsn: stopped.stopLsn,
    timeline: handle.timeline,
    firstWal: handle.startWal,
    time: stopped.stopTime,
  };
  return [
    ...spaces.map((x): NewInstance => ({
      object: x.space,
      type: s.spaces.find((c) => c.name === x.space)!.critical ? 'R' : 'D',
      level: levelOf(plan, x.space).level,
      copyIds: x.copyIds,
      baseId: levelOf(plan, x.space).base?.copyIds[0] ?? null,
      ...at,
      meta: { bytes: x.bytes, storedBytes: x.storedBytes, parts: x.parts, badPages: x.badPages },
    })),
    {
      object: 'backup_label',
      type: 'B',
      level: backupLevel(plan),
      // the configuration save set goes with the label: expired, checked and listed with it
      copyIds: configId === undefined ? [labelId] : [labelId, configId],
      baseId: null,
      ...at,
      meta: {
        nextXid: stopped.nextXid,
        walFiles: stopped.walFiles,
        startTime: handle.startTime,
        systemId: s.info.systemId,
      },
    },
  ];
}

function summarise(spaces: readonly SpaceInfo[], parts: readonly PartResult[]): SpaceResult[] {
  return spaces.map((s) => {
    const mine = parts.filter((p) => p.space === s.name).sort((a, b) => a.part - b.part);
    return {
      space: s.name,
      copyIds: mine.map((p) => p.id),
      parts: mine.length,
      bytes: mine.reduce((a, p) => a + p.bytes, 0),
      storedBytes: mine.reduce((a, p) => a + p.storedBytes, 0),
      ms: Math.max(0, ...mine.map((p) => p.ms)),
      badPages: mine.reduce((a, p) => a + p.badPages, 0),
      imagePages: mine.reduce((a, p) => a + p.imagePages, 0),
    };
  });
}

function completedLine(
  aid: number,
  plan: CopyPlan,
  spaces: readonly SpaceResult[],
  bytes: number,
  storedBytes: number,
  ms: number,
): string {
  const badPages = spaces.reduce((a, s) => a + s.badPages, 0);
  const imagePages = spaces.reduce((a, s) => a + s.imagePages, 0);
  const methods = plan.sources.size
    ? ` (${[...new Set([...plan.sources.values()].map((x) => x.method))].join('/')})`
    : '';
  return `backup ${aid}: completed, level ${backupLevel(plan)}${methods}, ${formatBytes(bytes)} read${imagePages ? ` (${imagePages} page(s) of it from the WAL's full-page images)` : ''}, ${formatBytes(storedBytes)} stored, ${formatRate(bytes, ms)}${badPages ? `, ${badPages} bad page(s) reported` : ''}`;
}

function spaceLine(s: SpaceResult, l: SpaceLevel, method: string | undefined): string {
  const level = `level ${l.level}${l.base ? ` on backup ${l.base.action}${method ? ` (${method})` : ''}` : ''}`;
  return `${s.space.padEnd(12)} ${level.padEnd(24)} ${formatBytes(s.bytes).padStart(10)} read  ${formatBytes(s.storedBytes).padStart(10)} stored  ${s.parts} part(s)  save set(s) ${s.copyIds.join(',')}${s.badPages ? `  ${s.badPages} BAD PAGE(S)` : ''}`;
}
