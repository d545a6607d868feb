import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SaveSetInfo } from '../../sm/storage-manager.js';
import { saveSetInfo } from '../../sm/testing/stored-saveset.js';
import { linesFromSaveSets } from './sync.js';

const set = (id: number, kind: string, name: string, level: number, meta: Record<string, unknown>): SaveSetInfo =>
  saveSetInfo({ id, pool: 'Data', server: 'main', name, kind, level, meta });
const label = (id: number, aid: number, level: number) =>
  set(id, 'label', 'backup_label', level, {
    aid,
    startLsn: '0/1',
    stopLsn: '0/2',
    timeline: 1,
    startWal: 'x',
    stopTime: `2026-01-0${aid}`,
    spaces: [
      { name: 'pg_global', critical: true },
      { name: 'pg_default', critical: false },
    ],
  });

describe('history lines from save sets', () => {
  it('keeps each space its own level and base (a space of a level 1 may be a level 0)', () => {
    const { lines } = linesFromSaveSets([
      label(1, 1, 0),
      set(2, 'space', 'pg_global', 0, { aid: 1, part: 0, parts: 1 }),
      set(3, 'space', 'pg_default', 0, { aid: 1, part: 0, parts: 1 }),
      label(4, 2, 1),
      set(5, 'space', 'pg_global', 1, { aid: 2, part: 0, parts: 1, baseCopyId: 2 }),
      set(6, 'space', 'pg_default', 0, { aid: 2, part: 0, parts: 1 }),
    ]);
    const of = (aid: number) =>
      lines
        .filter((l) => l.action === aid)
        .map((l) => `${l.object} ${l.level} ${l.baseId ?? '-'}`)
        .sort();
    assert.deepEqual(of(2), ['backup_label 1 -', 'pg_default 0 -', 'pg_global 1 2']);
    assert.deepEqual(of(1), ['backup_label 0 -', 'pg_default 0 -', 'pg_global 0 -']);
  });

  it('makes no lines of a label save set whose meta does not describe a backup (read back, not trusted)', () => {
    const { lines, incomplete } = linesFromSaveSets([
      label(1, 1, 0),
      set(2, 'space', 'pg_global', 0, { aid: 1, part: 0, parts: 1 }),
      set(3, 'space', 'pg_default', 0, { aid: 1, part: 0, parts: 1 }),
      set(4, 'label', 'backup_label', 0, { aid: 2, spaces: 'pg_global' }),
    ]);
    assert.deepEqual([...new Set(lines.map((l) => l.action))], [1]);
    assert.deepEqual(incomplete, ['label save set 4 of main: its meta does not describe a backup']);
  });

  it('puts the configuration save set back with its backup label, as the backup recorded it', () => {
    const { lines } = linesFromSaveSets([
      label(1, 1, 0),
      set(2, 'space', 'pg_global', 0, { aid: 1, part: 0, parts: 1 }),
      set(3, 'space', 'pg_default', 0, { aid: 1, part: 0, parts: 1 }),
      set(4, 'config', 'config_files', 0, { aid: 1, files: 3, dataDir: '/d' }),
      label(5, 2, 0),
      set(6, 'space', 'pg_global', 0, { aid: 2, part: 0, parts: 1 }),
      set(7, 'space', 'pg_default', 0, { aid: 2, part: 0, parts: 1 }),
      // not backup 2's: a meta naming no files, and one naming another backup
      set(8, 'config', 'config_files', 0, { aid: 2, files: 'many' }),
      set(9, 'config', 'config_files', 0, { aid: 3, files: 1 }),
    ]);
    const labelOf = (aid: number) => lines.find((l) => l.action === aid && l.object === 'backup_label')!.copyIds;
    assert.deepEqual(labelOf(1), [1, 4]);
    assert.deepEqual(labelOf(2), [5]);
  });
});
