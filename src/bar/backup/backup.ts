// `openbar backup`: a whole-system (or chosen spaces') level-0 backup, online.
// Reads like its steps: check the server, record the attempt, start backup mode,
// copy the spaces in parallel streams (pg_global first), stop backup mode, store the
// backup label, store the WAL from start to stop in the Logs pool (from pg_wal, not
// waiting for the archiver), commit every save set at once, and only then record the
// backup as a success.

import { fail, OpenbarError } from '../../common/errors.js';
import { faultPoint } from '../../common/fault.js';
import { trace } from '../../common/trace.js';
import { warmCodecPool } from '../../common/io/codec-pool.js';
import { Progress } from '../../common/progress.js';
import { formatBytes, formatRate } from '../../common/units.js';
import type { BackupStopped, EngineAdapter, IncrementalSource, ServerInfo, SpaceFile, SpaceInfo } from '../../engine/engine.js';
import { chooseBases, type SpaceLevel } from './choose-bases.js';
import { earlyLevels, incrementalSources, startWalReading, type EarlyWal } from './incremental-sources.js';
import { encodeFileList } from './file-list.js';
import { encodeLabel, encodeLabelContent } from '../records/label-record.js';
import type { NewInstance } from '../../history/history-db.js';
import type { BarContext } from '../bar-context.js';
import type { Transaction } from '../../sm/storage-manager.js';
import { copySpacePart, type PartResult } from './copy-space-part.js';
import { PieceQueue, partsFor } from './plan-parts.js';
import { secureWal, warmWal } from '../log/secure-wal.js';
import { runParallel } from '../../common/run-parallel.js';

export interface BackupOptions {
  readonly level: number;
  readonly spaces?: readonly string[];
  readonly signal?: AbortSignal;
  /** one line per space as it completes */
  readonly report?: (line: string) => void;
}

export interface SpaceResult {
  readonly space: string;
  readonly copyIds: number[];
  readonly bytes: number;
  readonly storedBytes: number;
  readonly parts: number;
  readonly ms: number;
  readonly badPages: number;
  /** level 1/2 by WAL: pages (of `bytes`) restored from the WAL's full-page images instead of read from the files */
  readonly imagePages: number;
}

export interface BackupResult {
  readonly id: number;
  readonly level: number;
  /** per space: the level it got and the backup it builds on */
  readonly levels: readonly { space: string; level: number; base: number | null; note: string | null }[];
  /** how a level 1/2 found its pages */
  readonly method: 'wal' | 'scan' | null;
  readonly startLsn: string;
  readonly stopLsn: string;
  readonly timeline: number;
  readonly walFiles: readonly string[];
  readonly spaces: readonly SpaceResult[];
  readonly bytes: number;
  readonly storedBytes: number;
  readonly ms: number;
}

/**
 * A level 1 or 2 with less than this to copy starts no codec worker besides the one it has:
 * a level 1's main thread reads, checks and frames changed pages at ~250 MB/s on the
 * development machine, where one worker compresses them (zstd level 1) at ~500 MB/s.
 */
const ONE_CODEC_WORKER_BYTES = 256 * 1024 * 1024;

/** A space with less than this to copy does not take one of the max_backup streams. */
const SMALL_SPACE_BYTES = 16 * 1024 * 1024;

export async function runBackup(ctx: BarContext, opts: BackupOptions): Promise<BackupResult> {
  const engine = ctx.engine();
  const started = Date.now();
  trace('backup: begin');
  // The codec workers start while the server answers: all of them for a level 0. A level 1
  // or 2 starts none at first, as each costs a core 50-100 ms to start, taken from the
  // start of the backup on a small machine: the thread reading its WAL serves as the first
  // codec worker, and the others start only for a large copy (see backupWith).
  if (opts.level === 0) warmCodecPool();
  // the server is asked at once; a level 1 or 2 reads the WAL since its base meanwhile, and
  // while backup mode starts (its checkpoint can take long); whatever happens, it is stopped
  engine.describe().catch(() => {}); // answered (or thrown) where backupWith asks again
  engine.prepareBackup();
  const early: EarlyWal | undefined = await startWalReading(ctx, engine, opts.spaces, opts.level).catch(() => undefined);
  // the WAL up to the last checkpoint is surely written: read at once, not when the server has answered
  const written = early ? engine.walSurelyWritten() : undefined;
  if (early && written?.systemId === early.facts.systemId) early.reading.walWritten(written.lsn);
  try {
    return await backupWith(ctx, engine, opts, started, early);
  } finally {
    early?.reading.abort();
  }
}

