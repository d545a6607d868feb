// `openbar expire (--generations N | --older-than TIME | --interval DURATION) [--force]
// [--dry-run] [--json]` (onsmsync): removes the backups and WAL a retention policy lets go.

import type { Command } from 'commander';
import { runExpire } from '../../bar/expire/expire.js';
import type { ExpirePolicy, PlannedBackup } from '../../bar/expire/expire-plan.js';
import type { OfflineEngine } from '../../engine/engine.js';
import { fail } from '../../common/errors.js';
import { formatBytes, formatTime, parseDuration } from '../../common/units.js';
import { action, jsonOption, subcommand, type Globals } from '../command.js';
import { openBar } from '../bar-setup.js';
import { loadContext, loadEngine } from '../context.js';
import { printJson, printTable } from '../render.js';

interface Opts {
  generations?: string;
  olderThan?: string;
  interval?: string;
  force?: boolean;
  dryRun?: boolean;
  json?: boolean;
}

export function register(program: Command, globals: Globals): void {
  subcommand(
    program,
    'expire',
    "delete backups and WAL a retention policy no longer needs (never a kept backup's base or WAL)",
  )
    .option('--generations <n>', 'keep the N newest level-0 backups of each space, with their level 1 and 2')
    .option(
      '--older-than <time>',
      "expire backups taken before TIME ('2026-11-01 00:00'), keeping what restores to TIME and later",
    )
    .option(
      '--interval <duration>',
      "expire backups older than DURATION ('14d', '12h'), keeping what restores within it",
    )
    .option('--force', 'also expire the newest level-0 backup when the policy says so')
    .option('--dry-run', 'list what would be expired; change nothing')
    .addOption(jsonOption())
    .addHelpText(
      'after',
      `
The newest level-0 backup of each space is always kept unless --force. WAL older than
the start of the oldest kept backup is deleted with it. With \`history = keep\` in the
config the history rows stay, marked expired; with \`purge\` (default) they go.
Volumes left holding no save set are recycled.`,
    )
    .action(
      action(async (opts: Opts) => {
        const policy = parsePolicy(opts, (await loadEngine()).offline);
        const cmd = loadContext(globals());
        const bar = await openBar(cmd, globals(), { history: opts.dryRun ? 'read' : 'write' });
        try {
          const r = await runExpire(bar, { policy, force: opts.force === true, dryRun: opts.dryRun === true });
          const p = r.plan;
          const row = (b: PlannedBackup) => ({
            backup: b.aid,
            level: b.level,
            time: b.time,
            spaces: b.spaces,
            saveSets: b.instances.flatMap((i) => i.copyIds),
            keptBecause: b.keptBecause ?? null,
          });
          if (opts.json) {
            return printJson({
              dryRun: r.dryRun,
              expired: p.expire.map(row),
              kept: p.keep.map(row),
              wal: {
                files: p.wal.length,
                first: p.wal[0]?.name ?? null,
                last: p.wal[p.wal.length - 1]?.name ?? null,
                keptFrom: p.walKeptFrom,
              },
              saveSets: r.deletedSaveSets,
              freedBytes: r.freedBytes,
            });
          }
          const verb = r.dryRun ? 'would expire' : 'expired';
          printTable(
            [
              ...p.expire.map((b) => ({ b, what: r.dryRun ? 'would expire' : 'expired' })),
              ...p.keep.map((b) => ({ b, what: `kept: ${b.keptBecause}` })),
            ].sort((a, b) => a.b.aid - b.b.aid),
            [
              { title: 'BACKUP', value: (x) => x.b.aid, right: true },
              { title: 'LEVEL', value: (x) => x.b.level },
              { title: 'TIME', value: (x) => formatTime(x.b.time) },
              { title: 'SPACES', value: (x) => x.b.spaces.join(',') },
              { title: 'ACTION', value: (x) => x.what },
            ],
            'no backups',
          );
          process.stdout.write(
            `WAL: ${p.wal.length === 0 ? 'nothing to expire' : `${verb} ${p.wal.length} file(s), ${p.wal[0]!.name} .. ${p.wal[p.wal.length - 1]!.name}`}\n`,
          );
          process.stdout.write(
            `${r.dryRun ? 'would delete' : 'deleted'} ${r.deletedSaveSets} save set(s), ${formatBytes(r.freedBytes)}${r.dryRun ? '; nothing changed (--dry-run)' : ''}\n`,
          );
        } finally {
          await bar.close();
        }
      }),
    );
}

function parsePolicy(o: Opts, offline: Pick<OfflineEngine, 'parseTime'>): ExpirePolicy {
  const given = [o.generations, o.olderThan, o.interval].filter((x) => x !== undefined).length;
  if (given !== 1) fail('USAGE', 'expire needs exactly one of --generations N, --older-than TIME, --interval DURATION');
  if (o.generations !== undefined) {
    if (!/^\d+$/.test(o.generations) || Number(o.generations) < 1)
      fail('USAGE', `--generations ${o.generations}: a whole number of at least 1`);
    return { kind: 'generations', count: Number(o.generations) };
  }
  if (o.olderThan !== undefined) {
    const ms =
      offline.parseTime(o.olderThan) ??
      fail(
        'USAGE',
        `--older-than '${o.olderThan}' is not a time`,
        "write it like '2026-11-22 03:00:00' or '2026-11-22T03:00:00Z'",
      );
    return { kind: 'before', ms };
  }
  const d =
    parseDuration(o.interval!) ??
    fail('USAGE', `--interval '${o.interval}' is not a duration`, "write it like '14d', '12h' or '90min'");
  return { kind: 'before', ms: Date.now() - d };
}
