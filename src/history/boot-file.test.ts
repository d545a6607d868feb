import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import {
  appendBootLines,
  formatBootLine,
  parseBootLine,
  readBootFile,
  type BadBootLine,
  type BootLine,
} from './boot-file.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openbar-boot-'));

const good: BootLine = {
  server: 'main',
  object: 'pg_global',
  type: 'R',
  action: 12,
  level: 0,
  copyIds: [41, 42],
  baseId: null,
  startLsn: '0/5000028',
  stopLsn: '0/5000100',
  timeline: 1,
  firstWal: '000000010000000000000005',
  time: '2026-11-22T01:02:03.000Z',
};
const line = formatBootLine(good);

describe('boot file: a line read back is checked field by field', () => {
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reads back what it writes, escaped names included', () => {
    assert.deepEqual(parseBootLine(line), good);
    const mark: BootLine = {
      ...good,
      object: 'before 100%',
      type: 'M',
      copyIds: [],
      startLsn: null,
      timeline: null,
      firstWal: null,
    };
    assert.deepEqual(parseBootLine(formatBootLine(mark)), mark);
  });

  it('says what is wrong with a bad line instead of trusting it', () => {
    const f = line.split(' ');
    const swap = (i: number, v: string) => f.map((x, j) => (j === i ? v : x)).join(' ');
    const cases: [string, RegExp][] = [
      [f.slice(0, 10).join(' '), /expected 12 fields, found 10/],
      [swap(3, 'x12'), /action "x12" is not an action id/],
      [swap(3, '0'), /action "0" is not an action id/],
      [swap(4, '7'), /level "7" is not a level/],
      [swap(5, '41,,42'), /copy "41,,42" is not a list of save-set ids/],
      [swap(5, 'NaN'), /copy "NaN"/],
      [swap(7, '0/50000G8'), /start_lsn "0\/50000G8" is not an LSN/],
      [swap(8, '-'), /needs its start and stop LSNs/],
      [swap(10, '00000001000000000000005'), /first_wal .* is not a WAL file name/],
      [swap(11, '2026-11-22T01:02:03.0'), /time .* is not a time/],
      [swap(2, 'Q'), /type "Q" is not one of R D B L M/],
      [swap(0, '../etc'), /server "..\/etc" is not a server name/],
      ['\u0000\u0000\u0000\u0000', /binary bytes/],
      [`${line}\u0001`, /binary bytes/],
    ];
    for (const [text, why] of cases) {
      const r = parseBootLine(text);
      assert.ok('error' in r, `accepted: ${JSON.stringify(text)}`);
      assert.match(r.error, why);
    }
  });

  it('skips a bad line, reports it with its line number, and uses the rest', () => {
    const file = path.join(dir, 'ixbar.main');
    const header =
      '# openbar boot file, version 1\n# server object type action level copy base start_lsn stop_lsn timeline first_wal time\n';
    const other = formatBootLine({ ...good, object: 'pg_default', type: 'D', copyIds: [43] });
    fs.writeFileSync(file, `${header}${line}\nmain pg_global R 12 0\n\u0007\u00ff\u0000junk\n${other}\nmain pg_defa`);
    const bad: BadBootLine[] = [];
    const lines = readBootFile(file, (b) => bad.push(b));
    assert.deepEqual(
      lines.map((l) => l.object),
      ['pg_global', 'pg_default'],
    );
    assert.deepEqual(
      bad.map((b) => [b.file, b.line]),
      [
        [file, 4],
        [file, 5],
        [file, 7],
      ],
    );
    assert.match(bad[0]!.why, /expected 12 fields, found 5/);
    assert.match(bad[1]!.why, /binary bytes/);
    assert.match(bad[2]!.why, /last line cut short/);
  });

  it('ends a torn last line before appending, so the new line stays whole', () => {
    const file = path.join(dir, 'ixbar.torn');
    appendBootLines(file, [good]);
    fs.appendFileSync(file, 'main pg_glo');
    appendBootLines(file, [{ ...good, action: 13 }]);
    const bad: BadBootLine[] = [];
    assert.deepEqual(
      readBootFile(file, (b) => bad.push(b)).map((l) => l.action),
      [12, 13],
    );
    assert.equal(bad.length, 1);
    assert.match(bad[0]!.why, /expected 12 fields, found 2/);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  });

  it('writes valid lines only: a line a reader would refuse is not written', () => {
    const file = path.join(dir, 'ixbar.strict');
    appendBootLines(file, [good]);
    const before = fs.readFileSync(file, 'utf8');
    for (const bad of [
      { ...good, action: 0 },
      { ...good, startLsn: 'undefined' },
      { ...good, time: 'Invalid Date' },
    ]) {
      assert.throws(
        () => appendBootLines(file, [{ ...good, action: 14 }, bad]),
        /not writing an invalid boot-file line/,
      );
    }
    assert.equal(fs.readFileSync(file, 'utf8'), before, 'not even the valid line before it');
  });
});
