// `openbar status [--json]` (onstat -g arc, oncheck -pr): the latest backup of each space
// (level, time, LSN, WAL), the WAL archived, the oldest point a restore can reach, and
// the actions running now with their progress. Works from the boot file alone when the
// history database is gone.

import os from 'node:os';
import type { Command } from 'commander';
import { isOpenbarError } from '../../common/errors.js';
import { checkName } from '../../common/names.js';
import { ownerAlive } from '../../common/process-owner.js';
import { formatBytes, formatTime } from '../../common/units.js';
import { BackupHistory, type HistoryInstance } from '../../history/backup-history.js';
import { action, jsonOption, subcommand, type Globals } from '../command.js';
import { loadContext, loadEngine, type CommandContext } from '../context.js';
import { timelineRuns, type TimelineRun } from '../../bar/log/wal-archive.js';
import { SaveSetKind } from '../../bar/records/saveset-kinds.js';
import { decodeWal } from '../../bar/records/wal-record.js';
import type { SaveSetInfo } from '../../sm/storage-manager.js';
import { printJson, printTable } from '../render.js';

export function register(program: Command, globals: Globals): void {
  subcommand(
    program,
    'status',
    'the latest backup of each space (level, time, LSN, WAL), WAL archived, and actions in progress',
  )
    .addOption(jsonOption())
    .action(
      action(async (opts: { json?: boolean }) => {
        const cmd = loadContext(globals());
        const server = checkName('server', cmd.settings.server);
        const h = BackupHistory.open(cmd.home, server, { create: false, log: cmd.log });
        try {
          const all = h.instances();
          const latest = new Map<string, HistoryInstance>();
          for (const i of all) if (i.type === 'R' || i.type === 'D') latest.set(i.object, i);
          const spaces = [...latest.values()];
          const wal = all.filter((i) => i.type === 'L');
          const backups = h.backups();
          const verify = new Map((h.database?.instances({ server }) ?? []).map((i) => [i.id, i]));
          const host = os.hostname();
          const actions = h.database?.actions({ server }) ?? [];
          const running = actions
            .filter((a) => a.status === -1 && a.pid !== null && ownerAlive(`${host}:${a.pid}:0`))
            .map((a) => ({
              ...a,
              percent:
                typeof a.detail.totalBytes === 'number' && a.detail.totalBytes > 0
                  ? Math.min(100, (100 * Number(a.detail.doneBytes ?? 0)) / a.detail.totalBytes)
                  : null,
            }));
          const lastFailed = actions
            .filter((a) => a.type === 'backup' && a.status !== 0 && !running.some((r) => r.aid === a.aid))
            .pop();
          const timelines = await archivedTimelines(
            cmd,
            server,
            wal.map((i) => i.object),
          );
          const summary = {
            server,
            source: h.hasDatabase ? 'history' : 'boot file',
            spaces,
            backups: backups.length,
            oldestRestorable: backups[0]
              ? { backup: backups[0].aid, time: backups[0].time, lsn: backups[0].stopLsn }
              : null,
            wal: {
              files: wal.length,
              first: wal[0]?.object ?? null,
              last: wal[wal.length - 1]?.object ?? null,
              lastTime: wal[wal.length - 1]?.time ?? null,
              timelines: timelines.runs,
              source: timelines.source,
            },
            running,
            lastFailedBackup: lastFailed ?? null,
          };
          if (opts.json) return printJson(summary);
          process.stdout.write(
            `server ${server}${h.hasDatabase ? '' : ' (from the boot file: no history database)'}\n\n`,
          );
          printTable(
            spaces,
            [
              { title: 'SPACE', value: (i) => i.object },
              { title: 'LEVEL', value: (i) => i.level },
              { title: 'BACKUP', value: (i) => i.action, right: true },
              { title: 'TIME', value: (i) => formatTime(i.time) },
              { title: 'START LSN', value: (i) => i.startLsn },
              { title: 'STOP LSN', value: (i) => i.stopLsn },
              { title: 'FIRST WAL', value: (i) => i.firstWal },
              { title: 'VERIFIED', value: (i) => verifiedText(i.id === undefined ? undefined : verify.get(i.id)) },
            ],
            'no backups yet',
          );
          const o = summary.oldestRestorable;
          process.stdout.write(
            `\n${backups.length} backup(s); oldest restorable point: ${o ? `${formatTime(o.time)} (backup ${o.backup}, LSN ${o.lsn})` : 'none'}\n`,
          );
          process.stdout.write(
            `WAL archived: ${wal.length ? `${wal.length} file(s), last at ${formatTime(summary.wal.lastTime!)}` : 'none'}${timelines.source === 'history' && wal.length ? ' (from the history: the catalog could not be read)' : ''}\n`,
          );
          for (const t of timelines.runs) {
            const gaps = t.gaps.reduce((a, g) => a + g.count, 0);
            process.stdout.write(
              `  timeline ${t.timeline}: ${t.files} segment(s), ${t.first} .. ${t.last}${gaps ? `, ${gaps} MISSING: ${t.gaps.map((g) => (g.count === 1 ? g.from : `${g.from} .. ${g.to}`)).join(', ')} (restores cannot pass a gap)` : ', no gaps'}\n`,
            );
          }
          if (lastFailed)
            process.stdout.write(
              `last failed backup: ${lastFailed.aid} at ${formatTime(lastFailed.start)}: ${lastFailed.status === -1 ? 'interrupted (killed)' : lastFailed.statusText}\n`,
            );
          process.stdout.write(
            running.length === 0
              ? 'nothing running\n'
              : running
                  .map(
                    (a) =>
                      `running: ${a.type} ${a.aid} (pid ${a.pid}) since ${formatTime(a.start)}${a.percent !== null ? `, ${a.percent.toFixed(0)}% of ${formatBytes(Number(a.detail.totalBytes))}` : ''}`,
                  )
                  .join('\n') + '\n',
          );
        } finally {
          h.close();
        }
      }),
    );
}

