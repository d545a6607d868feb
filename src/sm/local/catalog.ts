// The storage manager's catalog (catalog.db, SQLite): pools, volumes, transactions,
// save sets and their fragments. The only module that touches catalog.db. It records
// what the volumes hold; the volumes stay the truth (the catalog can be rebuilt).
// It is private (0600, and so its -wal and -shm) whatever the umask.

import Database from 'better-sqlite3';
import { Statements } from '../../common/sqlite-statements.js';
import { randomUUID } from 'node:crypto';
import { fail } from '../../common/errors.js';
import { ownerAlive } from '../../common/process-owner.js';
import { ensurePrivateFile } from '../../common/private-modes.js';
import type { Compression, ObjectQuery, SaveSetInfo } from '../storage-manager.js';
import type { PoolInfo } from '../storage-admin.js';
import { isoTime } from '../../common/units.js';

const SCHEMA_VERSION = 1;

const schema = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pools (
  name TEXT PRIMARY KEY, device TEXT NOT NULL, max_volume_size INTEGER NOT NULL,
  retention_days INTEGER, compression TEXT, created TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS volumes (
  id INTEGER PRIMARY KEY AUTOINCREMENT, label TEXT NOT NULL UNIQUE, pool TEXT NOT NULL REFERENCES pools(name),
  sequence INTEGER NOT NULL, path TEXT NOT NULL, state TEXT NOT NULL CHECK (state IN ('open','full','damaged','recyclable')),
  created TEXT NOT NULL, closed TEXT, size INTEGER NOT NULL, mounted_by TEXT, UNIQUE (pool, sequence));
CREATE TABLE IF NOT EXISTS txns (
  id INTEGER PRIMARY KEY AUTOINCREMENT, owner TEXT NOT NULL, started TEXT NOT NULL, updated TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('open','committed','aborted')), bytes INTEGER NOT NULL DEFAULT 0, current TEXT);
