// How the spaces of a level 1 or 2 backup find their changed pages (incremental_method):
// `wal` reads the block references of the archived WAL from the oldest base's start to
// this backup's start and fails when the WAL cannot tell; `scan` reads every page and
// compares its LSN; `auto` uses the WAL when it can and says when it cannot.
// The WAL is read from before backup mode starts (`startWalReading`): the checkpoint
// backup mode waits for and the parse then run at the same time. Each space is told what
// its base holds (the base's file list), so that no method trusts a page LSN for a file
// the base never read; by scan, a base with no list cannot say that, and the space takes
// level 0.

import { lendCodecWorker } from '../../common/io/codec-pool.js';
import { fail } from '../../common/errors.js';
import type {
  BackupHandle,
  EngineAdapter,
  IncrementalSource,
  ServerInfo,
  WalChangesReading,
  WalFacts,
  WalSources,
} from '../../engine/engine.js';
import { storedSummary } from '../log/wal-summaries.js';
import type { HistoryInstance } from '../../history/backup-history.js';
import type { BarContext } from '../bar-context.js';
import { decodeLabelMeta, type LabelMeta } from '../records/label-record.js';
import { SaveSetKind } from '../records/saveset-kinds.js';
import { chooseBases, type SpaceLevel } from './choose-bases.js';
import { baseFileLists, type BaseList } from './base-file-lists.js';

/** The WAL read ahead of backup mode, from the start of the base the spaces are expected to build on. */
export interface EarlyWal {
  readonly from: string;
  readonly timeline: number;
  readonly facts: WalFacts;
  readonly reading: WalChangesReading;
  readonly started: number;
  /** the bases chosen then, for these spaces (before the server's timeline was known) */
  readonly levels: readonly SpaceLevel[];
  /** the history as read then, and the label of the base the WAL is read from: not read again */
  readonly instances: readonly HistoryInstance[];
  readonly label: { readonly action: number; readonly meta: LabelMeta };
}

/**
 * The bases chosen before backup mode, when they still hold: the same spaces, and every
 * base on the server's timeline (the only thing that choice could not check). Saves
 * reading the history and the catalog again while the copy waits.
 */
export function earlyLevels(
  early: EarlyWal | undefined,
  spaces: readonly string[],
  timeline: number,
): SpaceLevel[] | undefined {
  if (!early) return undefined;
  const levels = spaces.map((space) => early.levels.find((l) => l.space === space));
  if (levels.some((l) => !l)) return undefined;
  return levels.every((l) => !l!.base || l!.base.timeline === null || l!.base.timeline === timeline)
    ? (levels as SpaceLevel[])
    : undefined;
}

/**
 * Starts reading the WAL a level 1 or 2 will need before anything else (the server is
 * not asked: the base's label says where and what its WAL is), for the spaces named, or
 * every space the history has when none are. Undefined when there is nothing to read.
 */
export async function startWalReading(
  ctx: BarContext,
  engine: EngineAdapter,
  spaces: readonly string[] | undefined,
  level: number,
): Promise<EarlyWal | undefined> {
  if (level === 0 || ctx.settings.incremental_method === 'scan') return undefined;
  const instances = ctx.history.backupInstances();
  const names = spaces?.length
    ? spaces
    : [...new Set(instances.filter((i) => i.type === 'R' || i.type === 'D').map((i) => i.object))];
  const levels = await chooseBases(ctx.sm, instances, names, level, undefined);
  const oldest = oldestBase(engine, levels);
  if (!oldest || oldest.timeline === null) return undefined;
  const label = await baseLabel(ctx, instances, oldest.action);
  if (!label) return undefined;
  const facts = { segmentSize: label.walSegmentSize, systemId: label.systemId };
  // its thread becomes the codec worker once the WAL is read: no other need start
  const reading = await engine.walChanges(oldest.startLsn!, oldest.timeline, walSources(ctx), facts, {
    lend: lendCodecWorker,
    pageImages: pageImages(ctx),
  });
  return {
    from: oldest.startLsn!,
    timeline: oldest.timeline,
    facts,
    reading,
    started: Date.now(),
    levels,
    instances,
    label: { action: oldest.action, meta: label },
  };
}

