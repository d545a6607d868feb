// `openbar backup`: a whole-system (or chosen spaces') backup at level 0, 1 or 2, online.
// runBackup and backupWith read as its steps: start what can start before the server
// answers, check the server, record the attempt, start backup mode, plan the copy (each
// space's level, its changed pages, its parts), copy the spaces in parallel streams
// (pg_global first), stop backup mode, store the backup label and the configuration kept
// outside the data directory (read while planning: a file it cannot read fails the backup
// before the copy), store the WAL from start to stop in the Logs pool (from pg_wal, not waiting for the archiver), commit every save set
// at once, and only then record the backup as a success. A failure aborts the transaction
// and backup mode, and records the attempt as failed.

import { fail, OpenbarError } from '../../common/errors.js';
import { faultPoint } from '../../common/fault.js';
import { trace } from '../../common/trace.js';
import { warmCodecPool } from '../../common/io/codec-pool.js';
import type { BackupHandle, BackupStopped, EngineAdapter, ServerInfo, SpaceInfo } from '../../engine/engine.js';
import type { BarContext } from '../bar-context.js';
import type { Transaction } from '../../sm/storage-manager.js';
import { secureWal, warmWal } from '../log/secure-wal.js';
import { planCopy } from './backup-plan.js';
import { readConfig, recordBackup, storeConfig, storeLabel } from './backup-record.js';
import type { BackupRun } from './backup-run.js';
import { copySpaces } from './copy-spaces.js';
import { startWalReading, type EarlyWal } from './incremental-sources.js';

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

export async function runBackup(ctx: BarContext, opts: BackupOptions): Promise<BackupResult> {
  const engine = ctx.engine();
  const started = Date.now();
  trace('backup: begin');
  const early = await startEarly(ctx, engine, opts);
  try {
    return await backupWith(ctx, engine, opts, started, early);
  } finally {
    early?.reading.abort();
  }
}

async function backupWith(
  ctx: BarContext,
  engine: EngineAdapter,
  opts: BackupOptions,
  started: number,
  early: EarlyWal | undefined,
): Promise<BackupResult> {
  const info = await askServer(engine, early);
  const spaces = chooseSpaces(await engine.spaces(), opts.spaces);
  const aid = recordAttempt(ctx, info, opts.level, spaces);
  const undo = await askBackupMode(engine, aid);
  try {
    const s = await enterBackupMode(ctx, engine, opts, { aid, info, spaces }, undo);
    const plan = await planCopy(s, early);
    const config = await readConfig(s);
    const copied = await copySpaces(s, plan);
    const stopped = await stopBackupMode(s);
    const labelId = await storeLabel(s, plan, copied.held, stopped);
    const configId = await storeConfig(s, config);
    await secureBackupWal(s, stopped);
    const stored = await commitSaveSets(s.txn);
    return recordBackup(s, plan, copied.parts, stopped, labelId, stored, started, configId);
  } catch (err) {
    await abandon(ctx, aid, undo, err);
    throw err;
  } finally {
    await engine.close();
  }
}

/** What a failure must undo: the transaction, and backup mode (asked for, perhaps not yet answered). */
interface Undo {
  readonly starting: Promise<BackupHandle>;
  txn?: Transaction;
  handle?: BackupHandle;
}

/**
 * Step: what starts before the server has answered anything. The codec workers start while
 * it answers: all of them for a level 0. A level 1 or 2 starts none at first, as each costs
 * a core 50-100 ms to start, taken from the start of the backup on a small machine: the
 * thread reading its WAL serves as the first codec worker, and the others start only for a
 * large copy (see copySpaces). The server is asked at once; a level 1 or 2 reads the WAL
 * since its base meanwhile, and while backup mode starts (its checkpoint can take long).
 */
async function startEarly(ctx: BarContext, engine: EngineAdapter, opts: BackupOptions): Promise<EarlyWal | undefined> {
  if (opts.level === 0) warmCodecPool();
  engine.describe().catch(() => {}); // answered (or thrown) where askServer asks again
  engine.prepareBackup();
  const early = await startWalReading(ctx, engine, opts.spaces, opts.level).catch(() => undefined);
  // the WAL up to the last checkpoint is surely written: read at once, not when the server has answered
  const written = early ? engine.walSurelyWritten() : undefined;
  if (early && written?.systemId === early.facts.systemId) early.reading.walWritten(written.lsn);
  return early;
}

/** Step: the server described, and archiving set up to keep the WAL a backup needs. */
async function askServer(engine: EngineAdapter, early: EarlyWal | undefined): Promise<ServerInfo> {
  const info = await engine.describe();
  trace('backup: described');
  // the WAL written so far is read while backup mode starts
  early?.reading.walWritten(info.walFlushLsn);
  checkArchiving(info.archiveMode, info.archiveCommand);
  return info;
}

