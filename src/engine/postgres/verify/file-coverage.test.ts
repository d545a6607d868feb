import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FileCoverage } from './file-coverage.js';

const gaps = (c: FileCoverage) => [...c.gaps()].map((g) => `${g.path}:${g.from}-${g.to}`);

describe('file coverage', () => {
  it('a whole file has no gap; a short one has its tail missing', () => {
    const c = new FileCoverage();
    c.declare('a', 100, false);
    c.addRange('a', 100, 0, 100);
    c.declare('b', 100, false);
    c.addRange('b', 100, 0, 60);
    assert.deepEqual(gaps(c), ['b:60-100']);
  });

  it('merges ranges given in any order, adjacent or overlapping', () => {
    const c = new FileCoverage();
    c.declare('f', 1000, true);
    for (const [o, l] of [
      [500, 100],
      [0, 100],
      [100, 50],
      [700, 300],
      [580, 60],
      [140, 10],
    ] as const)
      c.addRange('f', 1000, o, l);
    assert.deepEqual(gaps(c), ['f:150-500', 'f:640-700']);
  });

  it('page lists become byte ranges', () => {
    const c = new FileCoverage();
    c.declare('r', 8 * 8192, true);
    c.addPages('r', 8 * 8192, [0, 1, 2, 5, 6], 8192);
    assert.deepEqual(gaps(c), [`r:${3 * 8192}-${5 * 8192}`, `r:${7 * 8192}-${8 * 8192}`]);
    c.addPages('r', 8 * 8192, [3, 4, 7], 8192);
    assert.deepEqual(gaps(c), []);
  });

  it('an empty file is complete', () => {
    const c = new FileCoverage();
    c.declare('e', 0, false);
    assert.deepEqual(gaps(c), []);
  });

  it('a chain: the files and sizes of the newest level, pages from any level', () => {
    const c = new FileCoverage();
    // levels scanned in any order (they run in parallel)
    c.declare('dropped', 2 * 8192, true, 1);
    c.addRange('dropped', 2 * 8192, 0, 8192);
    c.declare('r', 8 * 8192, true, 1);
    c.addRange('r', 8 * 8192, 0, 8 * 8192);
    c.declare('grown', 2 * 8192, true, 1);
    c.addRange('grown', 2 * 8192, 0, 2 * 8192);
    c.declare('r', 4 * 8192, true, 0);
    c.addPages('r', 4 * 8192, [], 8192);
    c.declare('grown', 5 * 8192, true, 0);
    c.addPages('grown', 5 * 8192, [3], 8192);
    c.declare('grown', 2 * 8192, true, 1); // an older level seen late changes nothing
    c.declare('config', 3, false, 0);
    c.addRange('config', 3, 0, 3);
    assert.deepEqual(gaps(c), [`grown:${2 * 8192}-${3 * 8192}`, `grown:${4 * 8192}-${5 * 8192}`]);
    assert.equal(c.fileCount, 3);
  });
});