/**
 * Per space of a level 1 or 2, how its copy finds its pages; and the levels, where a space
 * had to take level 0 (by scan on a base that recorded no file list), with a note saying so.
 */
export async function incrementalSources(
  ctx: BarContext,
  engine: EngineAdapter,
  aid: number,
  levels: readonly SpaceLevel[],
  handle: BackupHandle,
  info: ServerInfo,
  early: EarlyWal | undefined,
): Promise<{ sources: Map<string, IncrementalSource>; levels: SpaceLevel[] }> {
  const inc = levels.filter((l) => l.level > 0 && l.base?.startLsn);
  const oldest = oldestBase(engine, levels);
  // read ahead from another base, timeline or system than the one found now: of no use
  const reading =
    early &&
    oldest &&
    early.from === oldest.startLsn &&
    early.timeline === handle.timeline &&
    early.facts.systemId === info.systemId &&
    early.facts.segmentSize === info.walSegmentSize
      ? early
      : undefined;
  if (early && !reading) early.reading.abort();
  if (inc.length === 0) return { sources: new Map(), levels: levels.slice() };
  // the bases' file lists are read while the WAL is
  const listing = baseFileLists(ctx, reading?.instances ?? ctx.history.backupInstances(), inc);
  listing.catch(() => {}); // awaited below
  const wanted = ctx.settings.incremental_method;
  let method: 'wal' | 'scan' = wanted === 'scan' ? 'scan' : 'wal';
  let changes: IncrementalSource['changes'];
  if (method === 'wal') {
    const from = oldest!.startLsn!;
    const started = reading?.started ?? Date.now();
    const r = await (
      reading?.reading ??
      (await engine.walChanges(from, handle.timeline, walSources(ctx), undefined, { pageImages: pageImages(ctx) }))
    ).finish(handle.startLsn);
    if ('incomplete' in r) {
      if (wanted === 'wal')
        fail(
          'UNREACHABLE',
          `incremental_method = wal: ${r.incomplete}`,
          'set incremental_method = scan (or auto) to read every page instead, or take a level 0',
        );
      ctx.log.info(`backup ${aid}: ${r.incomplete}; finding changed pages by scanning instead`);
      method = 'scan';
    } else {
      changes = r.changes;
      ctx.log.info(
        `backup ${aid}: ${r.changes.blockCount} changed block(s) found in ${r.records} WAL record(s) (${r.walBytes} bytes; ${r.summarized} WAL file(s) by their summaries) from ${from} to ${handle.startLsn} in ${Date.now() - started} ms`,
      );
    }
  }
  const trust = method === 'wal' && ctx.settings.file_times === 'trust';
  const instances = trust ? (reading?.instances ?? ctx.history.backupInstances()) : [];
  // spaces mostly share a base: its label is read once (or was, by startWalReading)
  const readFrom = new Map<number, number | undefined>();
  const unchangedBefore = async (base: number): Promise<number | undefined> => {
    if (!trust) return undefined;
    if (!readFrom.has(base))
      readFrom.set(
        base,
        readFromTime(reading?.label.action === base ? reading.label.meta : await baseLabel(ctx, instances, base)),
      );
    return readFrom.get(base);
  };
  return placeSpaces(ctx, aid, levels, inc, await listing, { method, changes, unchangedBefore });
}

/**
 * Each space's source, with what its base holds; a space whose base recorded no list
 * takes level 0 by scan (nothing else could tell its new files), keeps its level by wal.
 */
