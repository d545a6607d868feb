// The PostgreSQL engine adapter: one connection for questions and one held session
// for backup mode; files are read straight from the data directory.

import fs from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { fail } from '../../../common/errors.js';
import type {
  BackupHandle,
  ByteSink,
  ClusterIdentity,
  ConfigEntry,
  EngineAdapter,
  WalFileExpectations,
  IncrementalSource,
  ServerInfo,
  SpaceFile,
  SpaceInfo,
  SpaceReadOptions,
  WalFacts,
  WalSources,
  WalReadingOptions,
} from '../../engine.js';
import { startBackup } from './backup-session.js';
import { readConfigFiles, type ConfigNames } from './config-files.js';
import { connect, queryOne, type PgConnectionSettings } from './pg-connection.js';
import { criticalSpace, defaultSpace, listSpaceFiles } from '../backup/spaces.js';
import { copySpace } from '../backup/copy-space.js';
import { copiedWhole, newSinceBase, pagesKnownToBase, unchangedOnDisk } from '../backup/incremental-rules.js';
import type { PageChanges } from '../wal/page-changes.js';
import { WalChangesReading } from '../wal/wal-changes.js';
import { formatLsn, parseLsn, walFileTimeline } from '../format/lsn.js';
import { CONTROL_FILE, readControlFile } from '../format/control-file.js';
import { majorFacts, majorOfVersionNum, unsupportedServer } from '../format/server-version.js';
import { SmallFileCache } from '../backup/small-file-cache.js';
import { clusterIdentity } from '../restore/cluster-dir.js';
import { WalFileCheck } from '../format/wal-file-check.js';
import { isoTime } from '../../../common/units.js';
import { PAGE_SIZE } from '../format/page-size.js';
import { DEFAULTTABLESPACE_OID } from '../format/relation-path.js';

export interface PostgresSettings extends PgConnectionSettings {
  readonly dataDir: string | undefined;
}

export class PostgresAdapter implements EngineAdapter {
  private client: pg.Client | undefined;
  /** the connection that holds backup mode (its session must live until the stop) */
  private backupClient: Promise<pg.Client> | undefined;
  private describing: Promise<ServerInfo> | undefined;
  /** per space: the order its files will be copied in (prepareCopy), then its small files read ahead */
  private readonly smallFiles = new Map<string, readonly SpaceFile[] | SmallFileCache>();

  constructor(private readonly s: PostgresSettings) {}

  private async db(): Promise<pg.Client> {
    this.client ??= await connect(this.s);
    return this.client;
  }

  /** the main, hba and ident files the server named, asked with the rest of describe() */
  private configNames: ConfigNames | undefined;

  /** Asked once: callers at the same time share the one question. */
  describe(): Promise<ServerInfo> {
    this.describing ??= this.ask();
    return this.describing;
  }

  private async ask(): Promise<ServerInfo> {
    const c = await this.db();
    const r = await queryOne<Record<string, string>>(
      c,
      `SELECT
      (SELECT system_identifier::text FROM pg_control_system()) AS system_id,
      current_setting('server_version_num') AS version, current_setting('server_version') AS version_text,
      current_setting('data_directory') AS data_dir, current_setting('data_checksums') AS checksums,
      (SELECT setting FROM pg_settings WHERE name = 'block_size') AS block_size,
      (SELECT setting FROM pg_settings WHERE name = 'wal_segment_size') AS wal_segment_size,
      current_setting('archive_mode') AS archive_mode, current_setting('archive_command') AS archive_command,
      current_setting('config_file') AS config_file, current_setting('hba_file') AS hba_file,
      current_setting('ident_file') AS ident_file,
      pg_is_in_recovery()::text AS in_recovery,
      CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_current_wal_flush_lsn()::text END AS flush_lsn`,
    );
    if (r.in_recovery === 'true')
      fail('PG', 'the server is a standby (in recovery)', 'back up the primary; standby backups are not supported yet');
    const info: ServerInfo = {
      systemId: r.system_id!,
      version: Number(r.version),
      versionText: r.version_text!,
      dataDir: r.data_dir!,
      checksums: r.checksums === 'on',
      pageSize: Number(r.block_size),
      walSegmentSize: Number(r.wal_segment_size),
      archiveMode: r.archive_mode!,
      archiveCommand: r.archive_command!,
      walFlushLsn: r.flush_lsn!,
    };
    this.configNames = { main: r.config_file!, hba: r.hba_file!, ident: r.ident_file! };
    const unsupported = unsupportedServer(info.version, info.versionText);
    if (unsupported) fail('PG', unsupported.message, unsupported.hint);
    if (info.pageSize !== PAGE_SIZE) fail('PG', `block size ${info.pageSize} is not supported (only ${PAGE_SIZE})`);
    if (this.s.dataDir && path.resolve(this.s.dataDir) !== path.resolve(info.dataDir)) {
      const same = fs.existsSync(this.s.dataDir) && fs.realpathSync(this.s.dataDir) === fs.realpathSync(info.dataDir);
      if (!same)
        fail(
          'CONFIG',
          `pg_data is ${this.s.dataDir} but the server at ${this.s.host}:${this.s.port} runs on ${info.dataDir}`,
          'fix pg_data or pg_port in the config',
        );
    }
    return info;
  }

