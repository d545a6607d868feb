// `openbar sm bootstrap`: saves the catalog as a bootstrap save set and prints the
// bootstrap record; `--recover RECORD` rebuilds a lost catalog from it.

import type { Command } from 'commander';
import { formatBootstrapRecord, parseBootstrapRecord, saveBootstrap } from '../../../sm/local/bootstrap.js';
import { recoverFromBootstrap } from '../../../sm/local/bootstrap-recovery.js';
import { action, jsonOption, subcommand, type Globals } from '../../command.js';
import { loadContext } from '../../context.js';
import { printJson } from '../../render.js';

export function register(sm: Command, globals: Globals): void {
  subcommand(
    sm,
    'bootstrap',
    'store a copy of the catalog in the Data pool and print the bootstrap record (keep it safe)',
  )
    .option('--recover <record>', 'recover a lost catalog from this bootstrap record')
    .option('--device <dir...>', 'with --recover: directories holding the volumes')
    .addOption(jsonOption())
    .action(
      action(async (opts: { recover?: string; device?: string[]; json?: boolean }) => {
        const ctx = loadContext(globals());
        if (opts.recover !== undefined) {
          const record = parseBootstrapRecord(opts.recover);
          const report = await recoverFromBootstrap(ctx.localOptions(), record, opts.device ?? []);
          if (opts.json) return printJson(report);
          process.stdout.write(
            `catalog recovered from bootstrap ${record.saveset} and ${report.volumes} volume(s): ${report.saveSets} save set(s)\n`,
          );
          return;
        }
        const sm = ctx.openStorage();
        try {
          const record = await saveBootstrap(sm, ctx.home, ctx.settings.data_pool);
          ctx.log.info(`bootstrap saved: ${formatBootstrapRecord(record)}`);
          if (opts.json) return printJson({ ...record, record: formatBootstrapRecord(record) });
          process.stdout.write(`${formatBootstrapRecord(record)}\n`);
        } finally {
          await sm.close();
        }
      }),
    );
}
