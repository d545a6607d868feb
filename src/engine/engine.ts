// The engine's ports: everything the backup client (bar/) needs from a database server
// and its files, and nothing about their formats. `Engine` is an engine whole, as the
// composition root (cli/context.ts) picks it once: the adapter of a running server
// (EngineAdapter), its offline side (OfflineEngine), archive validation (ArchiveChecker)
// and WAL summaries (WalSummarizer). PostgreSQL is engine/postgres/ (postgres-engine.ts).

import type { Worker } from 'node:worker_threads';
import type { Settings } from '../common/options.js';

/**
 * An engine whole. Making it costs nothing: the adapter is made per command and connects
 * on its first question; the other parts need no server.
 */
export interface Engine {
  /** the adapter of the server the settings name (its own settings: pg_host, pg_data, …) */
  adapter(settings: Settings): EngineAdapter;
  readonly offline: OfflineEngine;
  readonly checker: ArchiveChecker;
  readonly summarizer: WalSummarizer;
}

export interface ServerInfo {
  readonly systemId: string;
  readonly version: number;
  readonly versionText: string;
  readonly dataDir: string;
  readonly checksums: boolean;
  readonly pageSize: number;
  readonly walSegmentSize: number;
  readonly archiveMode: string;
  readonly archiveCommand: string;
  /** how far the server had flushed WAL when asked (pg_current_wal_flush_lsn) */
  readonly walFlushLsn: string;
}

/** A storage space: the unit of backup and restore (ON-Bar's dbspace). */
export interface SpaceInfo {
  readonly name: string;
  /** the critical space holds the control file; it is backed up and restored first */
  readonly critical: boolean;
  /** tablespace oid for user tablespaces */
  readonly oid: number | null;
  /** absolute directory the space's files are relative to */
  readonly root: string;
}

/** One file (or directory, or symlink) of a space, as listed before the copy. */
export interface SpaceFile {
  readonly path: string;
  readonly type: 'file' | 'dir' | 'symlink';
  readonly size: number;
  readonly mode: number;
  readonly mtimeMs: number;
  readonly target?: string;
  /** a byte range of a large file (the rest is in other parts); absent: the whole file */
  readonly range?: { readonly offset: number; readonly length: number };
}

export interface BackupStarted {
  readonly startLsn: string;
  readonly timeline: number;
  readonly startWal: string;
  readonly startTime: string;
}

export interface BackupStopped {
  readonly stopLsn: string;
  readonly stopTime: string;
  /**
   * WAL files from the start to the stop LSN, all needed to make the copy consistent. When
   * stop() returns they are complete and flushed in the server's WAL directory (the stop
   * switches segments), where they stay until archived and recycled.
   */
  readonly walFiles: readonly string[];
  /** files the restore must write into the data directory (backup_label, tablespace_map) */
  readonly labelFiles: readonly { name: string; content: string }[];
  /** the next transaction id at stop: targets by xid below it are not reachable from this backup */
  readonly nextXid: string;
}

export interface BackupHandle extends BackupStarted {
  stop(): Promise<BackupStopped>;
  abort(): Promise<void>;
}

export interface BadPage {
  readonly space: string;
  readonly path: string;
  readonly block: number;
  readonly problem: string;
}

/** Pages changed since a base backup, as the engine found them in the WAL (opaque to the client). */
export interface WalPageChanges {
  readonly blockCount: number;
}

/** What reading a server's WAL needs to know of it. */
export interface WalFacts {
  readonly segmentSize: number;
  readonly systemId: string;
}

export interface WalReadingOptions {
  readonly lend?: WorkerLender;
  readonly pageImages?: boolean;
}

/** What the Logs pool holds of the WAL, for reading changed pages. */
export interface WalSources {
  /** a WAL file's content as it is read (each piece valid until the next); undefined when not stored */
  archived(name: string): Promise<AsyncIterable<Uint8Array> | undefined>;
  /** a stored WAL file's summary (WalSummarizer); undefined when the file or its summary is not stored */
  summary(name: string): Promise<Uint8Array | undefined>;
}

/** A WAL file's summary, and when the last transaction ending in it ended (ms; null: none did). */
export interface WalFileSummary {
  readonly summary: Uint8Array;
  readonly lastTransactionMs: number | null;
}

