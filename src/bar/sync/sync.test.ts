import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SaveSetInfo } from '../../sm/storage-manager.js';
import { linesFromSaveSets } from './sync.js';

const set = (id: number, kind: string, name: string, meta: Record<string, unknown>, level: number | null = 0): SaveSetInfo => ({
  id, pool: 'Data', server: 'main', name, kind, level, meta, created: '2026-12-07T10:00:00.000Z', committed: '2026-12-07T10:00:01.000Z',
  rawBytes: 1, storedBytes: 1, records: 1, hash: '', compression: 'none', volumes: ['Data.0001'],
});

describe('sync --from-storage: lines from the save sets', () => {
  it('makes lines of a label that describes a backup, and none of one that does not', () => {
    const label = { aid: 7, startLsn: '0/2000028', stopLsn: '0/2000100', timeline: 1, startWal: '000000010000000000000002', stopTime: '2026-12-07T10:00:00.500Z', spaces: [{ name: 'pg_global', critical: true }] };
    const sets = [
      set(1, 'space', 'pg_global', { aid: 7, part: 0, parts: 1 }),
      set(2, 'label', 'backup_label', label),
      set(3, 'label', 'backup_label', { aid: 8, spaces: 'pg_global' }), // read back, not trusted
    ];
    const { lines, incomplete } = linesFromSaveSets(sets);
    assert.deepEqual(lines.map((l) => `${l.action} ${l.object} ${l.type} ${l.copyIds.join(',')}`), ['7 pg_global R 1', '7 backup_label B 2']);
    assert.deepEqual(incomplete, ['label save set 3 of main: its meta does not describe a backup']);
  });
});
