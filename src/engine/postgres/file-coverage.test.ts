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
    for (const [o, l] of [[500, 100], [0, 100], [100, 50], [700, 300], [580, 60], [140, 10]] as const) c.addRange('f', 1000, o, l);
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
});
