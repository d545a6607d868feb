// `openbar sm pools` and `openbar sm pool create`: the volume pools (ISMData, ISMLogs).

import path from 'node:path';
import type { Command } from 'commander';
import { warnUser } from '../../../common/activity-log.js';
import { fail } from '../../../common/errors.js';
import { looseDirWarning } from '../../../common/private-modes.js';
import { parseSize, formatBytes } from '../../../common/units.js';
import type { Compression } from '../../../sm/storage-manager.js';
import { action, jsonOption, subcommand, type Globals } from '../../command.js';
import { loadContext } from '../../context.js';
import { printJson, printTable } from '../../render.js';

export function register(sm: Command, globals: Globals): void {
  subcommand(sm, 'pools', 'list the volume pools: device, volume size, retention, volumes held')
    .addOption(jsonOption())
    .action(
      action(async (opts: { json?: boolean }) => {
        const sm = loadContext(globals()).openStorage();
        try {
          const pools = await sm.pools();
          if (opts.json) return printJson(pools);
          printTable(
            pools,
            [
              { title: 'POOL', value: (p) => p.name },
              { title: 'VOLUMES', value: (p) => p.volumes, right: true },
              { title: 'SIZE', value: (p) => formatBytes(p.bytes), right: true },
              { title: 'VOLUME SIZE', value: (p) => formatBytes(p.maxVolumeSize), right: true },
              { title: 'RETENTION', value: (p) => (p.retentionDays === null ? null : `${p.retentionDays}d`) },
              { title: 'COMPRESSION', value: (p) => p.compression ?? 'default' },
              { title: 'DEVICE', value: (p) => p.device },
            ],
            'no pools',
          );
        } finally {
          await sm.close();
        }
      }),
    );

  const pool = sm.command('pool').description('manage pools');
  subcommand(pool, 'create <name>', 'create a pool on a local directory device')
    .option(
      '--device <dir>',
      "absolute path of the directory holding the pool's volumes (default HOME/volumes/NAME); made 0700",
    )
    .option('--max-volume-size <size>', 'close a volume and label the next at this size (e.g. 4GiB)')
    .option('--retention <days>', 'days a save set is kept by expire')
    .option('--compression <codec>', 'none, lz4 or zstd for save sets in this pool')
    .addOption(jsonOption())
    .action(
      action(
        async (
          name: string,
          opts: { device?: string; maxVolumeSize?: string; retention?: string; compression?: string; json?: boolean },
        ) => {
          const maxVolumeSize =
            opts.maxVolumeSize === undefined
              ? undefined
              : (parseSize(opts.maxVolumeSize) ??
                fail('USAGE', `--max-volume-size '${opts.maxVolumeSize}' is not a size`));
          const retention = opts.retention === undefined ? undefined : Number(opts.retention);
          if (retention !== undefined && (!Number.isInteger(retention) || retention < 0))
            fail('USAGE', `--retention '${opts.retention}' is not a number of days`);
          if (opts.compression !== undefined && !['none', 'lz4', 'zstd'].includes(opts.compression))
            fail('USAGE', `--compression must be none, lz4 or zstd`);
          // as --map-tablespace: a relative directory would depend on where the command ran
          if (opts.device !== undefined && !path.isAbsolute(opts.device)) {
            fail(
              'USAGE',
              `--device ${opts.device}: must be an absolute path`,
              `from this directory it would be ${path.resolve(opts.device)}`,
            );
          }
          const ctx = loadContext(globals());
          const sm = ctx.openStorage();
          try {
            const p = await sm.createPool({
              name,
              ...(opts.device ? { device: opts.device } : {}),
              ...(maxVolumeSize ? { maxVolumeSize } : {}),
              retentionDays: retention ?? null,
              compression: (opts.compression as Compression | undefined) ?? null,
            });
            const loose = looseDirWarning(p.device, `the device directory of pool ${p.name}`);
            if (loose) warnUser(ctx.log, loose);
            if (opts.json) return printJson(p);
            process.stdout.write(`pool ${p.name} created on ${p.device}\n`);
          } finally {
            await sm.close();
          }
        },
      ),
    );
}