function checkArchiving(mode: string, command: string): void {
  if (mode === 'off')
    fail(
      'PG',
      'archive_mode is off: the WAL a backup needs would not be kept',
      'set archive_mode = on and archive_command as `openbar init` printed, then restart PostgreSQL',
    );
  if (!/\blog\s+archive\b/.test(command))
    fail(
      'PG',
      `archive_command does not hand WAL to openbar ('${command}')`,
      'set it as `openbar init` printed, then reload PostgreSQL',
    );
}

function chooseSpaces(all: readonly SpaceInfo[], names: readonly string[] | undefined): SpaceInfo[] {
  if (!names || names.length === 0) return all.slice();
  for (const n of names) {
    if (!all.some((s) => s.name === n))
      fail('USAGE', `no space named '${n}'`, `spaces: ${all.map((s) => s.name).join(', ')}`);
  }
  return all.filter((s) => names.includes(s.name));
}

/** Step: the server and the attempt recorded in the history; the attempt's action id. */
function recordAttempt(ctx: BarContext, info: ServerInfo, level: number, spaces: readonly SpaceInfo[]): number {
  ctx.history.ensureServer({ systemId: info.systemId, version: info.versionText, pgData: info.dataDir });
  return ctx.history.beginAction('backup', level, { spaces: spaces.map((s) => s.name) });
}

/**
 * Step: backup mode asked for now, so that the server's checkpoint runs while the rest is
 * set up (the first activity-log line alone sets up the time zone, 10-25 ms; the storage
 * transaction). Its answer is awaited by enterBackupMode, or stopped by abandon.
 */
async function askBackupMode(engine: EngineAdapter, aid: number): Promise<Undo> {
  const starting = engine.startBackup(`openbar backup ${aid}`);
  starting.catch(() => {}); // awaited by enterBackupMode, or stopped on failure
  await new Promise((resolve) => setImmediate(resolve)); // the question leaves before the work below
  return { starting };
}

/** Step: the storage transaction begun and backup mode on; the WAL of its start warmed for storing. */
async function enterBackupMode(
  ctx: BarContext,
  engine: EngineAdapter,
  opts: BackupOptions,
  a: { aid: number; info: ServerInfo; spaces: readonly SpaceInfo[] },
  undo: Undo,
): Promise<BackupRun> {
  ctx.log.info(`backup ${a.aid}: level ${opts.level} of ${a.spaces.map((s) => s.name).join(', ')} started`);
  const txn = (undo.txn = await ctx.sm.beginTransaction());
  const handle = (undo.handle = await undo.starting);
  ctx.log.info(
    `backup ${a.aid}: backup mode started at ${handle.startLsn} (timeline ${handle.timeline}, WAL ${handle.startWal})`,
  );
  faultPoint('backup-started');
  trace('backup: backup mode started');
  warmWal(ctx, [handle.startWal]);
  return { ctx, engine, opts, ...a, txn, handle };
}

/** Step: backup mode stopped; the WAL from its start to the stop is what makes the copy consistent. */
async function stopBackupMode(s: BackupRun): Promise<BackupStopped> {
  const stopped = await s.handle.stop();
  trace('backup: backup mode stopped');
  s.ctx.log.info(
    `backup ${s.aid}: backup mode stopped at ${stopped.stopLsn}; WAL ${stopped.walFiles[0]} .. ${stopped.walFiles[stopped.walFiles.length - 1]} required`,
  );
  return stopped;
}

/** Step: the WAL from start to stop stored in the Logs pool, from the server's WAL directory where the archiver has not yet. */
async function secureBackupWal(s: BackupRun, stopped: BackupStopped): Promise<void> {
  faultPoint('backup-before-wal-check');
  const wal = await secureWal(s.ctx, stopped.walFiles, 60_000);
  if (wal.stored.length > 0)
    s.ctx.log.info(`backup ${s.aid}: WAL ${wal.stored.join(', ')} stored from the server's WAL directory`);
  trace('backup: WAL present');
}

/** Step: every save set of the backup made durable and visible at once; their stored sizes by id. */
async function commitSaveSets(txn: Transaction): Promise<Map<number, number>> {
  faultPoint('backup-before-commit');
  const stored = new Map((await txn.commit()).map((i) => [i.id, i.storedBytes]));
  faultPoint('backup-committed');
  trace('backup: committed');
  return stored;
}

/** On failure: the transaction aborted, backup mode stopped (once the server has answered), the attempt recorded as failed. */
async function abandon(ctx: BarContext, aid: number, undo: Undo, err: unknown): Promise<void> {
  await undo.txn?.abort().catch(() => {});
  // backup mode asked for but not yet answered (the transaction failed first): stopped once it is
  const handle = undo.handle ?? (await undo.starting.catch(() => undefined));
  await handle?.abort().catch(() => {});
  const message = err instanceof Error ? err.message : String(err);
  ctx.history.endAction(aid, err instanceof OpenbarError ? err.exitStatus : 1, message);
  ctx.log.error(`backup ${aid}: failed: ${message}`);
}
