// `openbar sm delete ID...`: removes save sets for good (a tombstone is written to a
// volume, so a catalog rebuild does not bring them back).

import type { Command } from 'commander';
import fs from 'node:fs';
import { fail } from '../../../common/errors.js';
import { HistoryDb } from '../../../history/history-db.js';
import { historyPath } from '../../../history/backup-history.js';
import { action, subcommand, type Globals } from '../../command.js';
import { loadContext } from '../../context.js';

export function register(sm: Command, globals: Globals): void {
  subcommand(
    sm,
    'delete <saveset-id...>',
    'delete save sets (prefer `openbar expire`, which keeps what backups still need)',
  )
    .option('--force', 'delete even save sets that recorded backups still need')
    .action(
      action(async (idTexts: string[], opts: { force?: boolean }) => {
        const ids = idTexts.map((t) => {
          const n = Number(t);
          if (!Number.isSafeInteger(n) || n <= 0) fail('USAGE', `'${t}' is not a save-set id`);
          return n;
        });
        const ctx = loadContext(globals());
        const sm = ctx.openStorage();
        try {
          for (const id of ids)
            if ((await sm.query({ id })).length === 0) fail('NOT_FOUND', `save set ${id} does not exist`);
          if (!opts.force && fs.existsSync(historyPath(ctx.home))) {
            const db = HistoryDb.open(historyPath(ctx.home), { create: false });
            try {
              const used = db.instances().filter((i) => i.copyIds.some((c) => ids.includes(c)));
              if (used.length > 0) {
                fail(
                  'USAGE',
                  `save set(s) ${[...new Set(used.flatMap((i) => i.copyIds.filter((c) => ids.includes(c))))].join(', ')} hold backup ${used[0]!.aid} (${used[0]!.object}) of server ${used[0]!.server}`,
                  'use `openbar expire` to drop backups safely, or --force',
                );
              }
            } finally {
              db.close();
            }
          }
          await sm.delete(ids);
          process.stdout.write(`deleted save set(s) ${ids.join(', ')}\n`);
        } finally {
          await sm.close();
        }
      }),
    );
}