/**
 * Summaries of WAL files (what each changes), made as they are archived so that a level 1
 * or 2 backup need not read archived WAL again. Opaque to the client, which stores them.
 */
export interface WalSummarizer {
  /**
   * The summary of WAL file `name` (its whole content `data`), using the stored summary of
   * the file before (`previous`); undefined for a file that has none (a history file), or
   * a reason when the WAL cannot be summarized (it is then read when needed).
   */
  summarize(
    name: string,
    data: Uint8Array,
    previous: (name: string) => Promise<Uint8Array | undefined>,
  ): Promise<WalFileSummary | { skipped: string } | undefined>;
}

/**
 * Borrows a thread the engine starts for its own work (reading WAL), so that the borrower
 * (the codec pool) need not start one: the thread serves the borrower's tasks besides its
 * own messages, and is the borrower's once its work is over.
 */
export type WorkerLender = (worker: Worker) => WorkerLoan;
export interface WorkerLoan {
  /** the thread is idle for a while: the borrower may have it prepare */
  warm(): void;
  /** the engine's work on it is over */
  release(): void;
}

/** The WAL being read for changed pages (EngineAdapter.walChanges). */
export interface WalChangesReading {
  /** The server has flushed WAL to `lsn`: what is not archived of it can be read now. */
  walWritten(lsn: string): void;
  /** Reads on to `toLsn`; `summarized`: WAL files whose summaries stood in for them. */
  finish(
    toLsn: string,
  ): Promise<
    { changes: WalPageChanges; records: number; walBytes: number; summarized: number } | { incomplete: string }
  >;
  abort(): void;
}

/**
 * The files a base backup's chain holds of a space, as the base recorded them: by path
 * relative to the space, the size (bytes) its newest level restores each to.
 */
export interface BaseFiles {
  /** undefined: a file the base did not hold (new since) */
  sizeOf(path: string): number | undefined;
}

/** How a level 1 or 2 copy of a space finds its pages. */
export interface IncrementalSource {
  /** the base instance's start LSN: pages changed at or after it are copied */
  readonly baseLsn: string;
  /** wal: the block references of the WAL since baseLsn; scan: every page read, LSN compared */
  readonly method: 'wal' | 'scan';
  readonly changes?: WalPageChanges;
  /**
   * wal: a file last modified before this time (ms since the epoch) is on disk as the
   * base read it, so it is not opened at all; absent when the clock cannot be trusted
   */
  readonly unchangedBefore?: number;
  /**
   * What the base holds: a file it lacks is copied whole, pages past the size it knew are
   * copied whatever their LSN (every method). Absent when the base recorded no list.
   */
  readonly baseFiles?: BaseFiles;
}

export interface SpaceReadOptions {
  readonly server: string;
  readonly systemId: string;
  readonly level: number;
  /** levels 1 and 2 */
  readonly incremental?: IncrementalSource;
  readonly part: number;
  readonly parts: number;
  readonly startLsn: string;
  readonly checksums: boolean;
  readonly signal?: AbortSignal;
  onBadPage(p: BadPage): void;
  onBytes(n: number): void;
  /** level 1/2 by WAL: pages taken from the WAL's full-page images instead of read from the files */
  onImagePages?(n: number): void;
  /** once per regular file the copy holds (by the part holding its start): its size as restored */
  onFile?(path: string, size: number): void;
}

export type RecoveryTarget =
  | { readonly kind: 'latest' }
  | { readonly kind: 'time'; readonly value: string; readonly ms: number }
  | { readonly kind: 'lsn'; readonly value: string }
  | { readonly kind: 'xid'; readonly value: string }
  | { readonly kind: 'name'; readonly value: string };

export interface RecoverySettings {
  readonly target: RecoveryTarget;
  /** the timeline recovery follows (chosen by the restore, never left to 'latest') */
  readonly timeline: number;
  readonly restoreCommand: string;
  /** off: the restored cluster is a copy that does not archive (and is never salvaged from) */
  readonly archiveMode: 'preserve' | 'off';
}

