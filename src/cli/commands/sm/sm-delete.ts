// `openbar sm delete ID...`: removes save sets for good (a tombstone is written to a
// volume, so a catalog rebuild does not bring them back).

import type { Command } from 'commander';
import { fail } from '../../../common/errors.js';
import { action, subcommand, type Globals } from '../../command.js';
import { loadContext } from '../../context.js';

export function register(sm: Command, globals: Globals): void {
  subcommand(sm, 'delete <saveset-id...>', 'delete save sets (prefer `openbar expire`, which keeps what backups still need)')
    .action(action(async (idTexts: string[]) => {
      const ids = idTexts.map((t) => {
        const n = Number(t);
        if (!Number.isSafeInteger(n) || n <= 0) fail('USAGE', `'${t}' is not a save-set id`);
        return n;
      });
      const sm = loadContext(globals()).openStorage();
      try {
        for (const id of ids) if ((await sm.query({ id })).length === 0) fail('NOT_FOUND', `save set ${id} does not exist`);
        await sm.delete(ids);
        process.stdout.write(`deleted save set(s) ${ids.join(', ')}\n`);
      } finally {
        await sm.close();
      }
    }));
}
