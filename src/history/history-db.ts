// The backup history (history.db), after ON-Bar's sysutils tables: bar_server (the
// database servers), bar_object (each space, WAL file or label ever backed up),
// bar_action (every attempt: backup, restore, log backup, expire, mark; successful or
// not) and bar_instance (each successful copy of an object). The only module that
// touches history.db. It is private (0600, and so its -wal and -shm) whatever the umask.

import Database from 'better-sqlite3';
import { Statements } from '../common/sqlite-statements.js';
import { fail } from '../common/errors.js';
import { ensurePrivateFile } from '../common/private-modes.js';
import { isoTime } from '../common/units.js';

const SCHEMA_VERSION = 1;

const schema = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS bar_server (
  srv_name TEXT PRIMARY KEY, srv_system_id TEXT, srv_version TEXT, srv_pg_data TEXT, srv_created TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS bar_object (
  obj_oid INTEGER PRIMARY KEY AUTOINCREMENT, obj_srv_name TEXT NOT NULL REFERENCES bar_server(srv_name),
  obj_name TEXT NOT NULL, obj_type TEXT NOT NULL, UNIQUE (obj_srv_name, obj_name));
CREATE TABLE IF NOT EXISTS bar_action (
  act_aid INTEGER PRIMARY KEY AUTOINCREMENT, act_srv_name TEXT NOT NULL, act_type TEXT NOT NULL,
  act_level INTEGER, act_status INTEGER NOT NULL DEFAULT -1, act_status_text TEXT,
  act_start TEXT NOT NULL, act_end TEXT, act_pid INTEGER, act_detail TEXT NOT NULL DEFAULT '{}');
CREATE TABLE IF NOT EXISTS bar_instance (
  ins_id INTEGER PRIMARY KEY AUTOINCREMENT, ins_aid INTEGER NOT NULL REFERENCES bar_action(act_aid),
  ins_oid INTEGER NOT NULL REFERENCES bar_object(obj_oid), ins_level INTEGER NOT NULL, ins_copy_ids TEXT NOT NULL,
  ins_base_id INTEGER, ins_start_lsn TEXT, ins_stop_lsn TEXT, ins_timeline INTEGER, ins_first_wal TEXT,
  ins_time TEXT NOT NULL, ins_verify INTEGER NOT NULL DEFAULT 0, ins_verify_date TEXT,
  ins_expired INTEGER NOT NULL DEFAULT 0, ins_meta TEXT NOT NULL DEFAULT '{}');
CREATE INDEX IF NOT EXISTS bar_instance_aid ON bar_instance (ins_aid);
-- a backup's instances found without walking one row per archived WAL file
CREATE INDEX IF NOT EXISTS bar_instance_oid ON bar_instance (ins_oid);
CREATE INDEX IF NOT EXISTS bar_object_type ON bar_object (obj_srv_name, obj_type);
`;

/** Object types as the boot file writes them: R root (critical) space, D other space, B backup label, L log, M restore point. */
export type ObjectType = 'R' | 'D' | 'B' | 'L' | 'M';

export type ActionType =
  'backup' | 'restore' | 'log-backup' | 'mark' | 'expire' | 'salvage' | 'external-restore' | 'sync' | 'verify';

export interface ActionRow {
  readonly aid: number;
  readonly server: string;
  readonly type: ActionType;
  readonly level: number | null;
  readonly status: number;
  readonly statusText: string | null;
  readonly start: string;
  readonly end: string | null;
  readonly pid: number | null;
  readonly detail: Record<string, unknown>;
}

export interface InstanceRow {
  readonly id: number;
  readonly aid: number;
  readonly server: string;
  readonly object: string;
  readonly type: ObjectType;
  readonly level: number;
  readonly copyIds: number[];
  readonly baseId: number | null;
  readonly startLsn: string | null;
  readonly stopLsn: string | null;
  readonly timeline: number | null;
  readonly firstWal: string | null;
  readonly time: string;
  readonly verified: boolean;
  readonly verifyDate: string | null;
  readonly expired: boolean;
  readonly meta: Record<string, unknown>;
}

export interface NewInstance {
  readonly object: string;
  readonly type: ObjectType;
  readonly level: number;
  readonly copyIds: readonly number[];
  readonly baseId?: number | null;
  readonly startLsn?: string | null;
  readonly stopLsn?: string | null;
  readonly timeline?: number | null;
  readonly firstWal?: string | null;
  readonly time: string;
  readonly meta?: Record<string, unknown>;
}

type Row = Record<string, unknown>;

const actionOf = (r: Row): ActionRow => ({
  aid: r.act_aid as number,
  server: r.act_srv_name as string,
  type: r.act_type as ActionType,
  level: (r.act_level as number | null) ?? null,
  status: r.act_status as number,
  statusText: (r.act_status_text as string | null) ?? null,
  start: r.act_start as string,
  end: (r.act_end as string | null) ?? null,
  pid: (r.act_pid as number | null) ?? null,
  detail: JSON.parse(r.act_detail as string) as Record<string, unknown>,
});

const instanceOf = (r: Row): InstanceRow => ({
  id: r.ins_id as number,
  aid: r.ins_aid as number,
  server: r.obj_srv_name as string,
  object: r.obj_name as string,
  type: r.obj_type as ObjectType,
  level: r.ins_level as number,
  copyIds: (r.ins_copy_ids as string).split(',').filter(Boolean).map(Number),
  baseId: (r.ins_base_id as number | null) ?? null,
  startLsn: (r.ins_start_lsn as string | null) ?? null,
  stopLsn: (r.ins_stop_lsn as string | null) ?? null,
  timeline: (r.ins_timeline as number | null) ?? null,
  firstWal: (r.ins_first_wal as string | null) ?? null,
  time: r.ins_time as string,
  verified: r.ins_verify === 1,
  verifyDate: (r.ins_verify_date as string | null) ?? null,
  expired: r.ins_expired === 1,
  meta: JSON.parse(r.ins_meta as string) as Record<string, unknown>,
});

export class HistoryDb {
  /** statements prepared once (see common/sqlite-statements.ts) */
  private readonly sql: Statements;

  private constructor(
    private readonly db: Database.Database,
    readonly file: string,
  ) {
    this.sql = new Statements(db);
  }

  static open(file: string, opts: { create: boolean }): HistoryDb {
    let db: Database.Database;
    try {
      if (opts.create) ensurePrivateFile(file);
      db = new Database(file, { fileMustExist: !opts.create, timeout: 30_000 });
    } catch (err) {
      fail('IO', `cannot open backup history ${file}: ${(err as Error).message}`);
    }
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    const h = new HistoryDb(db, file);
    if (opts.create) {
      db.exec(schema);
      db.prepare('INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)').run('schema_version', String(SCHEMA_VERSION));
    }
    return h;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  private addServer(name: string): void {
    this.sql.get('INSERT OR IGNORE INTO bar_server (srv_name, srv_created) VALUES (?, ?)').run(name, isoTime());
  }

  /** Records the server (and what is known of it) when new or changed; writes nothing when all is as recorded. */
  ensureServer(name: string, info: { systemId?: string; version?: string; pgData?: string } = {}): void {
    const cur = this.sql
      .get(
        'SELECT srv_system_id AS systemId, srv_version AS version, srv_pg_data AS pgData FROM bar_server WHERE srv_name = ?',
      )
      .get(name) as { systemId: string | null; version: string | null; pgData: string | null } | undefined;
    const changed = (['systemId', 'version', 'pgData'] as const).filter(
      (k) => info[k] !== undefined && info[k] !== cur?.[k],
    );
    if (cur && changed.length === 0) return;
    const column = { systemId: 'srv_system_id', version: 'srv_version', pgData: 'srv_pg_data' } as const;
    this.inTransaction(() => {
      this.addServer(name);
      for (const k of changed)
        this.sql.get(`UPDATE bar_server SET ${column[k]} = ? WHERE srv_name = ?`).run(info[k], name);
    });
  }

  private objectId(server: string, name: string, type: ObjectType): number {
    this.sql
      .get('INSERT OR IGNORE INTO bar_object (obj_srv_name, obj_name, obj_type) VALUES (?, ?, ?)')
      .run(server, name, type);
    return (
      this.sql.get('SELECT obj_oid FROM bar_object WHERE obj_srv_name = ? AND obj_name = ?').get(server, name) as {
        obj_oid: number;
      }
    ).obj_oid;
  }

  /** Records the start of an attempt; returns its action id. */
  beginAction(server: string, type: ActionType, level: number | null, detail: Record<string, unknown> = {}): number {
    return this.inTransaction(() => {
      this.addServer(server);
      const info = this.sql
        .get(
          'INSERT INTO bar_action (act_srv_name, act_type, act_level, act_start, act_pid, act_detail) VALUES (?, ?, ?, ?, ?, ?)',
        )
        .run(server, type, level, isoTime(), process.pid, JSON.stringify(detail));
      return Number(info.lastInsertRowid);
    });
  }

  /** Ends an attempt: status 0 is success; anything else is a failure with its text. */
  endAction(aid: number, status: number, statusText: string | null, detail?: Record<string, unknown>): void {
    const cur = this.sql.get('SELECT act_detail FROM bar_action WHERE act_aid = ?').get(aid) as
      { act_detail: string } | undefined;
    const merged = { ...(cur ? JSON.parse(cur.act_detail) : {}), ...(detail ?? {}) };
    this.sql
      .get('UPDATE bar_action SET act_status = ?, act_status_text = ?, act_end = ?, act_detail = ? WHERE act_aid = ?')
      .run(status, statusText, isoTime(), JSON.stringify(merged), aid);
  }

  /** Merges `detail` into a running action's (its progress, for `openbar status`). */
  updateDetail(aid: number, detail: Record<string, unknown>): void {
    const cur = this.sql.get('SELECT act_detail FROM bar_action WHERE act_aid = ?').get(aid) as
      { act_detail: string } | undefined;
    if (!cur) return;
    this.sql
      .get('UPDATE bar_action SET act_detail = ? WHERE act_aid = ?')
      .run(JSON.stringify({ ...JSON.parse(cur.act_detail), ...detail }), aid);
  }

  /** Adds the successful instances of an action in one transaction. */
  addInstances(aid: number, server: string, list: readonly NewInstance[]): InstanceRow[] {
    const ids = this.db.transaction(() =>
      list.map((i) => {
        const oid = this.objectId(server, i.object, i.type);
        const info = this.sql
          .get(
            `INSERT INTO bar_instance (ins_aid, ins_oid, ins_level, ins_copy_ids, ins_base_id, ins_start_lsn, ins_stop_lsn, ins_timeline, ins_first_wal, ins_time, ins_meta)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(
            aid,
            oid,
            i.level,
            i.copyIds.join(','),
            i.baseId ?? null,
            i.startLsn ?? null,
            i.stopLsn ?? null,
            i.timeline ?? null,
            i.firstWal ?? null,
            i.time,
            JSON.stringify(i.meta ?? {}),
          );
        return Number(info.lastInsertRowid);
      }),
    )();
    return this.instances({ ids });
  }

  /**
   * Adds a finished action with a given id (a rebuild from the boot file or the save
   * sets); an action of that id already there is left as it is.
   */
  restoreAction(a: Omit<ActionRow, 'pid'>): void {
    this.ensureServer(a.server);
    this.sql
      .get(
        `INSERT OR IGNORE INTO bar_action (act_aid, act_srv_name, act_type, act_level, act_status, act_status_text, act_start, act_end, act_pid, act_detail)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)`,
      )
      .run(a.aid, a.server, a.type, a.level, a.status, a.statusText, a.start, a.end, JSON.stringify(a.detail));
  }

  /**
   * Runs `fn` in one write transaction: one sync of the database, not one per statement;
   * IMMEDIATE, so it waits its turn behind other writers instead of failing on upgrading a read.
   */
  inTransaction<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  /** history = keep: the rows stay, marked expired. */
  markExpired(ids: readonly number[]): void {
    const stmt = this.sql.get('UPDATE bar_instance SET ins_expired = 1 WHERE ins_id = ?');
    this.db.transaction(() => {
      for (const id of ids) stmt.run(id);
    })();
  }

  /** history = purge (or a sync dropping records of save sets that are gone). */
  deleteInstances(ids: readonly number[]): void {
    const stmt = this.sql.get('DELETE FROM bar_instance WHERE ins_id = ?');
    this.db.transaction(() => {
      for (const id of ids) stmt.run(id);
    })();
  }

  setVerified(ids: readonly number[], ok: boolean, date: string): void {
    const stmt = this.sql.get('UPDATE bar_instance SET ins_verify = ?, ins_verify_date = ? WHERE ins_id = ?');
    this.db.transaction(() => {
      for (const id of ids) stmt.run(ok ? 1 : 2, date, id);
    })();
  }

  servers(): {
    name: string;
    systemId: string | null;
    version: string | null;
    pgData: string | null;
    created: string;
  }[] {
    return (this.sql.get('SELECT * FROM bar_server ORDER BY srv_name').all() as Row[]).map((r) => ({
      name: r.srv_name as string,
      systemId: (r.srv_system_id as string | null) ?? null,
      version: (r.srv_version as string | null) ?? null,
      pgData: (r.srv_pg_data as string | null) ?? null,
      created: r.srv_created as string,
    }));
  }

  actions(q: { server?: string; type?: ActionType; aid?: number } = {}): ActionRow[] {
    const where: string[] = ['1 = 1'];
    const args: unknown[] = [];
    if (q.server !== undefined) {
      where.push('act_srv_name = ?');
      args.push(q.server);
    }
    if (q.type !== undefined) {
      where.push('act_type = ?');
      args.push(q.type);
    }
    if (q.aid !== undefined) {
      where.push('act_aid = ?');
      args.push(q.aid);
    }
    return (
      this.sql.get(`SELECT * FROM bar_action WHERE ${where.join(' AND ')} ORDER BY act_aid`).all(...args) as Row[]
    ).map(actionOf);
  }

  instances(
    q: {
      server?: string;
      aid?: number;
      ids?: readonly number[];
      type?: ObjectType;
      types?: readonly ObjectType[];
      includeExpired?: boolean;
    } = {},
  ): InstanceRow[] {
    const where: string[] = ['1 = 1'];
    const args: unknown[] = [];
    if (q.server !== undefined) {
      where.push('o.obj_srv_name = ?');
      args.push(q.server);
    }
    if (q.aid !== undefined) {
      where.push('i.ins_aid = ?');
      args.push(q.aid);
    }
    if (q.type !== undefined) {
      where.push('o.obj_type = ?');
      args.push(q.type);
    }
    if (q.types !== undefined) {
      where.push(`o.obj_type IN (${q.types.map(() => '?').join(',') || 'NULL'})`);
      args.push(...q.types);
    }
    if (q.ids !== undefined) {
      where.push(`i.ins_id IN (${q.ids.map(() => '?').join(',') || 'NULL'})`);
      args.push(...q.ids);
    }
    if (!q.includeExpired) where.push('i.ins_expired = 0');
    return (
      this.sql
        .get(
          `SELECT i.*, o.obj_srv_name, o.obj_name, o.obj_type FROM bar_instance i JOIN bar_object o ON o.obj_oid = i.ins_oid WHERE ${where.join(' AND ')} ORDER BY i.ins_id`,
        )
        .all(...args) as Row[]
    ).map(instanceOf);
  }
}