/** Where a space stream goes: the storage manager's object writer satisfies it. */
export interface ByteSink {
  write(chunk: Uint8Array): Promise<void>;
  /** `fill` writes into the sink's own buffer and says how many bytes it put there */
  pour(fill: (space: Buffer) => Promise<number>): Promise<number>;
  /**
   * Like pour, for fills that take a while (reads): `fill` says at once how many bytes it
   * will put in the free part of the buffer and returns the promise of their arrival. The
   * writer moves on without waiting, so the caller can start the next fill (several reads
   * in flight); a buffer is sealed once every fill into it has arrived. A fill that fails
   * fails the object. Resolves with the bytes accepted (0: the caller must use pour; a
   * sink that cannot let fills run ahead always answers 0 and never calls `fill`).
   */
  pourAhead(fill: (space: Buffer) => { bytes: number; arrived: Promise<void> }): Promise<number>;
  /**
   * Bytes to write before the next byte lands `block`-aligned in a page-aligned transfer
   * buffer, where a direct (O_DIRECT) read may fill it; undefined when the buffers are not
   * page-aligned memory or `block` does not divide them (a correct answer for any sink).
   */
  gapToAligned(block: number): number | undefined;
}

/** What a cluster's data directory says of it without a server (pg_control). */
export interface ClusterIdentity {
  readonly systemId: string;
}

/** What is expected of a WAL file entering the archive: this cluster's, when known. */
export interface WalFileExpectations {
  readonly systemId?: string | undefined;
  readonly segmentSize?: number | undefined;
  /**
   * Salvage from a stopped or crashed server's pg_wal: a segment may end in stale pages
   * (a recycled file, written to a point); its WAL then ends at the first invalid page.
   */
  readonly salvage?: boolean;
}

/** The verdict on a WAL file, and what it says of itself when it is sound. */
export type WalFileVerdict =
  | {
      readonly ok: true;
      readonly systemId?: string;
      readonly segmentSize?: number;
      readonly timeline: number;
      /** salvage: the segment's WAL ends here; what follows is stale and is stored as zeros */
      readonly validBytes?: number;
    }
  | {
      readonly ok: false;
      readonly problem: string;
      /** the file is another database system's */ readonly foreign?: boolean;
    };

/**
 * The gate of the archive (invariant 11): a WAL file's bytes, fed in any chunking, are
 * checked before it is stored (a segment's size and page headers, a history or backup
 * file's content). `end` gives the verdict; a refused file must not be stored.
 */
export interface WalFileCheck {
  push(chunk: Uint8Array): void;
  end(): WalFileVerdict;
}

export interface WalFileRules {
  walFileCheck(name: string, expect: WalFileExpectations): WalFileCheck;
}

export interface EngineAdapter extends WalFileRules {
  describe(): Promise<ServerInfo>;
  /** The configured data directory's identity, read from disk (no server); undefined when unreadable. */
  localIdentity(): ClusterIdentity | undefined;
  /**
   * Opens what startBackup will need (its connection) ahead, while other work goes on. A
   * hint: doing nothing is a correct answer (startBackup then opens it itself).
   */
  prepareBackup(): void;
  /**
   * Read without the server, before it answers: its system and a WAL position up to which
   * the WAL is certainly written (the last checkpoint's); undefined when it cannot tell,
   * which is always a correct answer (the WAL is then read once the server has answered).
   */
  walSurelyWritten(): { systemId: string; lsn: string } | undefined;
  startBackup(label: string): Promise<BackupHandle>;
  spaces(): Promise<SpaceInfo[]>;
  /** `onNote`: what the listing did that a DBA should know (a link followed or left out) */
  listFiles(space: SpaceInfo, onNote?: (note: string) => void): Promise<SpaceFile[]>;
  /**
   * Before the parts of a space are copied: its files in the order the copies will pull
   * them. The engine may read some ahead (into bounded memory) while others are copied;
   * a hint, which it may ignore.
   */
  prepareCopy(space: SpaceInfo, files: readonly SpaceFile[]): void;
  /**
   * Writes the space stream of `files` into `sink`; file data is read straight into the
   * sink's buffers. `files` is pulled one at a time as the copy goes (it may be a queue
   * shared with other copies of the same space).
   */
  copySpace(space: SpaceInfo, files: Iterable<SpaceFile>, sink: ByteSink, opts: SpaceReadOptions): Promise<void>;
  switchWal(): Promise<{ lsn: string; walFile: string }>;
  /** Where the server keeps WAL file `name` until it is archived and recycled (it may be gone). */
  walFilePath(name: string): Promise<string>;
  createRestorePoint(name: string): Promise<{ lsn: string; time: string; xid: string; timeline: number }>;
  /**
   * Starts reading the block references of the WAL from `fromLsn` (a base's start) on
   * `timeline`, in the background, with what the Logs pool has (`sources`): summaries
   * where they are, else the segments. `finish(toLsn)` reads on to this backup's
   * start, from the Logs pool or else the server's pg_wal, and says which blocks records
   * starting in [fromLsn, toLsn) changed, or why the WAL cannot tell (a missing segment,
   * damage, a record of unknown effect). `known`: the WAL's segment size and system
   * identifier as the base recorded them, so reading can start before the server is asked.
   * `opts.lend`: the reading thread is lent to other work (the codec pool) and ends as part
   * of it. `opts.pageImages`: pages the WAL's full-page images restore are handed to the
   * copy (which then need not read them).
   */
  walChanges(
    fromLsn: string,
    timeline: number,
    sources: WalSources,
    known?: WalFacts,
    opts?: WalReadingOptions,
  ): Promise<WalChangesReading>;
  compareLsn(a: string, b: string): number;
  /** Bytes an incremental copy of `file` will read (for planning streams and progress). */
  incrementalBytes(space: SpaceInfo, file: SpaceFile, source: IncrementalSource): number;
  /** Names of relation files as the server knows them now, keyed `dbOid/relfilenode` (best effort). */
  relationNames(
    list: readonly { dbOid: number; spcOid: number; relfilenode: number }[],
  ): Promise<Map<string, { database: string; relation: string | null }>>;
  /**
   * The configuration files the server runs with that live outside its data directory
   * (those inside are in the critical space); [] when all are inside. An engine whose
   * servers keep none elsewhere need not have it.
   */
  configFiles?(): Promise<ConfigEntry[]>;
  close(): Promise<void>;
}

