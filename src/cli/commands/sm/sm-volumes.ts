// `openbar sm volumes` and `openbar sm label POOL`: labelled volumes and their state.

import type { Command } from 'commander';
import { formatBytes, formatTime } from '../../../common/units.js';
import { action, jsonOption, subcommand, type Globals } from '../../command.js';
import { loadContext } from '../../context.js';
import { printJson, printTable } from '../../render.js';

export function register(sm: Command, globals: Globals): void {
  subcommand(sm, 'volumes', 'list the volumes: pool, state (open, full, damaged), size, save sets')
    .option('--pool <pool>', 'only this pool')
    .addOption(jsonOption())
    .action(
      action(async (opts: { pool?: string; json?: boolean }) => {
        const sm = loadContext(globals()).openStorage();
        try {
          const vols = (await sm.volumes()).filter((v) => opts.pool === undefined || v.pool === opts.pool);
          if (opts.json) return printJson(vols);
          printTable(
            vols,
            [
              { title: 'VOLUME', value: (v) => v.label },
              { title: 'POOL', value: (v) => v.pool },
              { title: 'STATE', value: (v) => (v.mountedBy ? `${v.state}, mounted` : v.state) },
              { title: 'SIZE', value: (v) => formatBytes(v.size), right: true },
              { title: 'SAVE SETS', value: (v) => v.saveSets, right: true },
              { title: 'LABELLED', value: (v) => formatTime(v.created) },
              { title: 'CLOSED', value: (v) => (v.closed ? formatTime(v.closed) : null) },
              { title: 'PATH', value: (v) => v.path },
            ],
            'no volumes (a volume is labelled when a pool first needs one)',
          );
        } finally {
          await sm.close();
        }
      }),
    );

  subcommand(sm, 'label <pool>', 'label a new volume in POOL now (volumes are also labelled when needed)')
    .addOption(jsonOption())
    .action(
      action(async (pool: string, opts: { json?: boolean }) => {
        const sm = loadContext(globals()).openStorage();
        try {
          const v = await sm.labelVolume(pool);
          if (opts.json) return printJson(v);
          process.stdout.write(`labelled volume ${v.label} in pool ${v.pool}: ${v.path}\n`);
        } finally {
          await sm.close();
        }
      }),
    );
}
