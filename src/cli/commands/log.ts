// `openbar log archive|restore|backup|mark` — WAL (logical-log) backup.

import fs from 'node:fs';
import type { Command } from 'commander';
import { archiveWal, restoreWal } from '../../bar/log/archive-wal.js';
import { logBackup, logMark } from '../../bar/log/log-backup.js';
import { action, jsonOption, subcommand, type Globals } from '../command.js';
import { loadContext } from '../context.js';
import { openBar } from '../bar-setup.js';
import { printJson } from '../render.js';
import { ExitStatus } from '../../common/errors.js';

export function register(program: Command, globals: Globals): void {
  const log = program
    .command('log')
    .description('WAL backup: archive_command, restore_command, switch and store, restore points');

  subcommand(
    log,
    'archive <path>',
    "archive_command = 'openbar --config F log archive %p': store one WAL file durably",
  ).action(
    action(async (file: string) => {
      const bar = await openBar(loadContext(globals()), globals());
      try {
        await archiveWal(bar, file, bar.settings.wal_summaries === 'on' ? { summarizer: bar.summarizer } : {});
      } finally {
        await bar.close();
      }
    }),
  );

  subcommand(
    log,
    'restore <name> <dest>',
    "restore_command = 'openbar --config F log restore %f %p': exits 1 quietly when the file is not stored, 255 when it is stored but cannot be served (PostgreSQL then stops recovery instead of taking it for the end of the WAL; a standby gets 1 and retries)",
  )
    .option(
      '--before <wal>',
      'answer "not stored" for segments from this one on (a restore that accepted a gap in the WAL ends recovery there)',
    )
    .action(async (name: string, dest: string, opts: { before?: string }) => {
      // any failure but "not stored" must stop recovery: exit 1 would end it here, and
      // the server would promote short of its target with committed data missing
      let notStored = false;
      await action(async () => {
        const bar = await openBar(loadContext(globals()), globals(), { history: 'read' });
        try {
          notStored = !(await restoreWal(bar, name, dest, opts.before));
        } finally {
          await bar.close();
        }
      })();
      // a standby (PostgreSQL runs restore_command in the data directory) never ends
      // recovery on "not stored": it retries and streams, so a passing failure must not stop it
      const standby = fs.existsSync('standby.signal');
      process.exitCode = notStored ? 1 : process.exitCode === 0 ? 0 : standby ? 1 : ExitStatus.recoveryMustStop;
    });

  subcommand(log, 'backup', 'close the current WAL segment and wait until it is stored')
    .addOption(jsonOption())
    .action(
      action(async (opts: { json?: boolean }) => {
        const bar = await openBar(loadContext(globals()), globals());
        try {
          const r = await logBackup(bar);
          if (opts.json) return printJson(r);
          process.stdout.write(`WAL ${r.walFile} closed at ${r.lsn} and stored\n`);
        } finally {
          await bar.close();
        }
      }),
    );

  subcommand(log, 'mark <name>', 'create a named restore point (restore --until-name NAME)')
    .addOption(jsonOption())
    .action(
      action(async (name: string, opts: { json?: boolean }) => {
        const bar = await openBar(loadContext(globals()), globals());
        try {
          const r = await logMark(bar, name);
          if (opts.json) return printJson({ name, ...r });
          process.stdout.write(`restore point '${name}' at ${r.lsn}\n`);
        } finally {
          await bar.close();
        }
      }),
    );
}