/**
 * One of the server's configuration files (or an included directory) kept outside its data
 * directory, as the server names it (config_file, hba_file, ident_file, what they include).
 */
export interface ConfigEntry {
  readonly role: 'main' | 'hba' | 'ident' | 'include';
  /** absolute, as the server ran with it */
  readonly path: string;
  readonly type: 'file' | 'dir';
  readonly mode: number;
  /** files only */
  readonly content?: Buffer;
}

/** Where a restore put the configuration files, and how the restored server is started. */
export interface PlacedConfig {
  /** the files and directories written, absolute */
  readonly written: readonly string[];
  /** the directory holding the restored postgresql.conf (or the engine's equivalent) */
  readonly configDir: string;
  /** what the restore changed in them so that they serve the restored copy (one line each) */
  readonly notes: readonly string[];
}

/** What preparing a data directory found that finishing it puts back. */
export interface PreparedDirectory {
  /** the directory the old data directory's pg_wal linked to (initdb --waldir), linked again by finish */
  readonly walLink?: string;
}

/** A space as a backup recorded it, for the restore. */
export interface RecordedSpace {
  readonly name: string;
  readonly critical: boolean;
  readonly oid: number | null;
  readonly location: string | null;
}

/** One level of a space's chain for a restore: its save sets' streams, opened when needed. */
export interface RestoreLevel {
  readonly level: number;
  readonly parts: readonly (() => AsyncIterable<Buffer>)[];
  /** by part: written by an interrupted restore (durably: recorded after onPartDone), not to be written again */
  readonly done?: readonly boolean[];
}

/** An old data directory a restore is about to overwrite, for log salvage. */
export interface OldDataDirectory {
  /** its pg_control's system, or why it cannot be read (undefined: no directory, or no cluster in it) */
  readonly identity: ClusterIdentity | { readonly problem: string } | undefined;
  /** set when openbar restored it as a copy that does not archive (--archive-mode off) */
  readonly restoredCopy?: string;
  /** the WAL segment and history files of its pg_wal, oldest first */
  readonly walFiles: readonly { name: string; path: string; kind: 'segment' | 'history' }[];
}

/**
 * The archive's timelines (from its history files): which WAL a recovery following one
 * of them reads. LSNs are the engine's text form; file names its WAL file names.
 */
