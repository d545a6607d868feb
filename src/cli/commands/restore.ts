// `openbar restore --data-dir DIR [target] ...` (onbar -r): cold restore, then the start
// command it prints (`pg_ctl start -D DIR`, or -D the --config-dir) recovers to the target.

import path from 'node:path';
import type { Command } from 'commander';
import { fail } from '../../common/errors.js';
import { formatBytes, formatRate, formatTime } from '../../common/units.js';
import { runRestore } from '../../bar/restore/restore.js';
import { describeChain } from '../../bar/restore/backup-chain.js';
import { describeTarget } from '../../bar/restore/choose-backup.js';
import type { RecoveryTarget } from '../../engine/engine.js';
import { action, jsonOption, subcommand, type Globals } from '../command.js';
import { loadContext, loadEngine } from '../context.js';
import { openBar } from '../bar-setup.js';
import { printJson } from '../render.js';
import { openbarCommandLine, restoreCommandLine } from './init.js';

interface RestoreFlags {
  dataDir?: string;
  untilTime?: string;
  untilLsn?: string;
  untilXid?: string;
  untilName?: string;
  mapTablespace?: string[];
  salvage: boolean;
  restart?: boolean;
  plan?: boolean;
  json?: boolean;
  archiveMode: string;
  timeline?: string;
  acceptWalGap?: boolean;
  configDir?: string;
}