CREATE TABLE IF NOT EXISTS savesets (
  id INTEGER PRIMARY KEY AUTOINCREMENT, txn INTEGER NOT NULL, state TEXT NOT NULL CHECK (state IN ('writing','committed')),
  pool TEXT NOT NULL, server TEXT NOT NULL, name TEXT NOT NULL, kind TEXT NOT NULL, level INTEGER,
  meta TEXT NOT NULL, created TEXT NOT NULL, committed TEXT, raw_bytes INTEGER NOT NULL DEFAULT 0,
  stored_bytes INTEGER NOT NULL DEFAULT 0, records INTEGER NOT NULL DEFAULT 0, hash TEXT, compression TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS savesets_lookup ON savesets (server, kind, name);
CREATE TABLE IF NOT EXISTS fragments (
  saveset INTEGER NOT NULL REFERENCES savesets(id) ON DELETE CASCADE, part INTEGER NOT NULL,
  volume INTEGER NOT NULL REFERENCES volumes(id), offset INTEGER NOT NULL, length INTEGER NOT NULL,
  first_seq INTEGER NOT NULL, PRIMARY KEY (saveset, part));
CREATE INDEX IF NOT EXISTS fragments_volume ON fragments (volume);
CREATE TABLE IF NOT EXISTS deleted (id INTEGER PRIMARY KEY, time TEXT NOT NULL);
`;

/** Added after version 1 was first written; created on open when missing. */
const additions = `
CREATE TABLE IF NOT EXISTS deleted_volumes (id INTEGER NOT NULL, volume INTEGER NOT NULL, PRIMARY KEY (id, volume));
-- the open transactions, looked for by every transaction's start (stale owners), without a
-- walk over one row per transaction ever made (one per archived WAL file)
CREATE INDEX IF NOT EXISTS txns_open ON txns (owner) WHERE state = 'open';
-- a transaction's save sets (its commit, its abort) without a walk over every save set
CREATE INDEX IF NOT EXISTS savesets_txn ON savesets (txn);
-- a save set by name whatever its kind (a WAL file and its summary), without a walk over
-- every save set of the server: savesets_lookup serves only a lookup that names the kind
CREATE INDEX IF NOT EXISTS savesets_name ON savesets (server, name);
`;

/** A pool as the catalog keeps it: what administration shows, less the figures counted from its volumes. */
export type PoolRow = Omit<PoolInfo, 'volumes' | 'bytes'>;

export type VolumeState = 'open' | 'full' | 'damaged' | 'recyclable';

export interface VolumeRow {
  readonly id: number;
  readonly label: string;
  readonly pool: string;
  readonly sequence: number;
  readonly path: string;
  readonly state: VolumeState;
  readonly created: string;
  readonly closed: string | null;
  readonly size: number;
  readonly mountedBy: string | null;
}

export interface FragmentRow {
  readonly saveset: number;
  readonly part: number;
  readonly volume: number;
  readonly label: string;
  readonly path: string;
  readonly offset: number;
  readonly length: number;
  readonly firstSeq: number;
}

export interface TxnRow {
  readonly id: number;
  readonly owner: string;
  readonly started: string;
  readonly updated: string;
  readonly state: string;
  readonly bytes: number;
  readonly current: string | null;
}

export interface NewSaveSet {
  readonly txn: number;
  readonly pool: string;
  readonly server: string;
  readonly name: string;
  readonly kind: string;
  readonly level: number | null;
  readonly meta: Record<string, unknown>;
  readonly created: string;
  readonly compression: Compression;
}

export interface SaveSetTotals {
  readonly rawBytes: number;
  readonly storedBytes: number;
  readonly records: number;
  readonly hash: string;
}

/** Volume state after a commit: its new committed size, and whether it is now closed. */
export interface VolumeCommit {
  readonly id: number;
  readonly size: number;
  readonly full: boolean;
}

type Row = Record<string, unknown>;

const volumeOf = (r: Row): VolumeRow => ({
  id: r.id as number,
  label: r.label as string,
  pool: r.pool as string,
  sequence: r.sequence as number,
  path: r.path as string,
  state: r.state as VolumeState,
  created: r.created as string,
  closed: (r.closed as string | null) ?? null,
  size: r.size as number,
  mountedBy: (r.mounted_by as string | null) ?? null,
});

const poolOf = (r: Row): PoolRow => ({
  name: r.name as string,
  device: r.device as string,
  maxVolumeSize: r.max_volume_size as number,
  retentionDays: (r.retention_days as number | null) ?? null,
  compression: (r.compression as Compression | null) ?? null,
  created: r.created as string,
});

export class Catalog {
  /** statements prepared once (see common/sqlite-statements.ts) */
  private readonly sql: Statements;

  private constructor(
    private readonly db: Database.Database,
    readonly file: string,
  ) {
    this.sql = new Statements(db);
  }

  static open(file: string, opts: { create: boolean; smId?: string }): Catalog {
    let db: Database.Database;
    try {
      if (opts.create) ensurePrivateFile(file);
      db = new Database(file, { fileMustExist: !opts.create, timeout: 30_000 });
    } catch (err) {
      fail('IO', `cannot open catalog ${file}: ${(err as Error).message}`);
    }
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    const catalog = new Catalog(db, file);
    if (opts.create) catalog.initSchema(opts.smId ?? randomUUID());
    else catalog.checkSchema();
    db.exec(additions);
    return catalog;
  }

  private initSchema(smId: string): void {
    this.db.exec(schema);
    const put = this.sql.get('INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)');
    put.run('schema_version', String(SCHEMA_VERSION));
    put.run('sm_id', smId);
  }

  private checkSchema(): void {
    let v: string | undefined;
    try {
      v = this.meta('schema_version');
    } catch {
      fail(
        'FORMAT',
        `${this.file} is not an openbar catalog`,
        'run `openbar sm scan --rebuild` to rebuild it from the volumes',
      );
    }
    if (v !== String(SCHEMA_VERSION))
      fail('FORMAT', `catalog ${this.file} has schema version ${v}, this openbar reads ${SCHEMA_VERSION}`);
  }

  meta(key: string): string | undefined {
    const r = this.sql.get('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined;
    return r?.value;
  }

  get smId(): string {
    return this.meta('sm_id')!;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  /** A consistent copy of the whole catalog into `dest` (for the bootstrap). */
  async snapshotTo(dest: string): Promise<void> {
    ensurePrivateFile(dest);
    await this.db.backup(dest);
  }

  // ---- pools ---------------------------------------------------------------

  pools(): PoolRow[] {
    return (this.sql.get('SELECT * FROM pools ORDER BY name').all() as Row[]).map(poolOf);
  }

  pool(name: string): PoolRow | undefined {
    const r = this.sql.get('SELECT * FROM pools WHERE name = ?').get(name) as Row | undefined;
    return r ? poolOf(r) : undefined;
  }

  createPool(p: Omit<PoolRow, 'created'> & { created?: string }): PoolRow {
    const created = p.created ?? isoTime();
    this.sql
      .get(
        'INSERT INTO pools (name, device, max_volume_size, retention_days, compression, created) VALUES (?, ?, ?, ?, ?, ?)',
      )
      .run(p.name, p.device, p.maxVolumeSize, p.retentionDays, p.compression, created);
    return this.pool(p.name)!;
  }

  // ---- volumes -------------------------------------------------------------

  volumes(pool?: string): VolumeRow[] {
    const rows =
      pool === undefined
        ? this.sql.get('SELECT * FROM volumes ORDER BY pool, sequence').all()
        : this.sql.get('SELECT * FROM volumes WHERE pool = ? ORDER BY sequence').all(pool);
    return (rows as Row[]).map(volumeOf);
  }

  volume(id: number): VolumeRow | undefined {
    const r = this.sql.get('SELECT * FROM volumes WHERE id = ?').get(id) as Row | undefined;
    return r ? volumeOf(r) : undefined;
  }

  /** The volumes appended to (state open): the only ones whose files grow. */
  openVolumes(): VolumeRow[] {
    return (this.sql.get("SELECT * FROM volumes WHERE state = 'open' ORDER BY id").all() as Row[]).map(volumeOf);
  }

  volumeByLabel(label: string): VolumeRow | undefined {
    const r = this.sql.get('SELECT * FROM volumes WHERE label = ?').get(label) as Row | undefined;
    return r ? volumeOf(r) : undefined;
  }

  /** Per pool: the highest volume sequence labelled (new volumes get the next). */
  maxSequences(): Map<string, number> {
    const rows = this.sql.get('SELECT pool, MAX(sequence) AS s FROM volumes GROUP BY pool').all() as {
      pool: string;
      s: number;
    }[];
    return new Map(rows.map((r) => [r.pool, r.s]));
  }

  /** Per volume: committed save sets with data in it. */
  volumeSaveSetCounts(): Map<number, number> {
    const rows = this.sql
      .get(
        "SELECT f.volume AS v, COUNT(DISTINCT f.saveset) AS n FROM fragments f JOIN savesets s ON s.id = f.saveset WHERE s.state = 'committed' GROUP BY f.volume",
      )
      .all() as { v: number; n: number }[];
    return new Map(rows.map((r) => [r.v, r.n]));
  }

  /**
   * Mounts a volume of `pool` for appending by `owner`: an open, unmounted one, or
   * else a new row (the caller writes its label). Stale mounts of dead owners are freed first.
   */
  mountForAppend(
    pool: string,
    owner: string,
    pathFor: (label: string) => string,
    labelSize: number,
  ): { volume: VolumeRow; isNew: boolean } {
    return this.db
      .transaction(() => {
        this.releaseStaleMounts();
        const free = this.sql
          .get(
            "SELECT * FROM volumes WHERE pool = ? AND state = 'open' AND mounted_by IS NULL ORDER BY sequence LIMIT 1",
          )
          .get(pool) as Row | undefined;
        if (free) {
          this.sql.get('UPDATE volumes SET mounted_by = ? WHERE id = ?').run(owner, free.id);
          return { volume: { ...volumeOf(free), mountedBy: owner }, isNew: false };
        }
        return { volume: this.insertVolume(pool, owner, pathFor, labelSize), isNew: true };
      })
      .immediate();
  }

  /** Labels a new, unmounted volume in `pool` (sm label); the caller writes its label block. */
  newVolume(pool: string, pathFor: (label: string) => string, labelSize: number, owner: string | null): VolumeRow {
    return this.db.transaction(() => this.insertVolume(pool, owner, pathFor, labelSize)).immediate();
  }

  private insertVolume(
    pool: string,
    owner: string | null,
    pathFor: (label: string) => string,
    labelSize: number,
  ): VolumeRow {
    const r = this.sql.get('SELECT COALESCE(MAX(sequence), 0) AS s FROM volumes WHERE pool = ?').get(pool) as {
      s: number;
    };
    const sequence = r.s + 1;
    const label = `${pool}.${String(sequence).padStart(4, '0')}`;
    const created = isoTime();
    const info = this.sql
      .get(
        "INSERT INTO volumes (label, pool, sequence, path, state, created, size, mounted_by) VALUES (?, ?, ?, ?, 'open', ?, ?, ?)",
      )
      .run(label, pool, sequence, pathFor(label), created, labelSize, owner);
    return this.volume(Number(info.lastInsertRowid))!;
  }

  unmount(volumeIds: readonly number[], owner: string): void {
    const stmt = this.sql.get('UPDATE volumes SET mounted_by = NULL WHERE id = ? AND mounted_by = ?');
    this.db.transaction(() => {
      for (const id of volumeIds) stmt.run(id, owner);
    })();
  }

  setVolumeState(id: number, state: VolumeState): void {
    this.sql.get('UPDATE volumes SET state = ? WHERE id = ?').run(state, id);
  }

  /** Frees mounts and aborts transactions whose owner process is gone (kill -9). */
  releaseStaleMounts(): number {
    const owners = new Set<string>();
    for (const r of this.sql.get('SELECT DISTINCT mounted_by AS o FROM volumes WHERE mounted_by IS NOT NULL').all() as {
      o: string;
    }[])
      owners.add(r.o);
    for (const r of this.sql.get("SELECT DISTINCT owner AS o FROM txns WHERE state = 'open'").all() as { o: string }[])
      owners.add(r.o);
    let n = 0;
    for (const o of owners) {
      if (ownerAlive(o)) continue;
      n++;
      this.db.transaction(() => {
        this.sql.get('UPDATE volumes SET mounted_by = NULL WHERE mounted_by = ?').run(o);
        const txns = this.sql.get("SELECT id FROM txns WHERE owner = ? AND state = 'open'").all(o) as { id: number }[];
        for (const t of txns) this.abortTxnRows(t.id);
      })();
    }
    return n;
  }

  // ---- transactions --------------------------------------------------------

  beginTxn(owner: string): number {
    const now = isoTime();
    const info = this.sql
      .get("INSERT INTO txns (owner, started, updated, state) VALUES (?, ?, ?, 'open')")
      .run(owner, now, now);
    return Number(info.lastInsertRowid);
  }

  txnProgress(txn: number, bytes: number, current: string | null): void {
    this.sql
      .get('UPDATE txns SET bytes = ?, current = ?, updated = ? WHERE id = ?')
      .run(bytes, current, isoTime(), txn);
  }

  openTxns(): TxnRow[] {
    return this.sql.get("SELECT * FROM txns WHERE state = 'open' ORDER BY id").all() as TxnRow[];
  }

  insertSaveSet(s: NewSaveSet): number {
    const info = this.sql
      .get(
        "INSERT INTO savesets (txn, state, pool, server, name, kind, level, meta, created, compression) VALUES (?, 'writing', ?, ?, ?, ?, ?, ?, ?, ?)",
      )
      .run(s.txn, s.pool, s.server, s.name, s.kind, s.level, JSON.stringify(s.meta), s.created, s.compression);
    return Number(info.lastInsertRowid);
  }

  addFragment(f: Omit<FragmentRow, 'label' | 'path'>): void {
    this.sql
      .get('INSERT INTO fragments (saveset, part, volume, offset, length, first_seq) VALUES (?, ?, ?, ?, ?, ?)')
      .run(f.saveset, f.part, f.volume, f.offset, f.length, f.firstSeq);
  }

  setTotals(id: number, t: SaveSetTotals): void {
    this.sql
      .get('UPDATE savesets SET raw_bytes = ?, stored_bytes = ?, records = ?, hash = ? WHERE id = ?')
      .run(t.rawBytes, t.storedBytes, t.records, t.hash, id);
  }

  /** The commit point of a transaction: its save sets become visible, its volumes advance. */
  commitTxn(txn: number, owner: string, volumes: readonly VolumeCommit[]): void {
    const now = isoTime();
    this.db
      .transaction(() => {
        this.sql.get("UPDATE savesets SET state = 'committed', committed = ? WHERE txn = ?").run(now, txn);
        const up = this.sql.get(
          "UPDATE volumes SET size = ?, state = CASE WHEN ? THEN 'full' ELSE state END, closed = CASE WHEN ? THEN ? ELSE closed END, mounted_by = NULL WHERE id = ? AND mounted_by = ?",
        );
        for (const v of volumes) up.run(v.size, v.full ? 1 : 0, v.full ? 1 : 0, now, v.id, owner);
        this.sql.get("UPDATE txns SET state = 'committed', updated = ? WHERE id = ?").run(now, txn);
      })
      .immediate();
  }

  abortTxn(txn: number, owner: string, volumeIds: readonly number[]): void {
    this.db
      .transaction(() => {
        this.abortTxnRows(txn);
        const up = this.sql.get('UPDATE volumes SET mounted_by = NULL WHERE id = ? AND mounted_by = ?');
        for (const id of volumeIds) up.run(id, owner);
      })
      .immediate();
  }

  private abortTxnRows(txn: number): void {
    this.sql
      .get("DELETE FROM fragments WHERE saveset IN (SELECT id FROM savesets WHERE txn = ? AND state = 'writing')")
      .run(txn);
    this.sql.get("DELETE FROM savesets WHERE txn = ? AND state = 'writing'").run(txn);
    this.sql.get("UPDATE txns SET state = 'aborted', updated = ? WHERE id = ?").run(isoTime(), txn);
  }

  // ---- save sets -----------------------------------------------------------

  query(q: ObjectQuery & { txn?: number }): SaveSetInfo[] {
    const where: string[] = ["s.state = 'committed'"];
    const args: unknown[] = [];
    const eq = (col: string, v: unknown) => {
      if (v !== undefined) {
        where.push(`${col} = ?`);
        args.push(v);
      }
    };
    eq('s.id', q.id);
    eq('s.server', q.server);
    eq('s.name', q.name);
    eq('s.kind', q.kind);
    eq('s.level', q.level);
    eq('s.pool', q.pool);
    eq('s.txn', q.txn);
    if (q.after !== undefined) {
      where.push('s.committed >= ?');
      args.push(q.after);
    }
    if (q.before !== undefined) {
      where.push('s.committed < ?');
      args.push(q.before);
    }
    const rows = this.sql
      .get(
        `SELECT s.*, (SELECT group_concat(label, ' ') FROM (SELECT v.label FROM fragments f JOIN volumes v ON v.id = f.volume WHERE f.saveset = s.id ORDER BY f.part)) AS vols
       FROM savesets s WHERE ${where.join(' AND ')} ORDER BY s.id`,
      )
      .all(...args) as Row[];
    return rows.map((r) =>
      Object.freeze({
        id: r.id as number,
        pool: r.pool as string,
        server: r.server as string,
        name: r.name as string,
        kind: r.kind as string,
        level: (r.level as number | null) ?? null,
        meta: JSON.parse(r.meta as string) as Record<string, unknown>,
        created: r.created as string,
        committed: r.committed as string,
        rawBytes: r.raw_bytes as number,
        storedBytes: r.stored_bytes as number,
        records: r.records as number,
        hash: r.hash as string,
        compression: r.compression as Compression,
        volumes: r.vols ? (r.vols as string).split(' ') : [],
      }),
    );
  }

  fragments(saveset: number): FragmentRow[] {
    const rows = this.sql
      .get(
        'SELECT f.*, v.label, v.path FROM fragments f JOIN volumes v ON v.id = f.volume WHERE f.saveset = ? ORDER BY f.part',
      )
      .all(saveset) as Row[];
    return rows.map((r) => ({
      saveset: r.saveset as number,
      part: r.part as number,
      volume: r.volume as number,
      label: r.label as string,
      path: r.path as string,
      offset: r.offset as number,
      length: r.length as number,
      firstSeq: r.first_seq as number,
    }));
  }

  deleteSaveSets(ids: readonly number[]): void {
    const now = isoTime();
    this.db
      .transaction(() => {
        for (const id of ids) {
          // where its data lay: a volume holding its tombstone is recycled only once these are too
          this.sql
            .get(
              'INSERT OR IGNORE INTO deleted_volumes (id, volume) SELECT saveset, volume FROM fragments WHERE saveset = ?',
            )
            .run(id);
          this.sql.get('DELETE FROM fragments WHERE saveset = ?').run(id);
          this.sql.get('DELETE FROM savesets WHERE id = ?').run(id);
          this.sql.get('INSERT OR REPLACE INTO deleted (id, time) VALUES (?, ?)').run(id, now);
        }
      })
      .immediate();
  }

  // ---- rebuild (sm scan --rebuild) -------------------------------------------

  /** Runs `fn` in one write transaction: one commit for several rows (the rebuild's, a save set's close). */
  inTransaction<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  insertVolumeRow(v: Omit<VolumeRow, 'id' | 'mountedBy'>): number {
    const info = this.sql
      .get(
        'INSERT INTO volumes (label, pool, sequence, path, state, created, closed, size, mounted_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL)',
      )
      .run(v.label, v.pool, v.sequence, v.path, v.state, v.created, v.closed, v.size);
    return Number(info.lastInsertRowid);
  }

  insertCommittedSaveSet(
    id: number,
    txn: number,
    s: Omit<NewSaveSet, 'txn'>,
    totals: SaveSetTotals,
    committed: string,
  ): void {
    this.sql
      .get(
        `INSERT INTO savesets (id, txn, state, pool, server, name, kind, level, meta, created, committed, raw_bytes, stored_bytes, records, hash, compression)
       VALUES (?, ?, 'committed', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        id,
        txn,
        s.pool,
        s.server,
        s.name,
        s.kind,
        s.level,
        JSON.stringify(s.meta),
        s.created,
        committed,
        totals.rawBytes,
        totals.storedBytes,
        totals.records,
        totals.hash,
        s.compression,
      );
  }

  /** Makes the id sequences continue after `maxSaveSet` / `maxTxn`, so ids are never reused. */
  bumpSequences(maxSaveSet: number, maxTxn: number): void {
    for (const [name, value] of [
      ['savesets', maxSaveSet],
      ['txns', maxTxn],
    ] as const) {
      const cur = this.sql.get('SELECT seq FROM sqlite_sequence WHERE name = ?').get(name) as
        { seq: number } | undefined;
      if (cur === undefined) this.sql.get('INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)').run(name, value);
      else if (cur.seq < value) this.sql.get('UPDATE sqlite_sequence SET seq = ? WHERE name = ?').run(value, name);
    }
  }

  recordDeleted(id: number, time: string): void {
    this.sql.get('INSERT OR REPLACE INTO deleted (id, time) VALUES (?, ?)').run(id, time);
  }

  recordDeletedVolume(id: number, volume: number): void {
    this.sql.get('INSERT OR IGNORE INTO deleted_volumes (id, volume) VALUES (?, ?)').run(id, volume);
  }

  // ---- recycling -------------------------------------------------------------

  /** Full, unmounted volumes that hold no fragment of any save set, committed or being written. */
  recyclableVolumes(pool: string): VolumeRow[] {
    return (
      this.sql
        .get(
          `SELECT * FROM volumes v WHERE v.pool = ? AND v.state IN ('full', 'recyclable') AND v.mounted_by IS NULL
         AND NOT EXISTS (SELECT 1 FROM fragments f WHERE f.volume = v.id) ORDER BY v.sequence`,
        )
        .all(pool) as Row[]
    ).map(volumeOf);
  }

  /** For each deleted save set id: the volumes its data was in (none known: absent from the map). */
  deletedLocations(ids: readonly number[]): Map<number, number[]> {
    const out = new Map<number, number[]>();
    const stmt = this.sql.get('SELECT volume FROM deleted_volumes WHERE id = ?');
    for (const id of ids) {
      const vols = (stmt.all(id) as { volume: number }[]).map((r) => r.volume);
      if (vols.length > 0) out.set(id, vols);
    }
    return out;
  }

  /** The highest save-set and transaction ids ever handed out. */
  highWater(): { maxSaveSet: number; maxTxn: number } {
    const seq = (name: string) =>
      (this.sql.get('SELECT seq FROM sqlite_sequence WHERE name = ?').get(name) as { seq: number } | undefined)?.seq ??
      0;
    return { maxSaveSet: seq('savesets'), maxTxn: seq('txns') };
  }

  /** A recycled volume: empty again (label only), open for appending. */
  reopenRecycled(id: number, created: string, size: number): void {
    this.db
      .transaction(() => {
        this.sql
          .get("UPDATE volumes SET state = 'open', created = ?, closed = NULL, size = ? WHERE id = ?")
          .run(created, size, id);
        this.sql.get('DELETE FROM deleted_volumes WHERE volume = ?').run(id);
      })
      .immediate();
  }
}