export interface WalTimelines {
  /** timeline 1 and those with a history file, ascending */
  readonly timelines: readonly number[];
  /** whether recovery following `timeline` passes through [fromLsn, toLsn] written on `on` */
  holds(timeline: number, on: number, fromLsn: string, toLsn: string): boolean;
  /** the timeline of `timeline`'s path current at `lsn` */
  timelineAt(timeline: number, lsn: string): number | undefined;
  /** whether WAL segment `name` is one recovery following `timeline` reads */
  onPath(timeline: number, name: string): boolean;
  /** the segments recovery following `timeline` reads from the one holding `fromLsn` on, in order (endless) */
  files(
    timeline: number,
    fromLsn: string,
  ): Iterable<{ readonly name: string; readonly start: string; readonly end: string }>;
}

/**
 * The engine's offline side: what it knows and does with no server running. Data
 * directories (a server running in one, an old one's WAL, checking, preparing, writing
 * spaces back, finishing, a trial start), WAL file names and timelines, and recovery
 * targets with the times they name. Restore, verify, expire, status and `log` use it.
 */
export interface OfflineEngine extends WalFileRules {
  /** pid of a server running in `dataDir`, if any */
  runningServer(dataDir: string): number | undefined;
  /** what an existing data directory holds for salvage: whose it is, and its WAL */
  oldDirectory(dataDir: string): OldDataDirectory;
  /**
   * Why `dir` cannot receive a restore (not empty and not an old cluster of its kind, not
   * writable), or undefined; reads only, so --plan checks what the restore checks.
   */
  checkDirectory(dir: string, role: 'data' | 'tablespace'): string | undefined;
  /**
   * Makes `dir` ready to receive a restore: empty, or an old cluster's files cleared. What
   * it returns the restore keeps outside what streams write (its restart record) and hands
   * to finish.
   */
  prepareDirectory(dir: string, role: 'data' | 'tablespace'): PreparedDirectory;
  /**
   * The archive's timelines from the content of its history files (name to content);
   * `problems`: history files that cannot be used (the timeline stays unknown).
   */
  walTimelines(
    histories: ReadonlyMap<string, Uint8Array>,
    segmentSize: number,
  ): { timelines: WalTimelines; problems: string[] };
  spaceRoot(dataDir: string, space: RecordedSpace, mappedLocation: string | undefined): string;
  restoreSpace(
    stream: AsyncIterable<Buffer>,
    root: string,
    opts: { onBytes?: (n: number) => void; signal?: AbortSignal },
  ): Promise<{ files: number; bytes: number }>;
  /**
   * Restores a space from its chain of levels, newest first (level 2, 1, then the level 0
   * it rests on), writing each page once: the newest level decides the files and their
   * sizes, older levels fill in only what no newer level wrote. Parts of one level run
   * `parallel` at a time; levels strictly in order. Durable when it resolves, and each part
   * once `onPartDone(depth, part)` is called for it (depth 0: the newest level): a restore
   * cut short resumes with the parts recorded so as `done`, and writes only the others.
   */
  restoreChain(
    levels: readonly RestoreLevel[],
    root: string,
    opts: {
      parallel?: number;
      onBytes?: (n: number) => void;
      signal?: AbortSignal;
      onPartDone?: (depth: number, part: number) => void;
    },
  ): Promise<{ files: number; bytes: number }>;
  /**
   * backup_label, tablespace links, recovery settings, what prepareDirectory found to put
   * back (`prepared`), and everything flushed to disk
   */
  finish(
    dataDir: string,
    f: {
      labelFiles: readonly { name: string; content: string }[];
      tablespaces: readonly { oid: number; location: string }[];
      recovery: RecoverySettings;
      prepared?: PreparedDirectory;
    },
  ): Promise<void>;
  /** a recovery target from the command line (a USAGE error naming the flag when it is not one) */
  parseTarget(kind: RecoveryTarget['kind'], value: string): RecoveryTarget;
  /** a point in time as the engine's users write it (ms since the epoch; without a zone, local time); undefined when it is not one */
  parseTime(text: string): number | undefined;
  compareLsn(a: string, b: string): number;
  /** the segment following `wal` on its timeline */
  nextWal(wal: string, segmentSize: number): string;
  /**
   * Where a stored WAL file sits in the log, for retention: `position` sorts like the
   * log whatever the timeline; timeline history files have none (they are always kept).
   */
  walPosition(
    name: string,
  ): { kind: 'segment' | 'history' | 'backup' | 'partial'; position: string | null; timeline: number } | undefined;
  /**
   * Why the configuration files `entries` cannot be written for a restore (into
   * `configDir` when given, else into the restored data directory), or undefined; reads
   * only, and runs in the plan, before anything is restored. Never over files a running
   * server uses (`ours`: files there were written by this restore, resumed), nor where the
   * restored spaces have files.
   */
  checkConfigPlace(
    entries: readonly ConfigEntry[],
    configDir: string | undefined,
    opts: { ours: boolean },
  ): string | undefined;
  /**
   * Writes configuration files `entries` for the restored `dataDir`: into `configDir` when
   * given, else into the data directory, changed so that they serve the restored copy and
   * not the original.
   */
  placeConfig(entries: readonly ConfigEntry[], f: { dataDir: string; configDir: string | undefined }): PlacedConfig;
  /** The command that starts a restored server (its configuration in `configDir`, else in `dataDir`). */
  startCommand(dataDir: string, configDir: string | undefined): string;
  /**
   * The server programs a restore test of a backup of server version `pgVersion`
   * (server_version_num) runs with (`pgBin`, the pg_bin setting, names them), opaque to
   * the caller and handed to trialRun; or why there are none here, with its fix.
   */
  trialPrograms(pgVersion: number, pgBin: string | undefined): TrialProgramsFound;
  /**
   * Starts a restored directory on a free port (socket in `workDir`) with the server
   * programs trialPrograms found (undefined: a backup that records no version, found by
   * the directory itself, with `pgBin` when set), checks every database, stops it.
   */
  trialRun(
    dataDir: string,
    workDir: string,
    user: string,
    programs: TrialProgramsFound['programs'] | undefined,
    pgBin: string | undefined,
  ): Promise<{ passed: boolean; detail: string; problems: readonly string[] }>;
}

