// `openbar sync [--rebuild-boot-file | --rebuild-history | --from-storage] [--json]`
// (onsmsync): makes history, boot file and storage manager agree, or rebuilds one from another.

import type { Command } from 'commander';
import { rebuildFromStorage, reconcile } from '../../bar/sync/sync.js';
import { warnUser } from '../../common/activity-log.js';
import { fail } from '../../common/errors.js';
import { checkName } from '../../common/names.js';
import { BackupHistory } from '../../history/backup-history.js';
import { rebuildHistoryFromBootFiles, replaceBootFile } from '../../history/history-rebuild.js';
import { action, jsonOption, subcommand, type Globals } from '../command.js';
import { openBar } from '../bar-setup.js';
import { loadContext } from '../context.js';
import { printJson } from '../render.js';

interface Opts {
  rebuildBootFile?: boolean;
  rebuildHistory?: boolean;
  fromStorage?: boolean;
  json?: boolean;
}

export function register(program: Command, globals: Globals): void {
  subcommand(
    program,
    'sync',
    'reconcile the history, the boot file and the storage manager, or rebuild one from another',
  )
    .option('--rebuild-boot-file', "rewrite this server's boot file from the history")
    .option('--rebuild-history', 'rebuild the history (history.db) from the boot files')
    .option('--from-storage', 'rebuild the history and every boot file from the save sets alone')
    .addOption(jsonOption())
    .addHelpText(
      'after',
      `
With no flag: boot-file lines missing from the history are added to it, history
instances missing from the boot file are appended to it, and the records of save sets
that are gone from the storage manager are dropped from both. A file that a rebuild
replaces is kept beside it as NAME.replaced-TIME.`,
    )
    .action(
      action(async (opts: Opts) => {
        const modes = [opts.rebuildBootFile, opts.rebuildHistory, opts.fromStorage].filter(Boolean).length;
        if (modes > 1) fail('USAGE', 'choose one of --rebuild-boot-file, --rebuild-history, --from-storage');
        const cmd = loadContext(globals());
        const server = checkName('server', cmd.settings.server);
        const out = (json: unknown, text: string): void => {
          if (opts.json) printJson(json);
          else process.stdout.write(`${text}\n`);
        };

        if (opts.rebuildHistory) {
          const r = rebuildHistoryFromBootFiles(cmd.home, (b) =>
            warnUser(cmd.log, `${b.file} line ${b.line}: ${b.why}; the line is skipped`),
          );
          cmd.log.info(
            `sync: history rebuilt from the boot file(s) of ${r.servers.join(', ') || 'no server'}: ${r.instances} instance(s)${r.aside ? `; previous history kept as ${r.aside}` : ''}`,
          );
          return out(
            r,
            `history rebuilt from ${r.servers.length} boot file(s): ${r.instances} instance(s)${r.aside ? `\nprevious history kept as ${r.aside}` : ''}`,
          );
        }
        if (opts.fromStorage) {
          const sm = cmd.openStorage();
          try {
            const r = await rebuildFromStorage(cmd.home, sm);
            cmd.log.info(
              `sync: history and boot file(s) rebuilt from the storage manager: ${r.backups} backup(s), ${r.walFiles} WAL file(s)${r.incomplete.length ? `; skipped: ${r.incomplete.join('; ')}` : ''}`,
            );
            return out(
              r,
              [
                `rebuilt from the save sets: ${r.backups} backup(s), ${r.walFiles} WAL file(s), server(s) ${r.servers.join(', ') || 'none'}`,
                ...r.incomplete.map((i) => `skipped ${i}`),
                ...(r.historyAside ? [`previous history kept as ${r.historyAside}`] : []),
                'restore points (openbar log mark) are not in the save sets: they are not rebuilt',
              ].join('\n'),
            );
          } finally {
            await sm.close();
          }
        }
        if (opts.rebuildBootFile) {
          const h = BackupHistory.open(cmd.home, server, { create: false, log: cmd.log });
          try {
            if (!h.hasDatabase)
              fail(
                'NOT_INITIALISED',
                `no backup history in ${cmd.home} to rebuild the boot file from`,
                'run `openbar sync --from-storage` to rebuild both from the save sets',
              );
            const lines = h.bootLinesFromDatabase();
            const aside = replaceBootFile(cmd.home, server, lines);
            cmd.log.info(
              `sync: boot file ${h.bootFile} rebuilt from the history: ${lines.length} line(s)${aside ? `; previous kept as ${aside}` : ''}`,
            );
            return out(
              { bootFile: h.bootFile, lines: lines.length, aside: aside ?? null },
              `boot file ${h.bootFile} rebuilt: ${lines.length} line(s)${aside ? `\nprevious boot file kept as ${aside}` : ''}`,
            );
          } finally {
            h.close();
          }
        }
        const bar = await openBar(cmd, globals());
        try {
          const r = await reconcile(bar);
          return out(
            r,
            `${r.addedToHistory} instance(s) added to the history, ${r.addedToBootFile} line(s) added to the boot file, ${r.dropped.length} record(s) of missing save sets dropped` +
              r.dropped
                .map((d) => `\n  dropped: action ${d.action} ${d.object} (save set(s) ${d.copyIds.join(',')})`)
                .join(''),
          );
        } finally {
          await bar.close();
        }
      }),
    );
}