async function placeSpaces(
  ctx: BarContext,
  aid: number,
  levels: readonly SpaceLevel[],
  inc: readonly SpaceLevel[],
  lists: ReadonlyMap<string, BaseList>,
  m: {
    method: 'wal' | 'scan';
    changes: IncrementalSource['changes'];
    unchangedBefore: (base: number) => Promise<number | undefined>;
  },
): Promise<{ sources: Map<string, IncrementalSource>; levels: SpaceLevel[] }> {
  const sources = new Map<string, IncrementalSource>();
  const lowered = new Map<string, SpaceLevel>();
  for (const l of inc) {
    const base = l.base!.action;
    const list = lists.get(l.space)!;
    if ('missing' in list && m.method === 'scan') {
      lowered.set(l.space, {
        space: l.space,
        level: 0,
        note: `its level ${l.level - 1} (backup ${base}) ${list.missing}: by scan, files new since it cannot be told: taking level 0`,
      });
      continue;
    }
    if ('missing' in list)
      ctx.log.info(
        `backup ${aid}: ${l.space}: its base (backup ${base}) ${list.missing}; the WAL alone says which files are new since`,
      );
    const unchangedBefore = await m.unchangedBefore(base);
    sources.set(l.space, {
      baseLsn: l.base!.startLsn!,
      method: m.method,
      ...(m.changes ? { changes: m.changes } : {}),
      ...(unchangedBefore !== undefined ? { unchangedBefore } : {}),
      ...('files' in list ? { baseFiles: list.files } : {}),
    });
  }
  return { sources, levels: levels.map((l) => lowered.get(l.space) ?? l) };
}

/** The base with the earliest start among the spaces taking level 1 or 2: the WAL is read from its start. */
function oldestBase(engine: EngineAdapter, levels: readonly SpaceLevel[]): HistoryInstance | undefined {
  return levels
    .filter((l) => l.level > 0 && l.base?.startLsn)
    .map((l) => l.base!)
    .sort((a, b) => engine.compareLsn(a.startLsn!, b.startLsn!))[0];
}

/** File times within this of the base's start are not trusted (coarse file clocks, small clock steps). */
const MTIME_MARGIN_MS = 5_000;

/**
 * Before when a file must have been last written for the base backup whose label this is
 * to hold it as it is on disk now: the base's start (it read every file after that), less a
 * margin. Undefined when unknown, or when the clock now reads earlier than that start (it
 * was set back, so file times cannot be compared with it): every file is then read.
 */
function readFromTime(label: LabelMeta | undefined): number | undefined {
  const started = Date.parse(label?.startTime ?? '');
  if (!Number.isFinite(started) || Date.now() < started) return undefined;
  return started - MTIME_MARGIN_MS;
}

/** What the label save set of backup `action` recorded (its start time, WAL segment size, system); undefined when it is gone. */
async function baseLabel(
  ctx: BarContext,
  instances: readonly HistoryInstance[],
  action: number,
): Promise<LabelMeta | undefined> {
  const label = instances.find((i) => i.action === action && i.type === 'B');
  if (!label) return undefined;
  const [set] = await ctx.sm.query({ id: label.copyIds[0]! });
  return set ? decodeLabelMeta(set, { server: ctx.server, aid: action }) : undefined;
}

/** Whether pages the WAL's full-page images restore are taken instead of read (setting wal_images). */
const pageImages = (ctx: BarContext): boolean => ctx.settings.wal_images === 'on';

/** The WAL files and summaries of the Logs pool (see log/wal-summaries.ts). */
function walSources(ctx: BarContext): WalSources {
  return {
    // two records opened ahead, not more: the reader leaves a switched segment after its first record
    archived: async (name) => {
      const [s] = await ctx.sm.query({ server: ctx.server, kind: SaveSetKind.wal, name });
      return s ? ctx.sm.readChunks(s.id, { readAhead: 2 }) : undefined;
    },
    summary: async (name) => (ctx.settings.wal_summaries === 'on' ? storedSummary(ctx, name) : undefined),
  };
}
