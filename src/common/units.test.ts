import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatBytes, formatDuration, isoTime, parseDuration, parseSize } from './units.js';

describe('units', () => {
  it('parses sizes and durations', () => {
    assert.equal(parseSize('1MiB'), 1048576);
    assert.equal(parseSize('64k'), 65536);
    assert.equal(parseSize('4 GB'), 4 * 1024 ** 3);
    assert.equal(parseSize('12'), 12);
    assert.equal(parseSize('1.5x'), undefined);
    assert.equal(parseDuration('30s'), 30_000);
    assert.equal(parseDuration('7d'), 7 * 86_400_000);
    assert.equal(parseDuration('soon'), undefined);
  });
  it('formats', () => {
    assert.equal(formatBytes(512), '512 B');
    assert.equal(formatBytes(1536), '1.5 KiB');
    assert.equal(formatDuration(3_723_000), '1:02:03');
    assert.equal(formatDuration(65_000), '01:05');
  });

  it('writes UTC times exactly as Date#toISOString does', () => {
    const times = [0, 951782400000, 951868799999, 1700000000123, Date.UTC(999, 0, 2, 3, 4, 5, 6), Date.UTC(9999, 11, 31, 23, 59, 59, 999), Date.now()];
    for (let t = 946684800000; t < 4102444800000; t += 86_399_937) times.push(t); // 2000-2100, every ~day, every millisecond offset
    for (const t of times) assert.equal(isoTime(t), new Date(t).toISOString());
    assert.equal(isoTime(new Date(1700000000123)), '2023-11-14T22:13:20.123Z');
    assert.match(isoTime(), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });
});

