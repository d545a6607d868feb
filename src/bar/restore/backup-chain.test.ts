import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HistoryInstance } from '../../history/backup-history.js';
import { BackupChains, describeChain } from './backup-chain.js';

const inst = (
  action: number,
  object: string,
  level: number,
  copyIds: number[],
  baseId: number | null,
): HistoryInstance => ({
  object,
  type: object === 'pg_global' ? 'R' : 'D',
  action,
  level,
  copyIds,
  baseId,
  startLsn: `0/${action}000000`,
  stopLsn: null,
  timeline: 1,
  firstWal: null,
  time: '',
});

describe('backup chains', () => {
  const history = [
    inst(1, 'pg_global', 0, [10], null),
    inst(1, 'pg_default', 0, [11, 12], null),
    inst(2, 'pg_global', 1, [20], 10),
    inst(2, 'pg_default', 1, [21], 11),
    inst(3, 'pg_global', 2, [30], 20),
    inst(3, 'pg_default', 2, [31, 32], 21),
    inst(3, 'ts1', 1, [33], null),
    inst(4, 'pg_default', 1, [41], 99),
    inst(5, 'pg_default', 1, [51], 10),
  ];
  const chains = new BackupChains(history);

  it('follows baseId per space, newest first; a space with no base rests on itself as level 0', () => {
    const c = chains.of(31);
    assert.ok('levels' in c);
    assert.deepEqual(
      c.levels.map((l) => [l.level, l.aid, l.copyIds]),
      [
        [2, 3, [31, 32]],
        [1, 2, [21]],
        [0, 1, [11, 12]],
      ],
    );
    assert.equal(c.levels[2]!.startLsn, '0/1000000');
    assert.equal(describeChain(c.levels), 'level 2 save set(s) 31,32 <- level 1 21 <- level 0 11,12');
    const t = chains.of(33);
    assert.ok('levels' in t);
    assert.deepEqual(
      t.levels.map((l) => l.level),
      [0],
    );
  });

  it('says why a chain cannot be used', () => {
    assert.deepEqual(chains.of(41), {
      problem:
        'space pg_default of backup 4: its level 1 (backup 4) rests on save set 99, which the history no longer has (expired or deleted)',
    });
    assert.match((chains.of(51) as { problem: string }).problem, /names save set 10 as its base, a copy of pg_global/);
    const loop = new BackupChains([inst(6, 'x', 1, [60], 70), inst(7, 'x', 1, [70], 60)]);
    assert.match((loop.of(60) as { problem: string }).problem, /loops/);
  });
});
