// The backup history as the client sees it: attempts and successful instances go to
// history.db and, for instances and restore points, to the emergency boot file too.
// When history.db is gone, what a restore needs is read from the boot file alone; a
// command that records history recreates history.db from the boot file first, so
// action ids are never reused.

import fs from 'node:fs';
import path from 'node:path';
import {
  appendBootLines,
  bootFilePath,
  checkBootLines,
  ensureBootFile,
  readBootFile,
  rewriteBootFile,
  type BadBootLine,
  type BootLine,
} from './boot-file.js';
import {
  HistoryDb,
  type ActionRow,
  type ActionType,
  type InstanceRow,
  type NewInstance,
  type ObjectType,
} from './history-db.js';
import { silentLog, warnUser, type ActivityLog } from '../common/activity-log.js';
import { isoTime } from '../common/units.js';

export function historyPath(home: string): string {
  return path.join(home, 'history.db');
}

/** One successful whole or partial system backup, as a restore strategy needs it. */
export interface BackupCopy {
  readonly aid: number;
  readonly level: number;
  readonly time: string;
  readonly startLsn: string;
  readonly stopLsn: string;
  readonly timeline: number;
  readonly firstWal: string;
  readonly objects: readonly {
    name: string;
    type: 'R' | 'D' | 'B';
    copyIds: readonly number[];
    baseId: number | null;
  }[];
}

/** A restore point made with `openbar log mark`. */
export interface MarkRecord {
  readonly aid: number;
  readonly name: string;
  readonly lsn: string;
  readonly time: string;
  /** the timeline it was made on (marks of older openbar versions have none) */
  readonly timeline?: number;
}

/** An instance as both history.db and the boot file know it (`id` only from history.db). */
export type HistoryInstance = Omit<BootLine, 'server'> & { readonly id?: number };

/** Identity of an instance across history.db and the boot file. */
const BACKUP_TYPES: readonly ObjectType[] = ['R', 'D', 'B'];

export const instanceKey = (i: { action: number; object: string; copyIds: readonly number[] }) =>
  `${i.action} ${i.object} ${i.copyIds.join(',')}`;

export class BackupHistory {
  private lastBootAction = 0;
  /** boot-file lines already reported bad by this process: each is said once */
  private readonly reported = new Set<string>();

  private db: HistoryDb | undefined;

  private constructor(
    readonly home: string,
    readonly server: string,
    private readonly log: ActivityLog,
  ) {}

  /**
   * Opens history.db. `create`: make it when missing; when a boot file with lines is
   * there, it is seeded from it. Without `create` and without history.db, only the
   * boot file is used (a cold restore after losing the history).
   */
  static open(home: string, server: string, opts: { create: boolean; log?: ActivityLog }): BackupHistory {
    const file = historyPath(home);
    const h = new BackupHistory(home, server, opts.log ?? silentLog);
    if (fs.existsSync(file)) h.db = HistoryDb.open(file, { create: true });
    else if (opts.create) h.db = createSeeded(file, h.bootLines());
    if (opts.create) ensureBootFile(h.bootFile);
    return h;
  }

  /**
   * Every valid line of this server's boot file (all servers' lines in it). A bad line is
   * skipped, and said once per process: in the activity log and on stderr, by file and line.
   */
  bootLines(): BootLine[] {
    return readBootFile(this.bootFile, (b) => this.reportBad(b));
  }

  private reportBad(b: BadBootLine): void {
    const key = `${b.file}:${b.line}:${b.why}`;
    if (this.reported.has(key)) return;
    this.reported.add(key);
    warnUser(this.log, `${b.file} line ${b.line}: ${b.why}; the line is skipped`);
  }

  get hasDatabase(): boolean {
    return this.db !== undefined;
  }
  get database(): HistoryDb | undefined {
    return this.db;
  }
  get bootFile(): string {
    return bootFilePath(this.home, this.server);
  }

  close(): void {
    this.db?.close();
  }

  ensureServer(info: { systemId?: string; version?: string; pgData?: string }): void {
    this.db?.ensureServer(this.server, info);
  }

  /** The database system this server's backups were taken of (history.db only), if any was recorded. */
  systemId(): string | undefined {
    return this.db?.servers().find((s) => s.name === this.server)?.systemId ?? undefined;
  }

  /** Without history.db (a cold restore after losing it) the id continues the boot file's, so a later rebuild keeps it. */
  beginAction(type: ActionType, level: number | null, detail: Record<string, unknown> = {}): number {
    if (this.db) return this.db.beginAction(this.server, type, level, detail);
    const max = this.bootLines().reduce((a, l) => Math.max(a, l.action), 0);
    this.lastBootAction = Math.max(max, this.lastBootAction) + 1;
    return this.lastBootAction;
  }

