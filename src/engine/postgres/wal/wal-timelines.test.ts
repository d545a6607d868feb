// Which WAL a recovery following a timeline reads, as PostgreSQL's expectedTLEs and
// XLogFileReadAnyTLI decide it: the segment where a timeline forks is read from the child.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseTimelineHistory, type TimelineHistory } from '../format/timeline-history.js';
import { WalTimelineMap } from './wal-timelines.js';

const SEG = 16 << 20;
const h = (tli: number, text: string) => parseTimelineHistory(tli, Buffer.from(text)) as TimelineHistory;

// timeline 2 forked from 1 inside segment 5; timeline 3 forked from 1 inside segment 3 (a
// restore to a time before the first fork); timeline 4 from 2 at a segment boundary
const t2 = h(2, '1\t0/5000158\tno recovery target specified\n');
const t3 = h(3, '1\t0/3001000\tbefore 2026-12-07 10:00:00+00\n');
const t4 = h(4, '# a comment\n1\t0/5000158\tfirst\n\n2\t0/8000000\tat a boundary\n');
const map = new WalTimelineMap([t2, t3, t4], SEG);
const names = (tli: number, from: bigint, n: number) => [...take(map.files(tli, from), n)].map((f) => f.name);
function* take<T>(it: Iterable<T>, n: number): Generator<T> {
  for (const x of it) {
    if (n-- <= 0) return;
    yield x;
  }
}

describe('timelines of the archive', () => {
  it('knows timeline 1 and those with a history file', () => {
    assert.deepEqual(map.timelines, [1, 2, 3, 4]);
    assert.deepEqual(new WalTimelineMap([], SEG).timelines, [1]);
    assert.equal(map.known(5), false);
    assert.equal(map.path(5), undefined);
  });

  it('reads each segment from the newest timeline of the path that had begun by it', () => {
    assert.deepEqual(names(2, 0x3000000n, 4), [
      '000000010000000000000003',
      '000000010000000000000004',
      '000000020000000000000005',
      '000000020000000000000006',
    ]);
    assert.deepEqual(names(3, 0x2000000n, 3), [
      '000000010000000000000002',
      '000000030000000000000003',
      '000000030000000000000004',
    ]);
    // a fork at a segment boundary: the child's first segment is the next one
    assert.deepEqual(names(4, 0x7000000n, 3), [
      '000000020000000000000007',
      '000000040000000000000008',
      '000000040000000000000009',
    ]);
    assert.deepEqual(names(1, 0x4000000n, 2), ['000000010000000000000004', '000000010000000000000005']);
    assert.equal(map.onPath(2, '000000010000000000000005'), false);
    assert.equal(map.onPath(2, '000000010000000000000004'), true);
    assert.equal(map.onPath(4, '000000020000000000000006'), true);
    assert.equal(map.onPath(3, '000000020000000000000006'), false);
  });

  it('says which timeline a position was written on, and which backups a timeline passes through', () => {
    assert.equal(map.timelineAt(2, 0x5000157n), 1);
    assert.equal(map.timelineAt(2, 0x5000158n), 2); // the switch point belongs to the child
    assert.equal(map.timelineAt(4, 0x9000000n), 4);
    // a backup on timeline 1 from 0/4000028 to 0/4000100 lies on 2's and 4's path, not on 3's
    assert.equal(map.holds(2, 1, 0x4000028n, 0x4000100n), true);
    assert.equal(map.holds(4, 1, 0x4000028n, 0x4000100n), true);
    assert.equal(map.holds(3, 1, 0x4000028n, 0x4000100n), false);
    // a backup of timeline 1 taken after 2 forked (the old primary went on) is not on 2's path
    assert.equal(map.holds(2, 1, 0x6000028n, 0x6000100n), false);
    assert.equal(map.holds(1, 1, 0x6000028n, 0x6000100n), true);
    // one ending exactly at the fork is
    assert.equal(map.holds(2, 1, 0x5000000n, 0x5000158n), true);
  });
});
