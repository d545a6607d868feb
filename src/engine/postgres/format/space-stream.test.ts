import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isOpenbarError } from '../../../common/errors.js';
import {
  encodeEntry,
  encodeHeader,
  encodeTrailer,
  SpaceStreamDecoder,
  type FileEntry,
  type StreamHeader,
  type StreamTrailer,
} from './space-stream.js';

const header: StreamHeader = {
  space: 'pg_global',
  server: 's',
  systemId: '7000000000000000001',
  level: 0,
  part: 0,
  parts: 1,
  startLsn: '0/16B3748',
  pageSize: 8192,
  created: 'now',
};
const trailer: StreamTrailer = { files: 1, bytes: 0, badPages: 0 };
const entry = (e: Record<string, unknown>) =>
  encodeEntry({ path: 'base', type: 'dir', mode: 0o700, mtimeMs: 1, size: 0, ...e } as unknown as FileEntry);
/** What the decoder makes of a whole stream: its entries, or the message it failed with (FORMAT only). */
function decode(...frames: Buffer[]): FileEntry[] | string {
  const d = new SpaceStreamDecoder();
  try {
    const events = d.push(Buffer.concat(frames));
    d.end();
    return events.flatMap((e) => (e.kind === 'entry' ? [e.entry] : []));
  } catch (err) {
    if (!isOpenbarError(err, 'FORMAT')) throw err;
    return err.message;
  }
}
const withEntry = (e: Record<string, unknown>, data = Buffer.alloc(0)) =>
  decode(encodeHeader(header), entry(e), data, encodeTrailer(trailer));