  endAction(aid: number, status: number, text: string | null, detail?: Record<string, unknown>): void {
    if (aid > 0) this.db?.endAction(aid, status, text, detail);
  }

  progress(aid: number, done: number, total: number | undefined): void {
    if (aid > 0) this.db?.updateDetail(aid, { doneBytes: done, totalBytes: total ?? null, progressAt: isoTime() });
  }

  /** The result of `openbar verify` on every instance of backup `aid` (history.db only). */
  recordVerify(aid: number, passed: boolean, date: string): void {
    if (!this.db) return;
    this.db.setVerified(
      this.db.instances({ server: this.server, aid }).map((i) => i.id),
      passed,
      date,
    );
  }

  /** Records successful instances: history.db first, then one fsynced boot-file line each. */
  recordInstances(aid: number, list: readonly NewInstance[]): void {
    const lines = list.map((i): BootLine => ({
      server: this.server,
      object: i.object,
      type: i.type,
      action: aid,
      level: i.level,
      copyIds: i.copyIds,
      baseId: i.baseId ?? null,
      startLsn: i.startLsn ?? null,
      stopLsn: i.stopLsn ?? null,
      timeline: i.timeline ?? null,
      firstWal: i.firstWal ?? null,
      time: i.time,
    }));
    checkBootLines(lines); // neither is written when the boot file would refuse a line
    this.db?.addInstances(aid, this.server, list);
    appendBootLines(this.bootFile, lines);
  }

  /** A restore point: its action ends with its LSN, and a boot-file line keeps it for a cold restore. */
  recordMark(aid: number, mark: { name: string; lsn: string; time: string; xid: string; timeline: number }): void {
    const line = markLine(this.server, {
      aid,
      name: mark.name,
      lsn: mark.lsn,
      time: mark.time,
      timeline: mark.timeline,
    });
    checkBootLines([line]);
    this.endAction(aid, 0, 'completed', mark);
    appendBootLines(this.bootFile, [line]);
  }

  /** Every live (not expired) instance, from history.db or else the boot file, in the order recorded. */
  instances(): HistoryInstance[] {
    if (this.db) return this.db.instances({ server: this.server }).map(toHistoryInstance);
    return this.bootLines().filter((l) => l.server === this.server && l.type !== 'M');
  }

  marks(): MarkRecord[] {
    if (this.db) {
      return this.db
        .actions({ server: this.server, type: 'mark' })
        .filter((a) => a.status === 0 && typeof a.detail.lsn === 'string')
        .map((a) => ({
          aid: a.aid,
          name: String(a.detail.name),
          lsn: String(a.detail.lsn),
          time: String(a.detail.time ?? a.end ?? a.start),
          ...(Number.isSafeInteger(a.detail.timeline) ? { timeline: a.detail.timeline as number } : {}),
        }));
    }
    return this.bootLines()
      .filter((l) => l.server === this.server && l.type === 'M')
      .map((l) => ({
        aid: l.action,
        name: l.object,
        lsn: l.stopLsn ?? '',
        time: l.time,
        ...(l.timeline !== null ? { timeline: l.timeline } : {}),
      }));
  }

  /**
   * The live instances of backups only (spaces and labels), without the one record per
   * archived WAL file that a long history is mostly made of: what choosing a base or a
   * restore chain reads, at a cost that follows the backups kept, not the WAL.
   */
  backupInstances(): HistoryInstance[] {
    if (this.db) return this.db.instances({ server: this.server, types: BACKUP_TYPES }).map(toHistoryInstance);
    return this.bootLines().filter((l) => l.server === this.server && BACKUP_TYPES.includes(l.type));
  }

  /** Successful backups (those with a backup label instance), oldest first. */
  backups(): BackupCopy[] {
    const byAction = new Map<number, HistoryInstance[]>();
    for (const r of this.backupInstances()) {
      byAction.set(r.action, [...(byAction.get(r.action) ?? []), r]);
    }
    const out: BackupCopy[] = [];
    for (const [aid, list] of byAction) {
      const label = list.find((r) => r.type === 'B');
      if (!label || !label.startLsn || !label.stopLsn) continue;
      out.push({
        aid,
        level: label.level,
        time: label.time,
        startLsn: label.startLsn,
        stopLsn: label.stopLsn,
        timeline: label.timeline ?? 1,
        firstWal: label.firstWal ?? '',
        objects: list.map((r) => ({
          name: r.object,
          type: r.type as 'R' | 'D' | 'B',
          copyIds: r.copyIds,
          baseId: r.baseId,
        })),
      });
    }
    return out.sort((a, b) => a.aid - b.aid);
  }

