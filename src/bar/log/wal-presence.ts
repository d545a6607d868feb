// Whether WAL files are durably in the Logs pool: the condition for a backup to count.

import { fail } from '../../common/errors.js';
import type { BarContext } from '../bar-context.js';
import { SaveSetKind } from '../records/saveset-kinds.js';
import { decodeWal } from '../records/wal-record.js';

export async function walStored(ctx: BarContext, name: string): Promise<boolean> {
  return (await ctx.sm.query({ server: ctx.server, kind: SaveSetKind.wal, name })).length > 0;
}

/** Whether `name` is stored (with content `hash`, when given); fails when it is stored with other content only. */
async function storedAs(ctx: BarContext, name: string, hash: string | undefined): Promise<boolean> {
  const sets = await ctx.sm.query({ server: ctx.server, kind: SaveSetKind.wal, name });
  if (hash === undefined || sets.length === 0) return sets.length > 0;
  if (sets.some((s) => decodeWal(s).contentHash === hash)) return true;
  fail(
    'CONFLICT',
    `WAL file ${name} is stored (save set ${sets[0]!.id}) with other content than the server's: archiving it fails and pg_wal grows`,
    `look at it with \`openbar sm extract ${sets[0]!.id}\`; if it is not this cluster's, remove it with \`openbar sm delete ${sets[0]!.id}\` and archiving resumes`,
  );
}

/**
 * Waits until every file is stored (the archiver may still be at work), or fails naming
 * the first missing one. `hashes`: the content a file must be stored with (the server's
 * copy of it); a file stored with other content fails at once, it will never be stored.
 */
export async function waitForWal(
  ctx: BarContext,
  names: readonly string[],
  timeoutMs: number,
  hashes?: ReadonlyMap<string, string>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const name of names) {
    while (!(await storedAs(ctx, name, hashes?.get(name)))) {
      if (Date.now() > deadline) {
        fail(
          'PG',
          `WAL file ${name} did not reach the ${ctx.settings.log_pool} pool within ${Math.round(timeoutMs / 1000)} s`,
          'check archive_command and the PostgreSQL log (is archiving failing?)',
        );
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
