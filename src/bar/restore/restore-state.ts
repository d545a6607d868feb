// The restartable-restore record, kept in the data directory while a restore runs:
// which backup and target, which save sets are already written (durably: each part of a
// space, whether the space is restored from one level or from a chain of levels), and
// which chained spaces are complete, what preparing the directory found to put back (a
// pg_wal link's target: kept here, never in a file of the data directory a stream could
// forge) and the --config-dir the restore writes into. Removed at the end. Version 1 throughout: a record
// written before chains recorded their parts just has none of theirs (the chain is redone
// whole), and a build of that time reading a newer record redoes a chain whole as well.
// Checked when loaded: a record that is not one is no interrupted restore.

import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomicSync } from '../../common/durable-fs.js';
import type { PreparedDirectory, RecoveryTarget } from '../../engine/engine.js';
import { isoTime } from '../../common/units.js';

const FILE = '.openbar_restore';

interface Stored {
  version: 1;
  backupAid: number;
  target: RecoveryTarget;
  done: number[];
  started: string;
  spacesDone?: string[];
  /** what the engine's prepareDirectory returned, for its finish */
  prepared?: PreparedDirectory;
  /** the --config-dir this restore writes its configuration into */
  configDir?: string;
}

export class RestoreState {
  private constructor(
    private readonly file: string,
    private readonly s: Stored,
  ) {}

  static load(dataDir: string): RestoreState | undefined {
    const file = path.join(dataDir, FILE);
    let s: unknown;
    try {
      s = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch {
      return undefined;
    }
    return isStored(s) ? new RestoreState(file, s) : undefined;
  }

  static create(
    dataDir: string,
    backupAid: number,
    target: RecoveryTarget,
    kept: { prepared: PreparedDirectory; configDir: string | undefined },
  ): RestoreState {
    const st = new RestoreState(path.join(dataDir, FILE), {
      version: 1,
      backupAid,
      target,
      done: [],
      started: isoTime(),
      prepared: kept.prepared,
      ...(kept.configDir !== undefined ? { configDir: kept.configDir } : {}),
    });
    st.save();
    return st;
  }

  get backupAid(): number {
    return this.s.backupAid;
  }
  get target(): RecoveryTarget {
    return this.s.target;
  }
  get prepared(): PreparedDirectory {
    return this.s.prepared ?? {};
  }
  get configDir(): string | undefined {
    return this.s.configDir;
  }

  isDone(id: number): boolean {
    return this.s.done.includes(id);
  }

  markDone(id: number): void {
    this.s.done.push(id);
    this.save();
  }

  isSpaceDone(name: string): boolean {
    return this.s.spacesDone?.includes(name) ?? false;
  }

  markSpaceDone(name: string): void {
    (this.s.spacesDone ??= []).push(name);
    this.save();
  }

  remove(): void {
    fs.rmSync(this.file, { force: true });
  }

  private save(): void {
    writeFileAtomicSync(this.file, JSON.stringify(this.s), 0o600);
  }
}

function isStored(s: unknown): s is Stored {
  if (typeof s !== 'object' || s === null) return false;
  const r = s as Partial<Record<keyof Stored, unknown>>;
  const ids = (x: unknown) => Array.isArray(x) && x.every((id) => Number.isSafeInteger(id));
  return (
    r.version === 1 &&
    Number.isSafeInteger(r.backupAid) &&
    typeof r.target === 'object' &&
    r.target !== null &&
    typeof (r.target as { kind?: unknown }).kind === 'string' &&
    ids(r.done) &&
    typeof r.started === 'string' &&
    (r.spacesDone === undefined || (Array.isArray(r.spacesDone) && r.spacesDone.every((n) => typeof n === 'string'))) &&
    (r.prepared === undefined || isPrepared(r.prepared)) &&
    (r.configDir === undefined || typeof r.configDir === 'string')
  );
}

function isPrepared(p: unknown): p is PreparedDirectory {
  if (typeof p !== 'object' || p === null) return false;
  const w = (p as { walLink?: unknown }).walLink;
  return w === undefined || (typeof w === 'string' && w.startsWith('/'));
}