  /**
   * Instances whose save sets are gone (expired, or deleted by sync): with `keep` the
   * history rows stay, marked expired; with `purge` they go. Either way their boot-file
   * lines go, since a cold restore cannot use them.
   */
  retire(list: readonly HistoryInstance[], mode: 'keep' | 'purge'): void {
    if (list.length === 0) return;
    const ids = list.map((i) => i.id).filter((id): id is number => id !== undefined);
    if (this.db) mode === 'keep' ? this.db.markExpired(ids) : this.db.deleteInstances(ids);
    const gone = new Set(list.map(instanceKey));
    let bad = 0;
    const lines = readBootFile(this.bootFile, (b) => {
      bad++;
      this.reportBad(b);
    });
    // the rewrite writes valid lines only: the file with the bad ones is kept beside it
    if (bad > 0) {
      const aside = `${this.bootFile}.replaced-${isoTime().replace(/[:.]/g, '-')}`;
      fs.copyFileSync(this.bootFile, aside);
      this.log.warn(
        `${this.bootFile}: rewritten without its ${bad} bad line(s); the previous file is kept as ${aside}`,
      );
    }
    rewriteBootFile(
      this.bootFile,
      lines.filter((l) => l.server !== this.server || l.type === 'M' || !gone.has(instanceKey(l))),
    );
  }

  /** The boot file's content as history.db says it should be (live instances and marks). */
  bootLinesFromDatabase(): BootLine[] {
    if (!this.db) return [];
    const inst: BootLine[] = this.db
      .instances({ server: this.server })
      .map((i) => ({ ...toHistoryInstance(i), server: this.server }));
    const marks = this.marks().map((m) => markLine(this.server, m));
    return [...inst, ...marks].sort((a, b) => a.time.localeCompare(b.time) || a.action - b.action);
  }
}

function toHistoryInstance(i: InstanceRow): HistoryInstance {
  return {
    id: i.id,
    object: i.object,
    type: i.type,
    action: i.aid,
    level: i.level,
    copyIds: i.copyIds,
    baseId: i.baseId,
    startLsn: i.startLsn,
    stopLsn: i.stopLsn,
    timeline: i.timeline,
    firstWal: i.firstWal,
    time: i.time,
  };
}

function markLine(server: string, m: MarkRecord): BootLine {
  return {
    server,
    object: m.name,
    type: 'M',
    action: m.aid,
    level: 0,
    copyIds: [],
    baseId: null,
    startLsn: null,
    stopLsn: m.lsn,
    timeline: m.timeline ?? null,
    firstWal: null,
    time: m.time,
  };
}

/** history.db made from boot-file lines, built under a temporary name and renamed into place. */
function createSeeded(file: string, lines: readonly BootLine[]): HistoryDb {
  if (lines.length === 0) return HistoryDb.open(file, { create: true });
  const tmp = `${file}.seed-${process.pid}`;
  fs.rmSync(tmp, { force: true });
  const db = HistoryDb.open(tmp, { create: true });
  try {
    seedFromBootLines(db, lines);
  } finally {
    db.close();
  }
  for (const suffix of ['-wal', '-shm']) fs.rmSync(tmp + suffix, { force: true });
  // another process may have made it meanwhile: theirs wins
  if (!fs.existsSync(file)) fs.renameSync(tmp, file);
  else fs.rmSync(tmp, { force: true });
  return HistoryDb.open(file, { create: true });
}

/** Adds actions and instances for boot-file lines (one action per action id). */
export function seedFromBootLines(db: HistoryDb, lines: readonly BootLine[]): number {
  const byAction = new Map<string, BootLine[]>();
  for (const l of lines)
    byAction.set(`${l.server} ${l.action}`, [...(byAction.get(`${l.server} ${l.action}`) ?? []), l]);
  let added = 0;
  db.inTransaction(() => {
    for (const list of byAction.values()) {
      const first = list[0]!;
      const label = list.find((l) => l.type === 'B');
      const times = list.map((l) => l.time).sort();
      const action: Omit<ActionRow, 'pid'> = {
        aid: first.action,
        server: first.server,
        type: actionTypeOf(first.type),
        level: first.type === 'L' || first.type === 'M' ? null : first.level,
        status: 0,
        statusText: 'completed (rebuilt from the boot file)',
        start: times[0]!,
        end: times[times.length - 1]!,
        detail:
          first.type === 'M'
            ? { name: first.object, lsn: first.stopLsn, time: first.time }
            : first.type === 'L'
              ? { name: first.object }
              : { startLsn: label?.startLsn ?? first.startLsn, stopLsn: label?.stopLsn ?? first.stopLsn },
      };
      db.restoreAction(action);
      const inst = list.filter((l) => l.type !== 'M');
      if (inst.length > 0) db.addInstances(first.action, first.server, inst);
      added += inst.length;
    }
  });
  return added;
}

function actionTypeOf(t: BootLine['type']): ActionType {
  return t === 'L' ? 'log-backup' : t === 'M' ? 'mark' : 'backup';
}
