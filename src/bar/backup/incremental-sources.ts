// How the spaces of a level 1 or 2 backup find their changed pages (incremental_method):
// `wal` reads the block references of the archived WAL from the oldest base's start to
// this backup's start and fails when the WAL cannot tell; `scan` reads every page and
// compares its LSN; `auto` uses the WAL when it can and says when it cannot.

import { fail } from '../../common/errors.js';
import type { BackupHandle, EngineAdapter, IncrementalSource } from '../../engine/engine.js';
import type { BarContext } from '../bar-context.js';
import type { SpaceLevel } from './choose-bases.js';

export async function incrementalSources(ctx: BarContext, engine: EngineAdapter, aid: number, levels: readonly SpaceLevel[], handle: BackupHandle): Promise<Map<string, IncrementalSource>> {
  const out = new Map<string, IncrementalSource>();
  const inc = levels.filter((l) => l.level > 0 && l.base?.startLsn);
  if (inc.length === 0) return out;
  const wanted = ctx.settings.incremental_method;
  let method: 'wal' | 'scan' = wanted === 'scan' ? 'scan' : 'wal';
  let changes: IncrementalSource['changes'];
  if (method === 'wal') {
    const from = inc.map((l) => l.base!.startLsn!).sort((a, b) => engine.compareLsn(a, b))[0]!;
    const started = Date.now();
    const r = await engine.walChanges(from, handle.startLsn, handle.timeline, (name) => fetchWal(ctx, name));
    if ('incomplete' in r) {
      if (wanted === 'wal') fail('UNREACHABLE', `incremental_method = wal: ${r.incomplete}`, 'set incremental_method = scan (or auto) to read every page instead, or take a level 0');
      ctx.log.info(`backup ${aid}: ${r.incomplete}; finding changed pages by scanning instead`);
      method = 'scan';
    } else {
      changes = r.changes;
      ctx.log.info(`backup ${aid}: ${r.changes.blockCount} changed block(s) found in ${r.records} WAL record(s) (${r.walBytes} bytes) from ${from} to ${handle.startLsn} in ${Date.now() - started} ms`);
    }
  }
  for (const l of inc) out.set(l.space, { baseLsn: l.base!.startLsn!, method, ...(changes ? { changes } : {}) });
  return out;
}

/** A WAL file from the Logs pool, whole; undefined when it is not there. */
async function fetchWal(ctx: BarContext, name: string): Promise<Uint8Array | undefined> {
  const [s] = await ctx.sm.query({ server: ctx.server, kind: 'wal', name });
  if (!s) return undefined;
  const out = Buffer.allocUnsafe(s.rawBytes);
  let at = 0;
  for await (const c of ctx.sm.readChunks(s.id)) { c.copy(out, at); at += c.length; }
  return out.subarray(0, at);
}
