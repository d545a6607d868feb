import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { isOpenbarError } from '../../../common/errors.js';
import { criticalSpace, defaultSpace, listSpaceFiles } from './spaces.js';

const data = fs.mkdtempSync(path.join(os.tmpdir(), 'openbar-spaces-'));
const put = (rel: string, content: string | Buffer = 'x') => {
  fs.mkdirSync(path.dirname(path.join(data, rel)), { recursive: true });
  fs.writeFileSync(path.join(data, rel), content);
};

describe('space listing', () => {
  after(() => {
    fs.chmodSync(path.join(data, 'base', '5'), 0o700);
    fs.rmSync(data, { recursive: true, force: true });
  });

  it('lists each directory before what it holds, in name order, without runtime state, temporary files and unlogged relations (but their init fork)', async () => {
    put('PG_VERSION', '15');
    put('global/1262');
    put('global/pg_control', Buffer.alloc(8192));
    put('postmaster.pid');
    put('pg_wal/000000010000000000000001');
    fs.mkdirSync(path.join(data, 'pg_wal', 'archive_status'), { recursive: true });
    put('base/1/1259');
    put('base/5/16384');
    put('base/5/16384.1');
    put('base/5/16384_fsm');
    put('base/5/16400'); // unlogged: only its init fork is copied
    put('base/5/16400_init');
    put('base/5/t3_16500'); // a temporary relation
    put('base/5/pgsql_tmp/pgsql_tmp123.0');
    const global = (await listSpaceFiles(criticalSpace(data), { majorVersion: 15 })).map(
      (f) => `${f.type[0]} ${f.path}`,
    );
    assert.deepEqual(global, [
      'f PG_VERSION',
      'd base',
      'd global',
      'f global/1262',
      'f global/pg_control',
      'd pg_wal',
      'd pg_wal/archive_status',
    ]);
    const base = await listSpaceFiles(defaultSpace(data), { majorVersion: 15 });
    assert.deepEqual(
      base.map((f) => `${f.type[0]} ${f.path}`),
      ['d 1', 'f 1/1259', 'd 5', 'f 5/16384', 'f 5/16384.1', 'f 5/16384_fsm', 'f 5/16400_init'],
    );
    assert.equal(base.find((f) => f.path === '5/16384')!.size, 1);
  });

  it('fails with the path when a directory cannot be read, instead of leaving its files out', async (t) => {
    if (process.getuid?.() === 0) return t.skip('root reads any directory');
    fs.chmodSync(path.join(data, 'base', '5'), 0o000);
    await assert.rejects(
      listSpaceFiles(defaultSpace(data), { majorVersion: 15 }),
      (err) => isOpenbarError(err, 'IO') && /cannot list .*base\/5: EACCES/.test(err.message),
    );
    fs.chmodSync(path.join(data, 'base', '5'), 0o700);
  });

  it('lists what a link points to in its place, leaves out one it cannot follow, and says so for both (but pg_wal)', async () => {
    const top = fs.mkdtempSync(path.join(os.tmpdir(), 'openbar-links-'));
    try {
      const dir = path.join(top, 'data');
      const elsewhere = path.join(top, 'elsewhere');
      fs.mkdirSync(path.join(elsewhere, 'conf.d'), { recursive: true });
      fs.mkdirSync(path.join(elsewhere, 'wal', 'archive_status'), { recursive: true });
      fs.writeFileSync(path.join(elsewhere, 'wal', '000000010000000000000001'), 'w');
      fs.writeFileSync(path.join(elsewhere, 'postgresql.conf'), 'port = 5433\n', { mode: 0o640 });
      fs.writeFileSync(path.join(elsewhere, 'conf.d', 'a.conf'), 'a');
      fs.mkdirSync(path.join(dir, 'global'), { recursive: true });
      fs.writeFileSync(path.join(dir, 'PG_VERSION'), '15');
      fs.symlinkSync(path.join(elsewhere, 'postgresql.conf'), path.join(dir, 'postgresql.conf'));
      fs.symlinkSync(path.join(elsewhere, 'conf.d'), path.join(dir, 'conf.d'));
      fs.symlinkSync(path.join(elsewhere, 'wal'), path.join(dir, 'pg_wal'));
      fs.symlinkSync(path.join(top, 'nothing'), path.join(dir, 'ghost'));
      fs.symlinkSync('..', path.join(dir, 'global', 'loop'));
      const notes: string[] = [];
      const files = await listSpaceFiles(criticalSpace(dir), { majorVersion: 15, onNote: (n) => notes.push(n) });
      assert.deepEqual(
        files.map((f) => `${f.type[0]} ${f.path}`),
        [
          'f PG_VERSION',
          'd conf.d',
          'f conf.d/a.conf',
          'd global',
          'd pg_wal',
          'd pg_wal/archive_status',
          'f postgresql.conf',
        ],
      );
      const conf = files.find((f) => f.path === 'postgresql.conf')!;
      assert.deepEqual([conf.size, conf.mode], [12, 0o640], 'the size and mode of the file pointed to');
      assert.deepEqual(notes, [
        `conf.d is a symbolic link to ${elsewhere}/conf.d: the directory it points to is backed up, and restored as a plain one`,
        `ghost is a symbolic link to ${top}/nothing, which does not exist: left out of the backup`,
        'global/loop is a symbolic link to .., a directory already listed (a loop, or a second way in): left out of the backup',
        `postgresql.conf is a symbolic link to ${elsewhere}/postgresql.conf: the file it points to is backed up, and restored as a plain one`,
      ]);
    } finally {
      fs.rmSync(top, { recursive: true, force: true });
    }
  });
});
