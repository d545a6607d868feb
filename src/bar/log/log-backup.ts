// `openbar log backup` (onbar -l): closes the current WAL segment and waits until it
// is in the Logs pool; `openbar log mark NAME`: a named restore point, recorded.

import { fail } from '../../common/errors.js';
import type { BarContext } from '../bar-context.js';
import { waitForWal } from './wal-presence.js';
import { walFileHash } from './archive-wal.js';

export async function logBackup(ctx: BarContext, timeoutMs = 120_000): Promise<{ walFile: string; lsn: string }> {
  const engine = ctx.engine();
  try {
    const info = await engine.describe();
    if (info.archiveMode === 'off')
      fail('PG', 'archive_mode is off', 'set archive_mode = on and archive_command as `openbar init` printed');
    const r = await engine.switchWal();
    // stored means stored with the server's content: a file of that name with other bytes is not it
    const hash = walFileHash(await engine.walFilePath(r.walFile));
    await waitForWal(ctx, [r.walFile], timeoutMs, hash !== undefined ? new Map([[r.walFile, hash]]) : undefined);
    ctx.log.info(`log backup: ${r.walFile} closed at ${r.lsn} and stored`);
    return r;
  } finally {
    await engine.close();
  }
}

export async function logMark(
  ctx: BarContext,
  name: string,
): Promise<{ lsn: string; time: string; xid: string; timeline: number }> {
  if (name.length === 0 || name.length > 63) fail('USAGE', `restore point name '${name}' must be 1 to 63 characters`);
  const engine = ctx.engine();
  // the server is asked first: one openbar does not support gets no history action
  await engine.describe().catch(async (err: unknown) => {
    await engine.close();
    throw err;
  });
  const aid = ctx.history.beginAction('mark', null, { name });
  try {
    const p = await engine.createRestorePoint(name);
    ctx.history.recordMark(aid, { name, lsn: p.lsn, time: p.time, xid: p.xid, timeline: p.timeline });
    ctx.log.info(`log mark: restore point '${name}' at ${p.lsn} (${p.time})`);
    return p;
  } catch (err) {
    ctx.history.endAction(aid, 1, (err as Error).message);
    throw err;
  } finally {
    await engine.close();
  }
}