  async startBackup(label: string): Promise<BackupHandle> {
    const info = await this.describe();
    this.prepareBackup();
    const facts = majorFacts(majorOfVersionNum(info.version))!; // describe refused every other major
    return startBackup(await this.backupClient!, facts, info.walSegmentSize, label);
  }

  async spaces(): Promise<SpaceInfo[]> {
    const info = await this.describe();
    const c = await this.db();
    const rows = (
      await c.query<{ oid: number; spcname: string; location: string }>(
        "SELECT oid::int AS oid, spcname, pg_tablespace_location(oid) AS location FROM pg_tablespace WHERE spcname NOT IN ('pg_default', 'pg_global') ORDER BY spcname",
      )
    ).rows;
    return [
      criticalSpace(info.dataDir),
      defaultSpace(info.dataDir),
      ...rows.map((r) => ({ name: r.spcname, critical: false, oid: r.oid, root: r.location })),
    ];
  }

  async listFiles(space: SpaceInfo, onNote?: (note: string) => void): Promise<SpaceFile[]> {
    const info = await this.describe();
    return listSpaceFiles(space, { majorVersion: majorOfVersionNum(info.version), ...(onNote ? { onNote } : {}) });
  }

  prepareCopy(space: SpaceInfo, files: readonly SpaceFile[]): void {
    const old = this.smallFiles.get(space.name);
    if (old instanceof SmallFileCache) old.stop();
    this.smallFiles.set(space.name, files);
  }

  copySpace(space: SpaceInfo, files: Iterable<SpaceFile>, sink: ByteSink, opts: SpaceReadOptions): Promise<void> {
    // reading ahead starts with the space's first part, so only spaces being copied hold
    // memory; an incremental reads ahead only the files it copies whole
    let cache = this.smallFiles.get(space.name);
    if (cache !== undefined && !(cache instanceof SmallFileCache)) {
      const inc = opts.incremental;
      cache = new SmallFileCache(space.root, inc ? cache.filter((f) => copiedWhole(f, inc)) : cache);
      this.smallFiles.set(space.name, cache);
    }
    return copySpace(space, files, sink, opts, cache);
  }

  async walChanges(
    fromLsn: string,
    timeline: number,
    sources: WalSources,
    known?: WalFacts,
    opts: WalReadingOptions = {},
  ): Promise<WalChangesReading> {
    // with what the base recorded and pg_data configured, the server need not be asked first
    const facts =
      known && this.s.dataDir
        ? { ...known, dataDir: this.s.dataDir }
        : await this.describe().then((i) => ({
            segmentSize: i.walSegmentSize,
            systemId: i.systemId,
            dataDir: i.dataDir,
          }));
    return new WalChangesReading({
      fromLsn,
      timeline,
      segmentSize: facts.segmentSize,
      systemId: facts.systemId,
      pgWal: path.join(facts.dataDir, 'pg_wal'),
      sources,
      ...(opts.lend ? { lend: opts.lend } : {}),
      pageImages: opts.pageImages ?? false,
    });
  }

  compareLsn(a: string, b: string): number {
    const x = parseLsn(a);
    const y = parseLsn(b);
    return x < y ? -1 : x > y ? 1 : 0;
  }

  incrementalBytes(space: SpaceInfo, file: SpaceFile, source: IncrementalSource): number {
    const bytes = file.range?.length ?? file.size;
    if (file.type !== 'file' || source.method === 'scan' || !source.changes) return bytes;
    if (unchangedOnDisk(file, source)) return 0;
    if (newSinceBase(file, source)) return bytes;
    const pick = (source.changes as PageChanges).pagesOf(space, file.path);
    if (pick === 'whole') return bytes;
    // and the pages past what the base holds (a listed one among them counted twice: an estimate)
    const from = (file.range?.offset ?? 0) / PAGE_SIZE;
    const to = Math.floor((file.range ? file.range.offset + file.range.length : file.size) / PAGE_SIZE);
    return (pick.length + Math.max(0, to - Math.max(from, pagesKnownToBase(file, source)))) * PAGE_SIZE;
  }