/** The engine's server programs for a restore test, or why there are none. */
export type TrialProgramsFound =
  | { readonly programs: unknown; readonly problem?: undefined }
  | { readonly programs?: undefined; readonly problem: string; readonly hint: string };

/** A relation file a problem is in, for naming it (database, relation, relfilenode). */
export interface RelationRef {
  readonly dbOid: number;
  readonly spcOid: number;
  readonly relfilenode: number;
  readonly fork: string;
  readonly segment: number;
}

/** One problem archive validation found, as data (the verifier goes on after it). */
export interface ArchiveFinding {
  readonly space: string;
  readonly path: string;
  /** block number within the relation (all segments), when the problem is a page */
  readonly block?: number;
  readonly lastBlock?: number;
  readonly relation?: RelationRef;
  readonly problem: string;
}

/** Which bytes of which files the save sets of one space hold (opaque to the client). */
export interface SpaceCoverage {
  readonly fileCount: number;
}

/** What archive validation (archecker) needs from the engine: reading its formats, reading only. */
export interface ArchiveChecker {
  newCoverage(): SpaceCoverage;
  /**
   * Scan phase of one save set of a space: every record is read, every page checked.
   * `startLsn` is that of the backup that wrote the save set; `depth` its place in the
   * space's chain (0, the default: the newest level, whose files and sizes count; 1: its
   * base; …). Every level's pages count as present.
   */
  scanSpace(
    stream: AsyncIterable<Buffer>,
    opts: {
      space: string;
      spaceOid: number | null;
      startLsn: string;
      checksums: boolean;
      coverage: SpaceCoverage;
      depth?: number;
      onFinding: (f: ArchiveFinding) => void;
      onBytes?: (n: number) => void;
      /** the control file's content, when this save set holds it */
      onControlFile?: (content: Buffer) => void;
    },
  ): Promise<{ files: number; pages: number; bytes: number }>;
  /** Verification phase: every file complete up to its recorded size. */
  coverageGaps(space: string, spaceOid: number | null, coverage: SpaceCoverage): Iterable<ArchiveFinding>;
  /** A problem with the control file, or undefined when it is valid and of this system. */
  checkControlFile(content: Buffer, systemId: string): string | undefined;
  /** Page-header checks of one stored WAL file fed in chunks. */
  walFileCheck(name: string, segmentSize: number, systemId: string): { push(chunk: Uint8Array): void; end(): string[] };
}
