import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatBytes, formatDuration, parseDuration, parseSize } from './units.js';

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
});