export function register(program: Command, globals: Globals): void {
  subcommand(
    program,
    'restore',
    'cold restore of the whole system into --data-dir, recovering to the target (latest by default)',
  )
    .option('--data-dir <dir>', 'directory to restore into (default: pg_data); no server may be running in it')
    .option('--until-time <time>', "recover to this time, e.g. '2026-11-22 14:05:00+00'")
    .option('--until-lsn <lsn>', 'recover to this WAL position, e.g. 0/5A000028')
    .option('--until-xid <xid>', 'recover to the commit of this transaction')
    .option('--until-name <name>', 'recover to this restore point (`openbar log mark`)')
    .option(
      '--map-tablespace <old=new>',
      'restore tablespace OLD (its name, oid or old location, as pg_basebackup -T OLDDIR=NEWDIR; \\= for an = in a path) into directory NEW (repeatable)',
      (v: string, p: string[] = []) => [...p, v],
    )
    .option('--no-salvage', 'do not save WAL from the old pg_wal before overwriting it')
    .option('--restart', 'resume an interrupted restore')
    .option('--plan', 'print the backup and WAL that would be used; change nothing')
    .option(
      '--archive-mode <mode>',
      'preserve: keep archive settings; off: the restored server does not archive (a copy: never salvaged from)',
      'preserve',
    )
    .option(
      '--timeline <n>',
      'follow this timeline (default: the newest that passes through a backup reaching the target)',
    )
    .option(
      '--accept-wal-gap',
      'when a WAL file before the target is missing or damaged, recover to the furthest point the WAL reaches instead of failing',
    )
    .option(
      '--config-dir <dir>',
      'write the configuration files the server kept outside its data directory (Debian: /etc/postgresql/N/NAME) here, set to use the restored data directory (default: into the restored data directory); never over existing files',
    )
    .addOption(jsonOption())
    .action(
      action(async (opts: RestoreFlags) => {
        const targets = [opts.untilTime, opts.untilLsn, opts.untilXid, opts.untilName].filter((x) => x !== undefined);
        if (targets.length > 1)
          fail('USAGE', 'give at most one of --until-time, --until-lsn, --until-xid, --until-name');
        if (!['preserve', 'off'].includes(opts.archiveMode)) fail('USAGE', '--archive-mode is preserve or off');
        const timeline = opts.timeline === undefined ? undefined : Number(opts.timeline);
        if (timeline !== undefined && (!Number.isSafeInteger(timeline) || timeline < 1))
          fail('USAGE', `--timeline ${opts.timeline} is not a timeline number`);
        const { offline } = await loadEngine();
        const target: RecoveryTarget =
          opts.untilTime !== undefined
            ? offline.parseTarget('time', opts.untilTime)
            : opts.untilLsn !== undefined
              ? offline.parseTarget('lsn', opts.untilLsn)
              : opts.untilXid !== undefined
                ? offline.parseTarget('xid', opts.untilXid)
                : opts.untilName !== undefined
                  ? offline.parseTarget('name', opts.untilName)
                  : { kind: 'latest' };
        const map = new Map<string, string>();
        for (const m of opts.mapTablespace ?? []) {
          // as pg_basebackup -T: the first '=' not written `\=` splits; `\=` is an '=' in a path
          const i = m.search(/(?<!\\)=/);
          const [old, dir] = i < 0 ? ['', ''] : [m.slice(0, i), m.slice(i + 1)].map((x) => x.replaceAll('\\=', '='));
          if (!old || !dir) fail('USAGE', `--map-tablespace ${m}: expected OLD=NEW`);
          if (!path.isAbsolute(dir!)) fail('USAGE', `--map-tablespace ${m}: NEW must be an absolute path`);
          map.set(old!, dir!);
        }
        if (opts.configDir !== undefined && !path.isAbsolute(opts.configDir))
          fail('USAGE', `--config-dir ${opts.configDir}: must be an absolute path`);
        const cmd = loadContext(globals());
        const dataDir =
          opts.dataDir ??
          cmd.settings.pg_data ??
          fail('USAGE', 'restore needs --data-dir DIR (or pg_data in the config)');
        const bar = await openBar(cmd, globals(), { history: 'read' });
        try {
          if (!bar.configFile)
            fail('USAGE', 'restore needs --config FILE', "the restored server's restore_command names it");
          const lines: string[] = [];
          const r = await runRestore(bar, {
            dataDir,
            target,
            tablespaceMap: map,
            salvage: opts.salvage,
            restart: opts.restart === true,
            planOnly: opts.plan === true,
            archiveMode: opts.archiveMode as 'preserve' | 'off',
            timeline,
            acceptWalGap: opts.acceptWalGap === true,
            restoreCommand: restoreCommandLine(openbarCommandLine(), bar.configFile),
            configDir: opts.configDir,
            report: (l) => lines.push(l),
          });
          const p = r.plan;
          if (opts.json) {
            return printJson({
              backup: p.backup.aid,
              level: p.backup.level,
              target: p.target,
              timeline: p.timeline,
              walFrom: p.walFrom,
              walTo: p.walTo,
              walFiles: p.walFiles,
              endsBefore: p.endsBefore ?? null,
              notes: p.notes,
              salvage: { files: p.salvage.files.map((f) => f.name), skipped: p.salvage.skipped },
              spaces: p.spaces,
              salvaged: r.salvaged,
              dataDir: r.dataDir,
              configDir: r.config?.configDir ?? opts.configDir ?? null,
              configFiles: r.config?.written ?? [],
              configInBackup: r.configFiles ?? [],
              startCommand: r.startCommand ?? null,
              bytes: r.bytes,
              ms: r.ms,
              plan: opts.plan === true,
            });
          }
          const salvage = p.salvage.files;
          const head = [
            `backup ${p.backup.aid} (level ${p.backup.level}, consistent at ${p.label.stopLsn}, ${formatTime(p.label.stopTime)})`,
            `WAL ${p.walFrom} .. ${p.walTo} (${p.walFiles} file(s)) present and intact on timeline ${p.timeline}; recovery to ${describeTarget(p.target)}`,
            ...(p.endsBefore
              ? [
                  p.endsBefore.targetBeyond || p.target.kind === 'latest'
                    ? `WARNING: WAL file ${p.endsBefore.name} ${p.endsBefore.why}: recovery ends at ${p.endsBefore.reached}, before the target (--accept-wal-gap)`
                    : `WARNING: WAL file ${p.endsBefore.name} ${p.endsBefore.why}: recovery ends at ${p.endsBefore.reached} at the latest; if ${describeTarget(p.target)} lies beyond it, PostgreSQL will stop with "recovery ended before configured recovery target was reached": then restore again with --accept-wal-gap and no target`,
                ]
              : []),
            ...p.notes.map((n) => `note: ${n}`),
            ...(salvage.length
              ? [
                  opts.plan
                    ? `salvage would store ${salvage.length} WAL file(s) from the old pg_wal: ${salvage.map((f) => f.name).join(' ')}`
                    : `salvaged ${r.salvaged.length} WAL file(s) from the old pg_wal: ${r.salvaged.join(' ')}`,
                ]
              : []),
            ...p.salvage.skipped.map((l) => `salvage: ${l}`),
            ...(r.configFiles?.length && opts.plan
              ? [
                  `configuration: ${r.configFiles.length} file(s) kept outside the data directory (${r.configFiles.join(' ')}), restored into ${opts.configDir ?? `${r.dataDir} (--config-dir to put them elsewhere)`}`,
                ]
              : []),
          ];
          if (opts.plan) {
            process.stdout.write(
              `${head.join('\n')}\n${p.spaces.map((s) => `${s.name.padEnd(12)} ${describeChain(s.levels)}`).join('\n')}\nnothing changed (--plan)\n`,
            );
            return;
          }
          process.stdout.write(
            `${head.join('\n')}\n${lines.join('\n')}\nrestored ${formatBytes(r.bytes)} in ${(r.ms / 1000).toFixed(1)} s (${formatRate(r.bytes, r.ms)})\nnext: ${r.startCommand ?? `pg_ctl start -D ${r.dataDir}`}\n`,
          );
        } finally {
          await bar.close();
        }
      }),
    );
}