function verifiedText(i: { verified: boolean; verifyDate: string | null } | undefined): string {
  if (!i || !i.verifyDate) return 'no';
  return `${i.verified ? 'passed' : 'FAILED'} ${formatTime(i.verifyDate)}`;
}

/**
 * The stored WAL segments per timeline with the gaps between them: from the catalog (what
 * is really stored), else from the history's records of archived files.
 */
async function archivedTimelines(
  cmd: CommandContext,
  server: string,
  recorded: readonly string[],
): Promise<{ runs: TimelineRun[]; source: 'catalog' | 'history' }> {
  let names: string[] = [...recorded];
  let size = DEFAULT_SEGMENT;
  let source: 'catalog' | 'history' = 'history';
  try {
    const sm = cmd.openStorage();
    try {
      const sets = await sm.query({ server, kind: SaveSetKind.wal });
      names = sets.map((x) => x.name);
      const seg = sets.map(segmentSizeOf).find((n) => n !== undefined);
      if (seg) size = seg;
      source = 'catalog';
    } finally {
      await sm.close();
    }
  } catch {
    // the catalog is gone or unreadable: the history's records stand in
  }
  return { runs: timelineRuns(names, (await loadEngine()).offline, size), source };
}

const DEFAULT_SEGMENT = 16 * 1024 * 1024;

/** The size of the WAL segment stored as `s`; undefined for another WAL file, or one whose meta does not decode (status shows what it can). */
function segmentSizeOf(s: SaveSetInfo): number | undefined {
  try {
    const m = decodeWal(s);
    return m.walKind === 'segment' && m.size >= 1 << 20 ? m.size : undefined;
  } catch (err) {
    if (isOpenbarError(err, 'FORMAT')) return undefined;
    throw err;
  }
}
