// WAL summaries in the Logs pool: one save set of kind `walsum` per summarized WAL file,
// under the file's name, stored with the file (or after it, when the file was stored
// without one). The engine makes and reads them; here they are only stored and found.
// A summary is worth nothing without its WAL file: one whose file is gone is not used.

import { isOpenbarError } from '../../common/errors.js';
import type { WalFileSummary, WalSummarizer } from '../../engine/engine.js';
import { readWhole, type Transaction } from '../../sm/storage-manager.js';
import type { BarContext } from '../bar-context.js';
import { SaveSetKind } from '../records/saveset-kinds.js';
import { decodeWalSummary, encodeWalSummary } from '../records/wal-summary-record.js';

/** The stored summary of WAL file `name`; undefined when the file or its summary is not in the Logs pool. */
export async function storedSummary(ctx: BarContext, name: string): Promise<Uint8Array | undefined> {
  const sets = await ctx.sm.query({ server: ctx.server, name });
  const wal = sets.find((s) => s.kind === SaveSetKind.wal);
  const sum = sets.findLast((s) => s.kind === SaveSetKind.walSummary);
  if (!wal || !sum) return undefined;
  return readWhole(ctx.sm, sum.id);
}

/** Whether WAL file `name` has a summary stored. */
export async function hasSummary(ctx: BarContext, name: string): Promise<boolean> {
  return (await ctx.sm.query({ server: ctx.server, kind: SaveSetKind.walSummary, name })).length > 0;
}

/**
 * Makes the summary of WAL file `name` (content `data`). Never fails the archiving: WAL
 * that cannot be summarized is logged and simply read when a backup needs it.
 */
export async function makeSummary(
  ctx: BarContext,
  summarizer: WalSummarizer,
  name: string,
  data: Uint8Array,
): Promise<WalFileSummary | undefined> {
  try {
    const r = await summarizer.summarize(name, data, (prev) => storedSummary(ctx, prev));
    if (!r) return undefined;
    if ('skipped' in r) {
      ctx.log.info(`log archive: ${name} not summarized (${r.skipped}); a level 1 or 2 reads it instead`);
      return undefined;
    }
    return r;
  } catch (err) {
    ctx.log.info(`log archive: ${name} not summarized (${(err as Error).message}); a level 1 or 2 reads it instead`);
    return undefined;
  }
}

/** Adds the summary to `txn`, as the save set stored with WAL file `name`. */
export async function writeSummary(
  ctx: BarContext,
  txn: Transaction,
  name: string,
  s: WalFileSummary,
  aid?: number,
): Promise<void> {
  // lastTransactionMs: where a restore to a time must read to (see log/wal-archive.ts)
  const w = await txn.createObject(
    encodeWalSummary(
      { pool: ctx.settings.log_pool, server: ctx.server, name },
      { aid, size: s.summary.length, lastTransactionMs: s.lastTransactionMs },
    ),
  );
  await w.write(s.summary);
  await w.close();
}

/**
 * When the last transaction ending in each summarized WAL file ended (ms, null for none);
 * files summarized before openbar recorded it are absent, and so are those whose summary's
 * meta cannot be read (logged): a route then runs on past them, as where no summary says.
 */
export async function transactionEnds(ctx: BarContext): Promise<Map<string, number | null>> {
  const out = new Map<string, number | null>();
  for (const s of await ctx.sm.query({ server: ctx.server, kind: SaveSetKind.walSummary })) {
    try {
      const t = decodeWalSummary(s).lastTransactionMs;
      if (t !== undefined) out.set(s.name, t);
    } catch (err) {
      if (!isOpenbarError(err, 'FORMAT')) throw err;
      ctx.log.warn(`${err.message}; the time its WAL file's transactions ended is not used`);
    }
  }
  return out;
}

/** Stores the summary of a WAL file stored earlier without one (by a backup, say). */
export async function storeSummary(ctx: BarContext, name: string, summary: WalFileSummary): Promise<number> {
  const txn = await ctx.sm.beginTransaction();
  try {
    await writeSummary(ctx, txn, name, summary);
    const [info] = await txn.commit();
    return info!.id;
  } catch (err) {
    await txn.abort().catch(() => {});
    throw err;
  }
}
