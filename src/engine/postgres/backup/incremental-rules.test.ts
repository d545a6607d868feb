import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { IncrementalSource, SpaceFile } from '../../engine.js';
import { copiedWhole, newSinceBase, pagesKnownToBase, unchangedOnDisk } from './incremental-rules.js';

const PAGE = 8192;
const file = (path: string, pages: number, mtimeMs = 1_000): SpaceFile => ({
  path,
  type: 'file',
  size: pages * PAGE,
  mode: 0o600,
  mtimeMs,
});
const base = new Map([
  ['16384/100', 10 * PAGE],
  ['16384/100_fsm', 3 * PAGE],
  ['PG_VERSION', 3],
]);
const src = (method: 'wal' | 'scan', listed = true): IncrementalSource => ({
  baseLsn: '0/1000000',
  method,
  unchangedBefore: 5_000,
  ...(listed ? { baseFiles: { sizeOf: (p: string) => base.get(p) } } : {}),
});

describe('what a level 1 copies whatever its method finds', () => {
  it('a file the base lacks is new: copied whole, no page of it known to the base', () => {
    for (const m of ['wal', 'scan'] as const) {
      assert.equal(newSinceBase(file('16384/200', 4), src(m)), true);
      assert.equal(copiedWhole(file('16384/200', 4), src(m)), true, m);
      assert.equal(pagesKnownToBase(file('16384/200', 4), src(m)), 0);
      assert.equal(newSinceBase(file('16384/100', 4), src(m)), false);
      assert.equal(copiedWhole(file('16384/100', 4), src(m)), false, 'a relation file the base holds goes by pages');
    }
    assert.equal(newSinceBase({ ...file('16384/300', 0), type: 'dir' }, src('scan')), false, 'only regular files');
  });

  it('pages past the size the base knew are past what it holds', () => {
    assert.equal(pagesKnownToBase(file('16384/100', 12), src('scan')), 10);
    assert.equal(
      pagesKnownToBase(file('16384/100', 12), src('scan', false)),
      Infinity,
      'no list: the LSNs decide, as before',
    );
    assert.equal(newSinceBase(file('16384/200', 4), src('scan', false)), false);
  });

  it('by wal, a file untouched since before the base is skipped only when the base held all of it', () => {
    assert.equal(unchangedOnDisk(file('16384/100', 10), src('wal')), true);
    assert.equal(unchangedOnDisk(file('16384/100', 11), src('wal')), false, 'longer than the base knew');
    assert.equal(unchangedOnDisk(file('16384/200', 1), src('wal')), false, 'not in the base');
    assert.equal(
      unchangedOnDisk(file('16384/200', 1), src('wal', false)),
      true,
      'no list: the file time decides, as before',
    );
    assert.equal(unchangedOnDisk(file('16384/100', 10, 6_000), src('wal')), false, 'written since');
    assert.equal(unchangedOnDisk(file('16384/100', 10), src('scan')), false, 'scan reads every file');
    assert.equal(
      copiedWhole(file('16384/100_fsm', 3), src('wal')),
      false,
      'a map untouched since the base is skipped too',
    );
    assert.equal(copiedWhole(file('16384/100_fsm', 3, 6_000), src('wal')), true);
  });
});
