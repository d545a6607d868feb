// The backup history as the client sees it: attempts and successful instances go to
// history.db and, for instances, to the emergency boot file too. When history.db is
// gone, what a restore needs is read from the boot file alone.

import fs from 'node:fs';
import path from 'node:path';
import { appendBootLines, bootFilePath, ensureBootFile, readBootFile, type BootLine } from './boot-file.js';
import { HistoryDb, type ActionType, type InstanceRow, type NewInstance } from './history-db.js';

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
  readonly objects: readonly { name: string; type: 'R' | 'D' | 'B'; copyIds: readonly number[]; baseId: number | null }[];
}

export class BackupHistory {
  private constructor(private readonly db: HistoryDb | undefined, readonly home: string, readonly server: string) {}

  /** Opens (creating when asked) history.db; without it, only the boot file is used. */
  static open(home: string, server: string, opts: { create: boolean }): BackupHistory {
    const file = historyPath(home);
    const db = opts.create || fs.existsSync(file) ? HistoryDb.open(file, { create: true }) : undefined;
    if (opts.create) ensureBootFile(bootFilePath(home, server));
    return new BackupHistory(db, home, server);
  }

  get hasDatabase(): boolean { return this.db !== undefined; }
  get database(): HistoryDb | undefined { return this.db; }
  get bootFile(): string { return bootFilePath(this.home, this.server); }

  close(): void {
    this.db?.close();
  }

  ensureServer(info: { systemId?: string; version?: string; pgData?: string }): void {
    this.db?.ensureServer(this.server, info);
  }

  beginAction(type: ActionType, level: number | null, detail: Record<string, unknown> = {}): number {
    return this.db?.beginAction(this.server, type, level, detail) ?? 0;
  }

  endAction(aid: number, status: number, text: string | null, detail?: Record<string, unknown>): void {
    if (aid > 0) this.db?.endAction(aid, status, text, detail);
  }

  /** Records successful instances: history.db first, then one fsynced boot-file line each. */
  recordInstances(aid: number, list: readonly NewInstance[]): void {
    this.db?.addInstances(aid, this.server, list);
    appendBootLines(this.bootFile, list.map((i): BootLine => ({
      server: this.server, object: i.object, type: i.type, action: aid, level: i.level, copyIds: i.copyIds,
      baseId: i.baseId ?? null, startLsn: i.startLsn ?? null, stopLsn: i.stopLsn ?? null, timeline: i.timeline ?? null,
      firstWal: i.firstWal ?? null, time: i.time,
    })));
  }

  /** Successful backups (those with a backup label instance), oldest first. */
  backups(): BackupCopy[] {
    const rows: { aid: number; object: string; type: string; level: number; copyIds: readonly number[]; baseId: number | null; startLsn: string | null; stopLsn: string | null; timeline: number | null; firstWal: string | null; time: string }[] =
      this.db ? this.db.instances({ server: this.server }).map((i: InstanceRow) => ({ ...i })) : readBootFile(this.bootFile).filter((l) => l.server === this.server).map((l) => ({ ...l, aid: l.action }));
    const byAction = new Map<number, typeof rows>();
    for (const r of rows) {
      if (r.type === 'L') continue;
      byAction.set(r.aid, [...(byAction.get(r.aid) ?? []), r]);
    }
    const out: BackupCopy[] = [];
    for (const [aid, list] of byAction) {
      const label = list.find((r) => r.type === 'B');
      if (!label || !label.startLsn || !label.stopLsn) continue;
      out.push({
        aid, level: label.level, time: label.time, startLsn: label.startLsn, stopLsn: label.stopLsn,
        timeline: label.timeline ?? 1, firstWal: label.firstWal ?? '',
        objects: list.map((r) => ({ name: r.object, type: r.type as 'R' | 'D' | 'B', copyIds: r.copyIds, baseId: r.baseId })),
      });
    }
    return out.sort((a, b) => a.aid - b.aid);
  }
}
