import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isOpenbarError } from '../../common/errors.js';
import { decodeFileList, encodeFileList, fileListOfLabel } from './file-list.js';

/** A database-like list: per database directory its catalog's and tables' files, forks and segments. */
function manyFiles(n: number): [string, number][] {
  const out: [string, number][] = [];
  for (let i = 0; out.length < n; i++) {
    const dir = 16384 + (i % 7);
    const rel = 16400 + i * 3;
    out.push([`${dir}/${rel}`, (i % 200) * 8192], [`${dir}/${rel}_fsm`, 24576], [`${dir}/${rel}_vm`, 8192]);
    if (i % 50 === 0) out.push([`${dir}/${rel}.1`, 1024 ** 3]);
  }
  return out.slice(0, n);
}

const fails = (b: Uint8Array, message: RegExp) =>
  assert.throws(
    () => decodeFileList(b),
    (e: unknown) => isOpenbarError(e, 'FORMAT') && message.test(e.message),
  );

describe('file list record', () => {
  it('round-trips every space, path and size, whatever the order given', () => {
    const files: [string, number][] = [
      ['global/pg_control', 8192],
      ['PG_VERSION', 3],
      ['1/1259', 114688],
      ['1/1259_fsm', 24576],
      ['é/ü', 0],
      ['1/12', 2 ** 40],
    ];
    const lists = decodeFileList(
      encodeFileList(
        new Map([
          ['pg_global', files],
          ['pg_default', []],
          ['ts one', [['PG_15_202209061/16384/16500', 8192]]],
        ]),
      ),
    );
    assert.deepEqual([...lists.keys()], ['pg_global', 'pg_default', 'ts one']);
    const g = lists.get('pg_global')!;
    assert.equal(g.count, files.length);
    for (const [p, s] of files) assert.equal(g.sizeOf(p), s, p);
    assert.equal(g.sizeOf('1/125'), undefined);
    assert.deepEqual(
      [...g.entries()],
      files.slice().sort((x, y) => (x[0] < y[0] ? -1 : 1)),
    );
    assert.equal(lists.get('pg_default')!.count, 0);
    assert.equal(lists.get('ts one')!.sizeOf('PG_15_202209061/16384/16500'), 8192);
  });

  it('stores a repeated path once', () => {
    const l = decodeFileList(
      encodeFileList(
        new Map([
          [
            's',
            [
              ['a', 1],
              ['a', 1],
              ['b', 2],
            ] as [string, number][],
          ],
        ]),
      ),
    );
    assert.equal(l.get('s')!.count, 2);
  });

  it('takes a few bytes a file for a large database', () => {
    const files = manyFiles(100_000);
    const b = encodeFileList(new Map([['pg_default', files]]));
    assert.ok(b.length / files.length < 8, `${(b.length / files.length).toFixed(2)} bytes a file`);
    const got = decodeFileList(b).get('pg_default')!;
    assert.equal(got.count, files.length);
    for (let i = 0; i < files.length; i += 997) assert.equal(got.sizeOf(files[i]![0]), files[i]![1]);
  });

  it('refuses a damaged or foreign record, naming what is wrong', () => {
    const good = encodeFileList(
      new Map([
        [
          'pg_default',
          [
            ['16384/1', 8192],
            ['16384/2', 8192],
          ] as [string, number][],
        ],
      ]),
    );
    fails(Uint8Array.from([2, 0]), /version 2 is not known/);
    fails(good.subarray(0, good.length - 1), /cut short/);
    fails(Buffer.concat([good, Buffer.from([0])]), /bytes after the last space/);
    fails(Uint8Array.from([1, 0x7f]), /space count 127 exceeds/);
    fails(Uint8Array.from([1, 1, 1, 0x73, 0xff, 0xff, 0xff, 0xff, 0x0f]), /file count .* exceeds/);
    // a path sharing more than its predecessor has, a path out of order, a step out of the space
    const at = (files: [string, number][]) => encodeFileList(new Map([['s', files]]));
    const shared = Buffer.from(
      at([
        ['ab', 1],
        ['ac', 1],
      ]),
    );
    shared[10] = 9; // version, 1 space, 's', 2 files, then 'ab' in 5 bytes: the second path's shared length
    fails(shared, /9 bytes shared with a 2-byte path/);
    const swapped = Buffer.from(
      at([
        ['a', 1],
        ['b', 1],
      ]),
    );
    swapped[swapped.lastIndexOf(0x62)] = 0x61;
    fails(swapped, /path 'a' out of order, repeated/);
    fails(at([['../x', 1]]), /not a relative path/);
    fails(at([['/etc/x', 1]]), /not a relative path/);
    fails(at([['a', 2 ** 53 - 1]]).subarray(0, 12), /size cut short/);
    fails(
      Uint8Array.from([1, 1, 1, 0x73, 1, 0, 1, 0x61, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
      /size too long/,
    );
    fails(Uint8Array.from([1, 1, 2, 0xc3, 0x28, 0]), /space name is not UTF-8/);
    fails(Uint8Array.from([1, 2, 1, 0x73, 0, 1, 0x73, 0]), /'s' empty or repeated/);
  });

  it('is read from a label content, absent from an older one', () => {
    const list = encodeFileList(new Map([['pg_global', [['PG_VERSION', 3]] as [string, number][]]]));
    const label = (extra: object) => Buffer.from(JSON.stringify({ labelFiles: [], ...extra }), 'utf8');
    assert.equal(
      fileListOfLabel(label({ fileList: list.toString('base64') }))!
        .get('pg_global')!
        .sizeOf('PG_VERSION'),
      3,
    );
    assert.equal(fileListOfLabel(label({})), undefined);
    assert.throws(() => fileListOfLabel(label({ fileList: 'not base64!' })), /not base64/);
    assert.throws(() => fileListOfLabel(label({ fileList: 7 })), /not base64/);
    assert.throws(() => fileListOfLabel(Buffer.from('{', 'utf8')), /not JSON/);
  });
});
