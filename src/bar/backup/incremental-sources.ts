// How the spaces of a level 1 or 2 backup find their changed pages (incremental_method):
// `wal` reads the block references of the archived WAL from the oldest base's start to
// this backup's start and fails when the WAL cannot tell; `scan` reads every page and
// compares its LSN; `auto` uses the WAL when it can and says when it cannot.
// The WAL is read from before backup mode starts (`startWalReading`): the checkpoint
// backup mode waits for and the parse then run at the same time.

import { fail } from '../../common/errors.js';
import type { BackupHandle, EngineAdapter, IncrementalSource, WalChangesReading } from '../../engine/engine.js';
import type { HistoryInstance } from '../../history/backup-history.js';
import type { BarContext } from '../bar-context.js';
import { chooseBases, type SpaceLevel } from './choose-bases.js';

/** The WAL read ahead of backup mode, from the start of the base the spaces are expected to build on. */
export interface EarlyWal {
  readonly from: string;
  readonly timeline: number;
  readonly reading: WalChangesReading;
  readonly started: number;
}

export async function startWalReading(ctx: BarContext, engine: EngineAdapter, spaces: readonly string[], level: number): Promise<EarlyWal | undefined> {
  if (level === 0 || ctx.settings.incremental_method === 'scan') return undefined;
  const levels = await chooseBases(ctx.sm, ctx.history.instances(), spaces, level, undefined);
  const oldest = oldestBase(engine, levels);
  if (!oldest || oldest.timeline === null) return undefined;
  return { from: oldest.startLsn!, timeline: oldest.timeline, reading: await engine.walChanges(oldest.startLsn!, oldest.timeline, (name) => fetchWal(ctx, name)), started: Date.now() };
}

export async function incrementalSources(ctx: BarContext, engine: EngineAdapter, aid: number, levels: readonly SpaceLevel[], handle: BackupHandle, early: EarlyWal | undefined): Promise<Map<string, IncrementalSource>> {
  const out = new Map<string, IncrementalSource>();
  const inc = levels.filter((l) => l.level > 0 && l.base?.startLsn);
  const oldest = oldestBase(engine, levels);
  // read ahead from another base or timeline than the one chosen now: of no use
  const reading = early && oldest && early.from === oldest.startLsn && early.timeline === handle.timeline ? early : undefined;
  if (early && !reading) early.reading.abort();
  if (inc.length === 0) return out;
  const wanted = ctx.settings.incremental_method;
  let method: 'wal' | 'scan' = wanted === 'scan' ? 'scan' : 'wal';
  let changes: IncrementalSource['changes'];
  if (method === 'wal') {
    const from = oldest!.startLsn!;
    const started = reading?.started ?? Date.now();
    const r = await (reading?.reading ?? await engine.walChanges(from, handle.timeline, (name) => fetchWal(ctx, name))).finish(handle.startLsn);
    if ('incomplete' in r) {
      if (wanted === 'wal') fail('UNREACHABLE', `incremental_method = wal: ${r.incomplete}`, 'set incremental_method = scan (or auto) to read every page instead, or take a level 0');
      ctx.log.info(`backup ${aid}: ${r.incomplete}; finding changed pages by scanning instead`);
      method = 'scan';
    } else {
      changes = r.changes;
      ctx.log.info(`backup ${aid}: ${r.changes.blockCount} changed block(s) found in ${r.records} WAL record(s) (${r.walBytes} bytes) from ${from} to ${handle.startLsn} in ${Date.now() - started} ms`);
    }
  }
  const instances = method === 'wal' ? ctx.history.instances() : [];
  for (const l of inc) {
    const unchangedBefore = method === 'wal' ? await baseReadFrom(ctx, instances, l.base!.action) : undefined;
    out.set(l.space, { baseLsn: l.base!.startLsn!, method, ...(changes ? { changes } : {}), ...(unchangedBefore !== undefined ? { unchangedBefore } : {}) });
  }
  return out;
}

/** The base with the earliest start among the spaces taking level 1 or 2: the WAL is read from its start. */
function oldestBase(engine: EngineAdapter, levels: readonly SpaceLevel[]): HistoryInstance | undefined {
  return levels.filter((l) => l.level > 0 && l.base?.startLsn).map((l) => l.base!).sort((a, b) => engine.compareLsn(a.startLsn!, b.startLsn!))[0];
}

/** File times within this of the base's start are not trusted (coarse file clocks, small clock steps). */
const MTIME_MARGIN_MS = 5_000;

/**
 * Before when a file must have been last written for the base backup `baseAction` to
 * hold it as it is on disk now: the base's start (it read every file after that), less a
 * margin. Undefined when unknown, or when the clock now reads earlier than that start (it
 * was set back, so file times cannot be compared with it): every file is then read.
 */
async function baseReadFrom(ctx: BarContext, instances: readonly HistoryInstance[], baseAction: number): Promise<number | undefined> {
  const label = instances.find((i) => i.action === baseAction && i.type === 'B');
  if (!label) return undefined;
  const [set] = await ctx.sm.query({ id: label.copyIds[0]! });
  const started = Date.parse(String((set?.meta as { startTime?: string } | undefined)?.startTime ?? ''));
  if (!Number.isFinite(started) || Date.now() < started) return undefined;
  return started - MTIME_MARGIN_MS;
}

/**
 * A WAL file from the Logs pool as it is read; undefined when it is not there. One record
 * is opened ahead: the reader leaves a switched segment after its first record, and the
 * next segment is read ahead meanwhile.
 */
async function fetchWal(ctx: BarContext, name: string): Promise<AsyncIterable<Uint8Array> | undefined> {
  const [s] = await ctx.sm.query({ server: ctx.server, kind: 'wal', name });
  return s ? ctx.sm.readChunks(s.id, { readAhead: 1 }) : undefined;
}
