// `openbar history [--json]`: every backup, restore and WAL action (bar_action) with
// the instances it produced (bar_instance).

import type { Command } from 'commander';
import { fail } from '../../common/errors.js';
import { formatTime } from '../../common/units.js';
import { HistoryDb } from '../../history/history-db.js';
import { historyPath } from '../../history/backup-history.js';
import { action, jsonOption, subcommand, type Globals } from '../command.js';
import { loadContext } from '../context.js';
import { printJson, printTable } from '../render.js';
import fs from 'node:fs';

export function openHistory(home: string): HistoryDb {
  const file = historyPath(home);
  if (!fs.existsSync(file))
    fail(
      'NOT_INITIALISED',
      `no backup history in ${home}`,
      'run `openbar sync --rebuild-history` to rebuild it from the boot file',
    );
  return HistoryDb.open(file, { create: false });
}

export function register(program: Command, globals: Globals): void {
  subcommand(program, 'history', 'list backup, restore and log actions (bar_action) and their instances (bar_instance)')
    .option('--all', 'include each WAL file archived (one action per file)')
    .addOption(jsonOption())
    .action(
      action(async (opts: { all?: boolean; json?: boolean }) => {
        const cmd = loadContext(globals());
        const db = openHistory(cmd.home);
        try {
          const server = cmd.settings.server;
          const actions = db.actions({ server }).filter((a) => opts.all || a.type !== 'log-backup');
          const instances = db.instances({ server, includeExpired: true });
          if (opts.json)
            return printJson(actions.map((a) => ({ ...a, instances: instances.filter((i) => i.aid === a.aid) })));
          printTable(
            actions,
            [
              { title: 'ID', value: (a) => a.aid, right: true },
              { title: 'ACTION', value: (a) => a.type },
              { title: 'LEVEL', value: (a) => a.level },
              { title: 'STARTED', value: (a) => formatTime(a.start) },
              { title: 'ENDED', value: (a) => (a.end ? formatTime(a.end) : null) },
              {
                title: 'STATUS',
                value: (a) =>
                  a.status === 0 ? 'ok' : a.status === -1 ? 'running or killed' : `failed: ${a.statusText ?? a.status}`,
              },
              {
                title: 'DETAIL',
                value: (a) =>
                  detailOf(
                    a.type,
                    a.detail,
                    instances.filter((i) => i.aid === a.aid),
                  ),
              },
            ],
            'no actions recorded',
          );
        } finally {
          db.close();
        }
      }),
    );
}

function detailOf(
  type: string,
  d: Record<string, unknown>,
  inst: { object: string; copyIds: number[]; expired: boolean }[],
): string {
  const expired = inst.length > 0 && inst.every((i) => i.expired) ? ' (expired)' : '';
  if (type === 'backup')
    return inst.length
      ? `${inst
          .filter((i) => i.object !== 'backup_label')
          .map((i) => i.object)
          .join(',')} ${d.startLsn ?? ''}..${d.stopLsn ?? ''}${expired}`
      : String(d.spaces ?? '');
  if (type === 'expire')
    return `backup(s) ${(d.expired as number[] | undefined)?.join(',') || 'none'}, ${d.walFiles ?? 0} WAL file(s)`;
  if (type === 'log-backup' || type === 'salvage') return `${String(d.name ?? '')}${expired}`;
  if (type === 'mark') return `'${d.name}' at ${d.lsn ?? '?'}`;
  if (type === 'restore') return `backup ${d.backup} into ${d.dataDir}, ${d.target}`;
  return '';
}