describe('space stream', () => {
  it('decodes an entry padded to a chosen length exactly as the unpadded one', () => {
    const entry: FileEntry = { path: '16384/16396', type: 'file', mode: 0o600, mtimeMs: 1, size: 8192 };
    const natural = encodeEntry(entry);
    const padded = encodeEntry(entry, natural.length + 4000);
    assert.equal(padded.length, natural.length + 4000);
    assert.equal(encodeEntry(entry, 3).length, natural.length, 'never shorter than natural');
    const page = Buffer.alloc(8192, 7);
    const header = encodeHeader({
      space: 'pg_default',
      server: 's',
      systemId: '1',
      level: 0,
      part: 0,
      parts: 1,
      startLsn: '0/0',
      pageSize: 8192,
      created: 'now',
    });
    const stream = Buffer.concat([header, padded, page, encodeTrailer({ files: 1, bytes: 8192, badPages: 0 })]);
    const d = new SpaceStreamDecoder();
    // fed in small pieces, so the padded frame is split across chunks
    const events = [];
    for (let i = 0; i < stream.length; i += 1000) events.push(...d.push(stream.subarray(i, i + 1000)));
    d.end();
    const entries = events.filter((e) => e.kind === 'entry');
    assert.deepEqual(
      entries.map((e) => e.entry),
      [entry],
    );
    const data = Buffer.concat(events.flatMap((e) => (e.kind === 'data' ? [e.data] : [])));
    assert.ok(data.equals(page));
  });

  it('passes well-formed entries: a page list, a range, the links PostgreSQL has', () => {
    const f = { path: 'global/1262', type: 'file', size: 3 * 8192 };
    assert.equal((withEntry({ ...f, pages: [0, 2] }, Buffer.alloc(2 * 8192)) as FileEntry[]).length, 1);
    assert.equal(
      (withEntry({ ...f, offset: 8192, length: 2 * 8192 }, Buffer.alloc(2 * 8192)) as FileEntry[]).length,
      1,
    );
    for (const p of ['pg_wal', 'pg_tblspc/16385'])
      assert.equal((withEntry({ path: p, type: 'symlink', target: '/somewhere' }) as FileEntry[]).length, 1, p);
  });

  it('fails on a malformed entry, naming the path and the field', () => {
    const f = { path: 'global/1262', type: 'file', size: 3 * 8192 };
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ path: '../x' }, /entry path "\.\.\/x": not normalised/],
      [{ path: '/etc/passwd' }, /entry path "\/etc\/passwd": absolute/],
      [{ path: 'a/./b' }, /entry path "a\/\.\/b": not normalised/],
      [{ path: 'a//b' }, /not normalised/],
      [{ path: '' }, /entry path "": empty/],
      [{ path: 'a\0b' }, /NUL/],
      [{ path: 7 }, /entry path 7: not a string/],
      [{ path: 'x'.repeat(300) }, /component longer than 255/],
      [{ type: 'fifo' }, /, entry 'base': type "fifo" is not file, dir or symlink/],
      [
        { mode: 0o170000 },
        /^space stream of pg_global level 0 part 1\/1, entry 'base': mode 61440 is not an integer from 0 to 4095$/,
      ],
      [{ mode: '0700' }, /mode "0700"/],
      [{ mtimeMs: null }, /mtimeMs null/],
      [{ size: 4 }, /, entry 'base': a dir with a size/],
      [{ ...f, size: -1 }, /entry 'global\/1262': size -1 is not an integer/],
      [{ ...f, size: 2 ** 60 }, /size \d+ is not an integer/],
      [{ ...f, size: 1.5 }, /size 1.5/],
      [{ ...f, pages: [1, 1] }, /entry 'global\/1262': page 1 follows page 1: the list is not strictly ascending/],
      [{ ...f, pages: [2, 1] }, /page 1 follows page 2/],
      [{ ...f, pages: [3] }, /page 3 is beyond the file's 3 page\(s\)/],
      [{ ...f, pages: [-1] }, /page -1 is not a block number/],
      [{ ...f, pages: '1' }, /pages is not a list/],
      [{ ...f, pages: [0], offset: 0, length: 8192 }, /both a page list and a range/],
      [{ ...f, offset: 8192, length: 3 * 8192 }, /length 24576 is not an integer from 0 to 16384/],
      [{ ...f, offset: 4 * 8192, length: 0 }, /offset 32768 is not an integer from 0 to 24576/],
      [{ ...f, length: 8192 }, /offset undefined/],
      [{ ...f, target: '/etc' }, /a file with a link target/],
      [
        { path: 'postgresql.conf', type: 'symlink', target: '/etc/postgresql.conf' },
        /entry 'postgresql.conf': a symbolic link where PostgreSQL has none/,
      ],
      [{ path: 'pg_tblspc/16385/x', type: 'symlink', target: '/t' }, /symbolic link where PostgreSQL has none/],
      [{ path: 'pg_wal', type: 'symlink' }, /entry 'pg_wal': a link with no valid target/],
    ];
    for (const [e, expected] of cases) assert.match(String(withEntry(e)), expected, JSON.stringify(e).slice(0, 80));
    assert.match(
      String(
        decode(
          encodeHeader({ ...header, space: 'pg_default' }),
          entry({ path: 'pg_wal', type: 'symlink', target: '/w' }),
          encodeTrailer(trailer),
        ),
      ),
      /of pg_default level 0 part 1\/1, entry 'pg_wal': a symbolic link where PostgreSQL has none/,
    );
    assert.match(
      String(decode(encodeHeader(header), Buffer.from([0x46, 2, 0, 0, 0]), Buffer.from('[]'))),
      /an entry: not a JSON object/,
    );
  });

  it('fails on a malformed header or trailer', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ pageSize: 0 }, /^space stream header: pageSize 0 is not an integer from 1024 to 32768/],
      [{ pageSize: 3000 }, /pageSize 3000 is not a power of two/],
      [{ pageSize: 65536 }, /pageSize 65536/],
      [{ level: 3 }, /level 3/],
      [{ part: 2, parts: 2 }, /part 2 is not an integer from 0 to 1/],
      [{ parts: 0 }, /parts 0/],
      [{ startLsn: 'x' }, /startLsn "x"/],
      [{ baseLsn: 5 }, /baseLsn 5/],
      [{ systemId: '12a' }, /systemId "12a"/],
      [{ space: undefined }, /space undefined/],
    ];
    for (const [h, expected] of cases)
      assert.match(
        String(decode(encodeHeader({ ...header, ...h } as StreamHeader), encodeTrailer(trailer))),
        expected,
        JSON.stringify(h),
      );
    assert.match(
      String(decode(encodeHeader(header), encodeTrailer({ ...trailer, files: -1 }))),
      /^space stream trailer: files -1 is not an integer of at least 0$/,
    );
    assert.match(
      String(decode(encodeHeader(header), encodeTrailer({ ...trailer, bytes: 'many' } as unknown as StreamTrailer))),
      /trailer: bytes "many"/,
    );
  });
});
