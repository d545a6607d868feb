// The engine adapter: everything the backup client (bar/) needs from a database
// server, and nothing about its file formats. PostgreSQL is engine/postgres/.

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

export interface SpaceReadOptions {
  readonly server: string;
  readonly systemId: string;
  readonly level: number;
  readonly part: number;
  readonly parts: number;
  readonly startLsn: string;
  readonly checksums: boolean;
  readonly signal?: AbortSignal;
  onBadPage(p: BadPage): void;
  onBytes(n: number): void;
}

export type RecoveryTarget =
  | { readonly kind: 'latest' }
  | { readonly kind: 'time'; readonly value: string; readonly ms: number }
  | { readonly kind: 'lsn'; readonly value: string }
  | { readonly kind: 'xid'; readonly value: string }
  | { readonly kind: 'name'; readonly value: string };

export interface RecoverySettings {
  readonly target: RecoveryTarget;
  readonly restoreCommand: string;
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
   * fails the object. Resolves with the bytes accepted (0: the caller must use pour).
   */
  pourAhead?(fill: (space: Buffer) => { bytes: number; arrived: Promise<void> }): Promise<number>;
  /**
   * Bytes to write before the next byte lands `block`-aligned in a page-aligned transfer
   * buffer, where a direct (O_DIRECT) read may fill it; undefined when the buffers are not
   * page-aligned memory or `block` does not divide them.
   */
  gapToAligned?(block: number): number | undefined;
}

export interface EngineAdapter {
  describe(): Promise<ServerInfo>;
  startBackup(label: string): Promise<BackupHandle>;
  spaces(): Promise<SpaceInfo[]>;
  listFiles(space: SpaceInfo): Promise<SpaceFile[]>;
  /**
   * Before the parts of a space are copied: its files in the order the copies will pull
   * them. The engine may read some ahead (into bounded memory) while others are copied.
   */
  prepareCopy?(space: SpaceInfo, files: readonly SpaceFile[]): void;
  /**
   * Writes the space stream of `files` into `sink`; file data is read straight into the
   * sink's buffers. `files` is pulled one at a time as the copy goes (it may be a queue
   * shared with other copies of the same space).
   */
  copySpace(space: SpaceInfo, files: Iterable<SpaceFile>, sink: ByteSink, opts: SpaceReadOptions): Promise<void>;
  switchWal(): Promise<{ lsn: string; walFile: string }>;
  /** Where the server keeps WAL file `name` until it is archived and recycled (it may be gone). */
  walFilePath(name: string): Promise<string>;
  createRestorePoint(name: string): Promise<{ lsn: string; time: string; xid: string }>;
  close(): Promise<void>;
}

/** A space as a backup recorded it, for the restore. */
export interface RecordedSpace {
  readonly name: string;
  readonly critical: boolean;
  readonly oid: number | null;
  readonly location: string | null;
}

/** What a cold restore needs from the engine, with no server running. */
export interface ColdRestoreEngine {
  /** pid of a server running in `dataDir`, if any */
  runningServer(dataDir: string): number | undefined;
  /** WAL files in an existing data directory that may not have been archived */
  salvageableWal(dataDir: string): { name: string; path: string }[];
  /** makes `dir` ready to receive a restore: empty, or an old cluster's files cleared */
  prepareDirectory(dir: string, role: 'data' | 'tablespace'): void;
  spaceRoot(dataDir: string, space: RecordedSpace, mappedLocation: string | undefined): string;
  restoreSpace(stream: AsyncIterable<Buffer>, root: string, opts: { onBytes?: (n: number) => void; signal?: AbortSignal }): Promise<{ files: number; bytes: number }>;
  /** backup_label, tablespace links, recovery settings, and everything flushed to disk */
  finish(dataDir: string, f: { labelFiles: readonly { name: string; content: string }[]; tablespaces: readonly { oid: number; location: string }[]; recovery: RecoverySettings }): Promise<void>;
  parseTarget(kind: RecoveryTarget['kind'], value: string): RecoveryTarget;
  compareLsn(a: string, b: string): number;
  /** WAL segment names from `fromWal` up to the one holding `lsn` (same timeline) */
  walFilesUpTo(fromWal: string, lsn: string, segmentSize: number): string[];
  /** the segment following `wal` on its timeline */
  nextWal(wal: string, segmentSize: number): string;
  /**
   * Where a stored WAL file sits in the log, for retention: `position` sorts like the
   * log whatever the timeline; timeline history files have none (they are always kept).
   */
  walPosition(name: string): { kind: 'segment' | 'history' | 'backup' | 'partial'; position: string | null } | undefined;
}
