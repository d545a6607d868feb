#!/usr/bin/env node
// openbar: the command table. Commands live one per file under commands/; this file
// only wires them, with global flags and exit statuses.

import { Command, CommanderError } from 'commander';
import { exitCodesHelp, reportError } from './command.js';
import type { GlobalFlags } from './context.js';
import * as init from './commands/init.js';
import * as smPools from './commands/sm/sm-pools.js';
import * as smVolumes from './commands/sm/sm-volumes.js';
import * as smSavesets from './commands/sm/sm-savesets.js';
import * as smStore from './commands/sm/sm-store.js';
import * as smExtract from './commands/sm/sm-extract.js';
import * as smScan from './commands/sm/sm-scan.js';
import * as smBootstrap from './commands/sm/sm-bootstrap.js';
import * as smWatch from './commands/sm/sm-watch.js';
import * as smDelete from './commands/sm/sm-delete.js';
import * as demo from './commands/demo.js';
import * as config from './commands/config.js';
import * as backup from './commands/backup.js';
import * as restore from './commands/restore.js';
import * as log from './commands/log.js';
import * as history from './commands/history.js';
import * as status from './commands/status.js';
import * as expire from './commands/expire.js';
import * as sync from './commands/sync.js';
import * as verify from './commands/verify.js';

export function buildProgram(): Command {
  const program = new Command('openbar')
    .description('online backup and restore for PostgreSQL: levels 0/1/2, WAL backup, point-in-time restore, storage manager')
    .option('-c, --config <file>', 'config file (or OPENBAR_CONFIG)')
    .option('--set <key=value>', 'override a setting for this run, repeatable (see `openbar config --describe`)', (v: string, prev: string[] = []) => [...prev, v])
    .addHelpText('after', exitCodesHelp)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({
      outputError: (str, write) => write(`openbar: ${str.replace(/^error: /, '').trim()}\n`),
    });
  const globals = (): GlobalFlags => program.opts<GlobalFlags>();

  init.register(program, globals);
  demo.register(program, globals);
  backup.register(program, globals);
  restore.register(program, globals);
  log.register(program, globals);
  history.register(program, globals);
  status.register(program, globals);
  expire.register(program, globals);
  sync.register(program, globals);
  verify.register(program, globals);

  const sm = program.command('sm').description('the storage manager: pools, volumes, save sets, catalog, bootstrap');
  smPools.register(sm, globals);
  smVolumes.register(sm, globals);
  smSavesets.register(sm, globals);
  smStore.register(sm, globals);
  smExtract.register(sm, globals);
  smScan.register(sm, globals);
  smBootstrap.register(sm, globals);
  smWatch.register(sm, globals);
  smDelete.register(sm, globals);

  config.register(program, globals);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  // `openbar sm savesets | head`: a reader that goes away is not an error
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  // Ctrl-C / SIGTERM: stop with the conventional status; transactions left open are
  // found stale and cut back by the next openbar that mounts their volumes
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      process.stderr.write(`openbar: interrupted (${sig})\n`);
      process.exit(sig === 'SIGINT' ? 130 : 143);
    });
  }
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      return;
    }
    reportError(err);
  }
}

await main(process.argv);
