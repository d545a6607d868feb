// The restartable-restore record, kept in the data directory while a restore runs:
// which backup and target, which save sets are already written (spaces restored from one
// level), and which spaces are complete (spaces restored from a chain of levels: what an
// interrupted chain wrote is not recorded, so such a space is redone whole). Removed at the end.

import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomicSync } from '../../common/durable-fs.js';
import type { RecoveryTarget } from '../../engine/engine.js';
import { isoTime } from '../../common/units.js';

const FILE = '.openbar_restore';

interface Stored { version: 1; backupAid: number; target: RecoveryTarget; done: number[]; started: string; spacesDone?: string[] }

export class RestoreState {
  private constructor(private readonly file: string, private readonly s: Stored) {}

  static load(dataDir: string): RestoreState | undefined {
    const file = path.join(dataDir, FILE);
    try {
      return new RestoreState(file, JSON.parse(fs.readFileSync(file, 'utf8')) as Stored);
    } catch {
      return undefined;
    }
  }

  static create(dataDir: string, backupAid: number, target: RecoveryTarget): RestoreState {
    const st = new RestoreState(path.join(dataDir, FILE), { version: 1, backupAid, target, done: [], started: isoTime() });
    st.save();
    return st;
  }

  get backupAid(): number { return this.s.backupAid; }
  get target(): RecoveryTarget { return this.s.target; }

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