async function backupWith(ctx: BarContext, engine: EngineAdapter, opts: BackupOptions, started: number, early: EarlyWal | undefined): Promise<BackupResult> {
  const info = await engine.describe();
  trace('backup: described');
  // the WAL written so far is read while backup mode starts
  early?.reading.walWritten(info.walFlushLsn);
  checkArchiving(info.archiveMode, info.archiveCommand);
  const allSpaces = await engine.spaces();
  const chosen = chooseSpaces(allSpaces, opts.spaces);
  ctx.history.ensureServer({ systemId: info.systemId, version: info.versionText, pgData: info.dataDir });
  const aid = ctx.history.beginAction('backup', opts.level, { spaces: chosen.map((s) => s.name) });
  // backup mode is asked for now: the server's checkpoint runs while the rest is set up (the
  // first activity-log line alone sets up the time zone, 10-25 ms; the storage transaction)
  const starting = engine.startBackup(`openbar backup ${aid}`);
  starting.catch(() => {}); // awaited below, or stopped on failure
  await new Promise((resolve) => setImmediate(resolve)); // the question leaves before the work below
  let opened: Transaction | undefined;
  let handle: Awaited<ReturnType<typeof engine.startBackup>> | undefined;
  try {
    ctx.log.info(`backup ${aid}: level ${opts.level} of ${chosen.map((s) => s.name).join(', ')} started`);
    const txn = opened = await ctx.sm.beginTransaction();
    handle = await starting;
    ctx.log.info(`backup ${aid}: backup mode started at ${handle.startLsn} (timeline ${handle.timeline}, WAL ${handle.startWal})`);
    faultPoint('backup-started');
    trace('backup: backup mode started');
    warmWal(ctx, [handle.startWal]);

    // the files are listed while the WAL is still being read
    const noted = (space: string) => (note: string) => { ctx.log.warn(`backup ${aid}: ${space}: ${note}`); opts.report?.(`${space}: ${note}`); };
    const listing = Promise.all(chosen.map((space) => engine.listFiles(space, noted(space.name))));
    listing.then(() => trace('backup: listing done'), () => {}); // awaited by planWork
    const names = chosen.map((s) => s.name);
    const chosenLevels: SpaceLevel[] = opts.level === 0 ? names.map((space) => ({ space, level: 0 }))
      : earlyLevels(early, names, handle.timeline) ?? await chooseBases(ctx.sm, ctx.history.backupInstances(), names, opts.level, handle.timeline);
    trace('backup: levels chosen');
    // a space whose base cannot say which files are new since it may get a lower level here
    const { sources, levels } = await incrementalSources(ctx, engine, aid, chosenLevels, handle, info, early);
    for (const l of levels) if (l.note) { ctx.log.info(`backup ${aid}: ${l.note}`); opts.report?.(`${l.space}: ${l.note}`); }
    trace('backup: changed pages known');
    const work = await planWork(ctx, chosen, await listing, sources);
    trace('backup: files listed');
    const total = [...new Set(work.map((w) => w.queue))].reduce((a, q) => a + q.bytes, 0);
    // one codec worker (the thread that read the WAL, or one started by the first record)
    // compresses faster than the main thread reads scattered pages; a large copy gets them all
    if (opts.level > 0 && total > ONE_CODEC_WORKER_BYTES) warmCodecPool();
    ctx.history.progress(aid, 0, total);
    const progress = new Progress({ what: `backup ${aid}`, total, log: ctx.log, logEveryMs: ctx.settings.progress_freq, onLog: (d, t) => ctx.history.progress(aid, d, t) });
    const common = { txn, aid, handle, info, progress, signal: opts.signal };
    const levelOf = (name: string) => levels.find((l) => l.space === name)!;
    // per space, the files the backup holds and their sizes: recorded with its label
    const held = new Map(chosen.map((s) => [s.name, [] as [string, number][]]));
    const job = (w: (typeof work)[number]) => ({
      ...common, ...w, level: levelOf(w.space.name).level, baseCopyId: levelOf(w.space.name).base?.copyIds[0] ?? null,
      incremental: sources.get(w.space.name), onFile: (path: string, size: number) => { held.get(w.space.name)!.push([path, size]); },
    });
    const results: PartResult[] = [];
    // the critical space starts first; the parts of a space share its queue of pieces, so
    // a stream that finishes early helps with what is left instead of idling. A critical
    // space with little to copy (a level 1, say) runs beside the streams, not in one's place.
    const aside = work[0]?.space.critical && work[0].queue.bytes < SMALL_SPACE_BYTES ? 1 : 0;
    await runParallel(work, ctx.settings.max_backup + aside, async (w) => {
      try {
        results.push(await copySpacePart(ctx, { ...job(w), files: w.queue.forPart(w.part) }));
      } catch (err) {
        w.queue.stop();
        throw err;
      }
    });
    progress.finish();
    faultPoint('backup-copied');
    trace('backup: spaces copied');

    const stopped = await handle.stop();
    trace('backup: backup mode stopped');
    ctx.log.info(`backup ${aid}: backup mode stopped at ${stopped.stopLsn}; WAL ${stopped.walFiles[0]} .. ${stopped.walFiles[stopped.walFiles.length - 1]} required`);
    const level = Math.max(...levels.map((l) => l.level));
    const labelId = await storeLabel(ctx, txn, aid, level, handle, stopped, info, chosen, levels, sources, held);
    trace('backup: label stored');
    faultPoint('backup-before-wal-check');
    const wal = await secureWal(ctx, stopped.walFiles, 60_000);
    if (wal.stored.length > 0) ctx.log.info(`backup ${aid}: WAL ${wal.stored.join(', ')} stored from the server's WAL directory`);
    trace('backup: WAL present');
    faultPoint('backup-before-commit');
    const stored = new Map((await txn.commit()).map((i) => [i.id, i.storedBytes]));
    faultPoint('backup-committed');
    trace('backup: committed');

    const spaces = summarise(chosen, results.map((r) => ({ ...r, storedBytes: stored.get(r.id) ?? 0 })));
    const instances: NewInstance[] = [
      ...spaces.map((s): NewInstance => ({
        object: s.space, type: chosen.find((c) => c.name === s.space)!.critical ? 'R' : 'D', level: levelOf(s.space).level, copyIds: s.copyIds,
        baseId: levelOf(s.space).base?.copyIds[0] ?? null, startLsn: handle!.startLsn, stopLsn: stopped.stopLsn, timeline: handle!.timeline, firstWal: handle!.startWal,
        time: stopped.stopTime, meta: { bytes: s.bytes, storedBytes: s.storedBytes, parts: s.parts, badPages: s.badPages },
      })),
      {
        object: 'backup_label', type: 'B', level, copyIds: [labelId], baseId: null, startLsn: handle.startLsn,
        stopLsn: stopped.stopLsn, timeline: handle.timeline, firstWal: handle.startWal, time: stopped.stopTime,
        meta: { nextXid: stopped.nextXid, walFiles: stopped.walFiles, startTime: handle.startTime, systemId: info.systemId },
      },
    ];
    ctx.history.recordInstances(aid, instances);
    const bytes = spaces.reduce((a, s) => a + s.bytes, 0);
    const storedBytes = spaces.reduce((a, s) => a + s.storedBytes, 0);
    const ms = Date.now() - started;
    ctx.history.endAction(aid, 0, 'completed', { bytes, storedBytes, ms, startLsn: handle.startLsn, stopLsn: stopped.stopLsn });
    const badPages = spaces.reduce((a, s) => a + s.badPages, 0);
    const imagePages = spaces.reduce((a, s) => a + s.imagePages, 0);
    ctx.log.info(`backup ${aid}: completed, level ${level}${sources.size ? ` (${[...new Set([...sources.values()].map((x) => x.method))].join('/')})` : ''}, ${formatBytes(bytes)} read${imagePages ? ` (${imagePages} page(s) of it from the WAL's full-page images)` : ''}, ${formatBytes(storedBytes)} stored, ${formatRate(bytes, ms)}${badPages ? `, ${badPages} bad page(s) reported` : ''}`);
    for (const s of spaces) opts.report?.(spaceLine(s, levelOf(s.space), sources.get(s.space)?.method));
    trace('backup: recorded');
    return { id: aid, level, levels: levels.map((l) => ({ space: l.space, level: l.level, base: l.base?.action ?? null, note: l.note ?? null })), method: [...sources.values()][0]?.method ?? null, startLsn: handle.startLsn, stopLsn: stopped.stopLsn, timeline: handle.timeline, walFiles: stopped.walFiles, spaces, bytes, storedBytes, ms };
  } catch (err) {
    await opened?.abort().catch(() => {});
    // backup mode asked for but not yet answered (the transaction failed first): stopped once it is
    handle ??= await starting.catch(() => undefined);
    await handle?.abort().catch(() => {});
    const message = err instanceof Error ? err.message : String(err);
    ctx.history.endAction(aid, err instanceof OpenbarError ? err.exitStatus : 1, message);
    ctx.log.error(`backup ${aid}: failed: ${message}`);
    throw err;
  } finally {
    await engine.close();
  }
}

function checkArchiving(mode: string, command: string): void {
  if (mode === 'off') fail('PG', 'archive_mode is off: the WAL a backup needs would not be kept', 'set archive_mode = on and archive_command as `openbar init` printed, then restart PostgreSQL');
  if (!/\blog\s+archive\b/.test(command)) fail('PG', `archive_command does not hand WAL to openbar ('${command}')`, 'set it as `openbar init` printed, then reload PostgreSQL');
}

function chooseSpaces(all: readonly SpaceInfo[], names: readonly string[] | undefined): SpaceInfo[] {
  if (!names || names.length === 0) return all.slice();
  for (const n of names) {
    if (!all.some((s) => s.name === n)) fail('USAGE', `no space named '${n}'`, `spaces: ${all.map((s) => s.name).join(', ')}`);
  }
  return all.filter((s) => names.includes(s.name));
}

/** One unit of work per part of each space; the critical space first, then the largest spaces. */
async function planWork(ctx: BarContext, spaces: readonly SpaceInfo[], files: readonly SpaceFile[][], sources: ReadonlyMap<string, IncrementalSource>) {
  const engine = ctx.engine();
  const listed = spaces.map((space, i) => {
    const src = sources.get(space.name);
    return { space, queue: new PieceQueue(files[i]!, src ? (f) => engine.incrementalBytes(space, f, src) : undefined) };
  });
  listed.sort((a, b) => Number(b.space.critical) - Number(a.space.critical) || b.queue.bytes - a.queue.bytes);
  // small files read ahead (an incremental, only those it copies whole)
  for (const { space, queue } of listed) engine.prepareCopy(space, queue.order());
  return listed.flatMap(({ space, queue }) => {
    const parts = space.critical ? 1 : partsFor(queue.bytes, ctx.settings.max_backup);
    return Array.from({ length: parts }, (_, part) => ({ space, queue, part, parts }));
  });
}

async function storeLabel(ctx: BarContext, txn: Transaction, aid: number, level: number,
  handle: { startLsn: string; timeline: number; startWal: string; startTime: string }, stopped: BackupStopped, info: ServerInfo, spaces: readonly SpaceInfo[],
  levels: readonly SpaceLevel[], sources: ReadonlyMap<string, IncrementalSource>, held: ReadonlyMap<string, readonly [string, number][]>): Promise<number> {
  const w = await txn.createObject(encodeLabel({ pool: ctx.settings.data_pool, server: ctx.server, level }, {
    aid, startLsn: handle.startLsn, stopLsn: stopped.stopLsn, timeline: handle.timeline, startWal: handle.startWal,
    startTime: handle.startTime, stopTime: stopped.stopTime, nextXid: stopped.nextXid, walFiles: stopped.walFiles,
    systemId: info.systemId, walSegmentSize: info.walSegmentSize, pgVersion: info.version, checksums: info.checksums,
    spaces: spaces.map((s) => ({ name: s.name, critical: s.critical, oid: s.oid, location: s.oid === null ? null : s.root })),
    levels: levels.map((l) => ({ space: l.space, level: l.level, baseCopyId: l.base?.copyIds[0] ?? null, baseAid: l.base?.action ?? null, method: sources.get(l.space)?.method ?? null })),
  }));
  await w.write(encodeLabelContent({ labelFiles: stopped.labelFiles, fileList: encodeFileList(held) }));
  await w.close();
  return w.id;
}

function summarise(spaces: readonly SpaceInfo[], parts: readonly PartResult[]): SpaceResult[] {
  return spaces.map((s) => {
    const mine = parts.filter((p) => p.space === s.name).sort((a, b) => a.part - b.part);
    return {
      space: s.name, copyIds: mine.map((p) => p.id), parts: mine.length,
      bytes: mine.reduce((a, p) => a + p.bytes, 0), storedBytes: mine.reduce((a, p) => a + p.storedBytes, 0),
      ms: Math.max(0, ...mine.map((p) => p.ms)), badPages: mine.reduce((a, p) => a + p.badPages, 0),
      imagePages: mine.reduce((a, p) => a + p.imagePages, 0),
    };
  });
}

function spaceLine(s: SpaceResult, l: SpaceLevel, method: string | undefined): string {
  const level = `level ${l.level}${l.base ? ` on backup ${l.base.action}${method ? ` (${method})` : ''}` : ''}`;
  return `${s.space.padEnd(12)} ${level.padEnd(24)} ${formatBytes(s.bytes).padStart(10)} read  ${formatBytes(s.storedBytes).padStart(10)} stored  ${s.parts} part(s)  save set(s) ${s.copyIds.join(',')}${s.badPages ? `  ${s.badPages} BAD PAGE(S)` : ''}`;
}
