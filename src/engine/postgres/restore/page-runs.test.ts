import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PageRuns } from './page-runs.js';

describe('page runs', () => {
  it('agrees with a plain set for pages added in any order, and merges neighbours', () => {
    const r = new PageRuns();
    const want = new Set<number>();
    let x = 7;
    for (let i = 0; i < 20_000; i++) {
      x = (x * 1103515245 + 12345) >>> 0;
      const p = i < 10_000 ? (i * 3) % 5000 : x % 6000;
      r.add(p);
      want.add(p);
    }
    for (let p = 0; p < 6100; p++) assert.equal(r.has(p), want.has(p), `page ${p}`);
    let gaps = 0;
    for (const [a, b] of r.gaps(0, 6100))
      for (let p = a; p < b; p++) {
        assert.ok(!want.has(p));
        gaps++;
      }
    assert.equal(gaps, 6100 - want.size);
    assert.ok(r.runCount <= 6100 - want.size + 1, 'adjacent pages share a run');
  });

  it('appends ascending input as a few runs', () => {
    const r = new PageRuns();
    for (let p = 0; p < 1000; p++) if (p % 100 < 50) r.add(p);
    assert.equal(r.runCount, 10);
    assert.deepEqual(
      [...r.gaps(40, 160)],
      [
        [50, 100],
        [150, 160],
      ],
    );
    r.addRange(45, 205);
    assert.deepEqual([...r.gaps(0, 260)], [[250, 260]]);
    assert.equal(r.runCount, 8);
  });
});
