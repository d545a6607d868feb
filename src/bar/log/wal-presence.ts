// Whether WAL files are durably in the Logs pool: the condition for a backup to count.

import { fail } from '../../common/errors.js';
import type { BarContext } from '../bar-context.js';

export async function walStored(ctx: BarContext, name: string): Promise<boolean> {
  return (await ctx.sm.query({ server: ctx.server, kind: 'wal', name })).length > 0;
}

/** Waits until every file is stored (the archiver may still be at work), or fails naming the first missing one. */
export async function waitForWal(ctx: BarContext, names: readonly string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const name of names) {
    while (!(await walStored(ctx, name))) {
      if (Date.now() > deadline) {
        fail('PG', `WAL file ${name} did not reach the ${ctx.settings.log_pool} pool within ${Math.round(timeoutMs / 1000)} s`,
          'check archive_command and the PostgreSQL log (is archiving failing?)');
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
