import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { formatBytes, formatDuration, formatTime, isoTime, isUtcZone, parseDuration, parseSize } from './units.js';

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
    const times = [
      0,
      951782400000,
      951868799999,
      1700000000123,
      Date.UTC(999, 0, 2, 3, 4, 5, 6),
      Date.UTC(9999, 11, 31, 23, 59, 59, 999),
      Date.now(),
    ];
    for (let t = 946684800000; t < 4102444800000; t += 86_399_937) times.push(t); // 2000-2100, every ~day, every millisecond offset
    for (const t of times) assert.equal(isoTime(t), new Date(t).toISOString());
    assert.equal(isoTime(new Date(1700000000123)), '2023-11-14T22:13:20.123Z');
    assert.match(isoTime(), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('tells a UTC zone from its name only when the name is UTC whatever the zone database says', () => {
    for (const tz of [
      'UTC',
      'Etc/UTC',
      ':UTC',
      'UCT',
      'Universal',
      'Zulu',
      'GMT',
      'Etc/GMT',
      'GMT0',
      'GMT+0',
      'Etc/GMT-0',
      'Greenwich',
    ])
      assert.equal(isUtcZone(tz, undefined), true, tz);
    for (const tz of [
      'Europe/Paris',
      'UTC0',
      'CET-1CEST,M3.5.0,M10.5.0/3',
      'Etc/GMT+1',
      'America/New_York',
      ':/etc/localtime',
      '',
    ])
      assert.equal(isUtcZone(tz, '/usr/share/zoneinfo/Etc/UTC'), false, tz);
    assert.equal(isUtcZone(undefined, '/usr/share/zoneinfo/Etc/UTC'), true);
    assert.equal(isUtcZone(undefined, '../usr/share/zoneinfo/UTC'), true);
    assert.equal(isUtcZone(undefined, '/usr/share/zoneinfo/Europe/London'), false); // GMT in winter only
    assert.equal(isUtcZone(undefined, undefined), false); // a copied zone file, or none
  });

  it('writes local time as V8 does, in UTC and in another zone', () => {
    const t = [0, 1700000000123, Date.UTC(2026, 6, 1, 12, 30, 45), Date.UTC(2026, 11, 31, 23, 59, 59)];
    const v8Local = (x: number) => {
      const d = new Date(x);
      const p = (n: number) => String(n).padStart(2, '0');
      return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
    };
    for (const x of t) assert.equal(formatTime(x), v8Local(x)); // this process's zone, whatever it is
    const units = new URL('./units.js', import.meta.url).href;
    const inZone = (tz: string) =>
      spawnSync(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          `const u = await import('${units}'); console.log([${t.join(',')}].map((x) => u.formatTime(x)).join('|'))`,
        ],
        { env: { ...process.env, TZ: tz }, encoding: 'utf8' },
      )
        .stdout.trim()
        .split('|');
    assert.deepEqual(inZone('UTC'), [
      '1970-01-01 00:00:00',
      '2023-11-14 22:13:20',
      '2026-07-01 12:30:45',
      '2026-12-31 23:59:59',
    ]);
    assert.deepEqual(inZone('Europe/Paris'), [
      '1970-01-01 01:00:00',
      '2023-11-14 23:13:20',
      '2026-07-01 14:30:45',
      '2027-01-01 00:59:59',
    ]);
  });
});
