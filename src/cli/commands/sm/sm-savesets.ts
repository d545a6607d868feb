// `openbar sm savesets`: the save sets in the catalog, filtered.

import type { Command } from 'commander';
import { SaveSetKind } from '../../../bar/records/saveset-kinds.js';
import { formatBytes, formatTime } from '../../../common/units.js';
import { action, jsonOption, subcommand, type Globals } from '../../command.js';
import { loadContext } from '../../context.js';
import { printJson, printTable } from '../../render.js';

export function register(sm: Command, globals: Globals): void {
  subcommand(sm, 'savesets', 'list save sets: id, pool, server, name, kind, level, sizes, volumes')
    .option('--pool <pool>', 'only this pool')
    .option('--server <server>', 'only this server')
    .option('--name <name>', 'only objects of this name')
    .option(
      '--kind <kind>',
      `only this kind (${[SaveSetKind.file, SaveSetKind.space, SaveSetKind.wal, SaveSetKind.bootstrap].join(', ')}, …)`,
    )
    .addOption(jsonOption())
    .action(
      action(async (opts: { pool?: string; server?: string; name?: string; kind?: string; json?: boolean }) => {
        const sm = loadContext(globals()).openStorage();
        try {
          const sets = await sm.query({
            ...(opts.pool ? { pool: opts.pool } : {}),
            ...(opts.server ? { server: opts.server } : {}),
            ...(opts.name ? { name: opts.name } : {}),
            ...(opts.kind ? { kind: opts.kind } : {}),
          });
          if (opts.json) return printJson(sets);
          printTable(
            sets,
            [
              { title: 'ID', value: (s) => s.id, right: true },
              { title: 'POOL', value: (s) => s.pool },
              { title: 'SERVER', value: (s) => s.server },
              { title: 'NAME', value: (s) => s.name },
              { title: 'KIND', value: (s) => s.kind },
              { title: 'LEVEL', value: (s) => s.level },
              { title: 'COMMITTED', value: (s) => formatTime(s.committed) },
              { title: 'SIZE', value: (s) => formatBytes(s.rawBytes), right: true },
              { title: 'STORED', value: (s) => formatBytes(s.storedBytes), right: true },
              { title: 'COMPRESSION', value: (s) => s.compression },
              { title: 'VOLUMES', value: (s) => s.volumes.join(',') },
            ],
            'no save sets',
          );
        } finally {
          await sm.close();
        }
      }),
    );
}
