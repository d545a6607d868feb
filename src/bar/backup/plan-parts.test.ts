import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SpaceFile } from '../../engine/engine.js';
import { PieceQueue, RANGE_BYTES } from './plan-parts.js';

const file = (path: string, size: number): SpaceFile => ({ path, type: 'file', size, mode: 0o600, mtimeMs: 0 });
const dir = (path: string): SpaceFile => ({ path, type: 'dir', size: 0, mode: 0o700, mtimeMs: 0 });
const label = (f: SpaceFile) => (f.range ? `${f.path}@${f.range.offset}` : f.path);

describe('piece queue', () => {
  const files = [
    dir('5'),
    file('5/1', 10),
    file('5/2', 2 * RANGE_BYTES + 5),
    file('5/3', 3000),
    dir('5/sub'),
    file('5/4', 3000),
  ];

  it('hands out the largest pieces first, ranges in file order, equals in path order', () => {
    const q = new PieceQueue(files);
    assert.deepEqual(q.order().map(label), ['5/2@0', '5/2@33554432', '5/3', '5/4', '5/1', '5/2@67108864']);
    assert.equal(q.bytes, 2 * RANGE_BYTES + 5 + 10 + 6000);
  });

  it('gives the tree to part 0 first, and every piece to exactly one part, whoever asks', () => {
    const q = new PieceQueue(files);
    const a = q.forPart(0)[Symbol.iterator]();
    const b = q.forPart(1)[Symbol.iterator]();
    const got: string[][] = [[], []];
    // part 0 writes the directories, meanwhile part 1 takes the large pieces
    for (let i = 0; i < 2; i++) got[0]!.push(label(a.next().value as SpaceFile));
    for (let r = b.next(); !r.done; r = b.next()) {
      got[1]!.push(label(r.value));
      if (got[1]!.length === 2) break;
    }
    for (let r = a.next(); !r.done; r = a.next()) got[0]!.push(label(r.value));
    assert.deepEqual(got[0], ['5', '5/sub', '5/3', '5/4', '5/1', '5/2@67108864']);
    assert.deepEqual(got[1], ['5/2@0', '5/2@33554432']);
    assert.equal(b.next().done, true);
  });

  it('hands out nothing more once stopped', () => {
    const q = new PieceQueue(files);
    const it = q.forPart(1)[Symbol.iterator]();
    it.next();
    q.stop();
    assert.equal(it.next().done, true);
  });
});