  async switchWal(): Promise<{ lsn: string; walFile: string }> {
    const c = await this.db();
    const r = await queryOne<{ lsn: string; walfile: string }>(
      c,
      'SELECT lsn::text AS lsn, pg_walfile_name(lsn) AS walfile FROM pg_switch_wal() AS lsn',
    );
    return { lsn: r.lsn, walFile: r.walfile };
  }

  async walFilePath(name: string): Promise<string> {
    if (path.basename(name) !== name) fail('USAGE', `'${name}' is not a WAL file name`);
    return path.join((await this.describe()).dataDir, 'pg_wal', name);
  }

  async createRestorePoint(name: string): Promise<{ lsn: string; time: string; xid: string; timeline: number }> {
    const c = await this.db();
    const r = await queryOne<{ lsn: string; now: Date; wal: string }>(
      c,
      'SELECT p::text AS lsn, clock_timestamp() AS now, pg_walfile_name(p) AS wal FROM pg_create_restore_point($1) AS p',
      [name],
    );
    const x = await queryOne<{ next: string }>(c, 'SELECT txid_current_snapshot()::text AS next');
    return { lsn: r.lsn, time: isoTime(r.now), xid: String(x.next).split(':')[1]!, timeline: walFileTimeline(r.wal) };
  }

  /**
   * Names for relation files, as the server knows them now (best effort: a relation
   * dropped since the backup has none). Keys are `dbOid/relfilenode`.
   */
  async relationNames(
    list: readonly { dbOid: number; spcOid: number; relfilenode: number }[],
  ): Promise<Map<string, { database: string; relation: string | null }>> {
    const out = new Map<string, { database: string; relation: string | null }>();
    if (list.length === 0) return out;
    const c = await this.db();
    const dbs = new Map(
      (await c.query<{ oid: number; datname: string }>('SELECT oid::int AS oid, datname FROM pg_database')).rows.map(
        (r) => [r.oid, r.datname],
      ),
    );
    for (const dbOid of new Set(list.map((x) => x.dbOid))) {
      const datname = dbOid === 0 ? this.s.database : dbs.get(dbOid);
      if (datname === undefined) continue;
      const mine = list.filter((x) => x.dbOid === dbOid);
      const conn =
        datname === this.s.database ? c : await connect({ ...this.s, database: datname }).catch(() => undefined);
      if (!conn) continue;
      try {
        for (const x of mine) {
          const r = await conn
            .query<{ rel: string | null }>('SELECT pg_filenode_relation($1, $2)::regclass::text AS rel', [
              x.spcOid === DEFAULTTABLESPACE_OID ? 0 : x.spcOid,
              x.relfilenode,
            ])
            .catch(() => ({ rows: [{ rel: null }] }));
          out.set(`${dbOid}/${x.relfilenode}`, {
            database: dbOid === 0 ? '(shared)' : datname,
            relation: r.rows[0]?.rel ?? null,
          });
        }
      } finally {
        if (conn !== c) await conn.end().catch(() => {});
      }
    }
    return out;
  }

  localIdentity(): ClusterIdentity | undefined {
    if (!this.s.dataDir) return undefined;
    const id = clusterIdentity(this.s.dataDir);
    return id && 'systemId' in id ? id : undefined;
  }

  walFileCheck(name: string, expect: WalFileExpectations): WalFileCheck {
    return new WalFileCheck(name, expect);
  }

  walSurelyWritten(): { systemId: string; lsn: string } | undefined {
    if (!this.s.dataDir) return undefined;
    try {
      const c = readControlFile(fs.readFileSync(path.join(this.s.dataDir, CONTROL_FILE)));
      // a file read while the server rewrote it fails its CRC: nothing is known then
      if ('error' in c || c.crcOffset === undefined) return undefined;
      return { systemId: c.systemId, lsn: formatLsn(c.checkPointLsn) };
    } catch {
      return undefined;
    }
  }

  prepareBackup(): void {
    if (this.backupClient) return;
    this.backupClient = connect(this.s, 'openbar backup');
    this.backupClient.catch(() => {}); // thrown where startBackup awaits it
  }

  async configFiles(): Promise<ConfigEntry[]> {
    const info = await this.describe();
    return readConfigFiles(this.configNames!, info.dataDir);
  }

  async close(): Promise<void> {
    for (const c of this.smallFiles.values()) if (c instanceof SmallFileCache) c.stop();
    this.smallFiles.clear();
    const backupClient = await this.backupClient?.catch(() => undefined);
    await Promise.all([this.client?.end().catch(() => {}), backupClient?.end().catch(() => {})]);
    this.client = undefined;
    this.backupClient = undefined;
  }
}
