// `openbar init`: writes the config file, creates the home (catalogs, the Data and
// Logs pools, the boot file) and prints the postgresql.conf lines that hand WAL to openbar.
// Everything it makes is private (0700/0600); a home it finds open to others is said.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { renderConfigFile } from '../../common/config.js';
import { writeFileAtomicSync } from '../../common/durable-fs.js';
import { fail } from '../../common/errors.js';
import { checkName } from '../../common/names.js';
import { PRIVATE_FILE_MODE } from '../../common/private-modes.js';
import type { OptionName } from '../../common/options.js';
import { BackupHistory } from '../../history/backup-history.js';
import { action, subcommand, type Globals } from '../command.js';
import { DEFAULT_CONFIG } from '../config-file.js';
import { loadContext, parseSetFlags } from '../context.js';

export interface InitOptions {
  readonly home: string;
  readonly server?: string;
  readonly pgData?: string;
  readonly pgHost?: string;
  readonly pgPort?: string;
  readonly pgUser?: string;
  readonly force?: boolean;
}

/** The path of this openbar executable, as archive_command must name it. */
export function openbarExecutable(): string {
  return fs.realpathSync(process.argv[1]!);
}

/**
 * Why archive_command would break if openbar is run from `exe`: a file inside a git
 * checkout (moved, pulled or deleted with it) or a temporary directory; none for an install.
 */
export function unstableInstall(exe: string, tmp: string = os.tmpdir()): string[] {
  const fix = 'install openbar (npm install -g of the packed project) and run init again with that openbar';
  for (let dir = path.dirname(exe); dir !== path.dirname(dir); dir = path.dirname(dir))
    if (fs.existsSync(path.join(dir, '.git')))
      return [
        `archive_command names openbar at ${exe}, inside the git checkout ${dir}: moving or removing it stops archiving: ${fix}`,
      ];
  const inTmp = [tmp, '/tmp', '/var/tmp'].find((t) => exe.startsWith(`${path.resolve(t)}/`));
  if (inTmp) return [`archive_command names openbar at ${exe}, in the temporary directory ${inTmp}: ${fix}`];
  return [];
}

/** The command line that runs this openbar, with the node binary named (the server's PATH may lack it). */
export function openbarCommandLine(): string {
  return `${process.execPath} ${openbarExecutable()}`;
}

/** The restore_command a restored server runs; `before`: recovery ends before this WAL file (--accept-wal-gap). */
export function restoreCommandLine(exe: string, configFile: string): (before?: string) => string {
  return (before) => `${exe} --config ${configFile} log restore${before ? ` --before ${before}` : ''} %f %p`;
}

export function walCommands(configFile: string): { archive: string; restore: string } {
  const exe = openbarCommandLine();
  return {
    archive: `archive_command = '${exe} --config ${configFile} log archive %p'`,
    restore: `restore_command = '${exe} --config ${configFile} log restore %f %p'`,
  };
}

export function register(program: Command, globals: Globals): void {
  subcommand(program, 'init', 'write the config file and create the home: catalogs, Data and Logs pools, boot file')
    .requiredOption('--home <dir>', 'the openbar home (catalogs, boot files, activity log, default volumes)')
    .option('--server <name>', 'name of this database server (default: the host name)')
    .option('--pg-data <dir>', 'the PostgreSQL data directory')
    .option('--pg-host <socket-dir>', 'socket directory or host of the server')
    .option('--pg-port <n>', 'port of the server')
    .option('--pg-user <user>', 'user to connect as')
    .option('--force', 'overwrite an existing config file')
    .action(
      action(async (opts: InitOptions) => {
        const file = globals().config ?? process.env.OPENBAR_CONFIG;
        if (!file)
          fail(
            'USAGE',
            'init needs --config FILE (the config file to write)',
            `${DEFAULT_CONFIG} is the one every command reads when none is given`,
          );
        const configFile = path.resolve(file);
        if (fs.existsSync(configFile) && !opts.force)
          fail('USAGE', `config file ${configFile} exists`, 'use --force to overwrite it');
        if (opts.server !== undefined) checkName('server', opts.server);
        const values: Partial<Record<OptionName, string>> = {
          ...(parseSetFlags(globals().set) as Partial<Record<OptionName, string>>),
          home: path.resolve(opts.home),
        };
        if (opts.server) values.server = opts.server;
        if (opts.pgData) values.pg_data = path.resolve(opts.pgData);
        if (opts.pgHost) values.pg_host = opts.pgHost;
        if (opts.pgPort) values.pg_port = opts.pgPort;
        if (opts.pgUser) values.pg_user = opts.pgUser;
        const text = renderConfigFile(values);
        // validate before anything is written: the same loader every command uses
        const tmp = `${configFile}.check-${process.pid}`;
        try {
          fs.mkdirSync(path.dirname(configFile), { recursive: true }); // outside the home: e.g. /etc/openbar, read by postgres
          fs.writeFileSync(tmp, text, { mode: PRIVATE_FILE_MODE });
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code !== 'EACCES' && code !== 'EPERM') throw err;
          const dir = path.dirname(configFile);
          const me = os.userInfo().username;
          fail(
            'CONFIG',
            `cannot write the config file ${configFile}: ${me} may not ${fs.existsSync(dir) ? 'write into' : 'create'} ${dir}`,
            `as root: install -d -m 0700 -o ${me} -g ${me} ${dir}, then run init again as ${me}`,
          );
        }
        try {
          loadContext({ config: tmp });
        } finally {
          fs.rmSync(tmp, { force: true });
        }
        writeFileAtomicSync(configFile, text);
        const ctx = loadContext({ config: configFile });
        const sm = ctx.createStorage();
        const pools = await sm.pools();
        await sm.close();
        BackupHistory.open(ctx.home, checkName('server', ctx.settings.server), { create: true, log: ctx.log }).close();
        ctx.log.info(`openbar home initialised in ${ctx.home} for server ${ctx.settings.server}`);
        const wal = walCommands(configFile);
        process.stdout.write(
          [
            `wrote ${configFile}`,
            `home ${ctx.home}: pools ${pools.map((p) => p.name).join(', ')}`,
            '',
            'Add these lines to postgresql.conf (archive_mode = on needs a restart):',
            '  archive_mode = on',
            `  ${wal.archive}`,
            `  ${wal.restore}`,
            '',
            ...unstableInstall(openbarExecutable()).map((w) => `warning: ${w}\n`),
            ...(process.getuid?.() === 0
              ? [
                  `note: the home belongs to root; archive_command runs as the PostgreSQL user: chown -R postgres: ${ctx.home} ${configFile}`,
                  '',
                ]
              : []),
          ].join('\n'),
        );
      }),
    );
}
