// Makes sure a backup's WAL is durably in the Logs pool without waiting on the archiver:
// each file the pool lacks is stored from the server's WAL directory by this process, just
// as `log archive` would store it (the archiver pushing the same file later is a no-op).
// Never counts a file as stored that is not: a file no longer there is waited for instead.

import fsp from 'node:fs/promises';
import { isOpenbarError } from '../../common/errors.js';
import type { BarContext } from '../bar-context.js';
import { archiveWal } from './archive-wal.js';
import { waitForWal, walStored } from './wal-presence.js';

/**
 * `names` must be complete WAL files (a backup's, once backup mode has stopped). Stores
 * the missing ones itself; falls back to waiting for archive_command only for a file it
 * cannot read (already archived and recycled, or not readable by this user).
 */
export async function secureWal(
  ctx: BarContext,
  names: readonly string[],
  timeoutMs: number,
): Promise<{ stored: string[] }> {
  const engine = ctx.engine();
  const stored: string[] = [];
  const wait: string[] = [];
  for (const name of names) {
    if (await walStored(ctx, name)) continue;
    try {
      const r = await archiveWal(ctx, await engine.walFilePath(name));
      if (!r.already) stored.push(name);
    } catch (err) {
      // different content under the name is a real conflict, never papered over
      if (!isOpenbarError(err, 'NO_FILE')) throw err;
      wait.push(name);
    }
  }
  if (wait.length > 0) await waitForWal(ctx, wait, timeoutMs);
  return { stored };
}

/**
 * Reads WAL files a backup is going to store (the one holding its start) while its pages
 * are copied, so that storing them at the end finds them in the page cache. Best effort:
 * nothing is kept, nothing fails.
 */
export function warmWal(ctx: BarContext, names: readonly string[]): void {
  void (async () => {
    const buf = Buffer.allocUnsafe(1 << 20);
    for (const name of names) {
      const fh = await fsp.open(await ctx.engine().walFilePath(name), 'r').catch(() => undefined);
      if (!fh) continue;
      try {
        for (let at = 0; ; at += buf.length) if ((await fh.read(buf, 0, buf.length, at)).bytesRead < buf.length) break;
      } catch {
        // a file recycled meanwhile: nothing to warm
      } finally {
        await fh.close().catch(() => {});
      }
    }
  })().catch(() => {});
}
