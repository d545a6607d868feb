import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { isOpenbarError } from '../../common/errors.js';
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
    const global = (await listSpaceFiles(criticalSpace(data), { majorVersion: 15 })).map((f) => `${f.type[0]} ${f.path}`);
    assert.deepEqual(global, ['f PG_VERSION', 'd base', 'd global', 'f global/1262', 'f global/pg_control', 'd pg_wal', 'd pg_wal/archive_status']);
    const base = await listSpaceFiles(defaultSpace(data), { majorVersion: 15 });
    assert.deepEqual(base.map((f) => `${f.type[0]} ${f.path}`), ['d 1', 'f 1/1259', 'd 5', 'f 5/16384', 'f 5/16384.1', 'f 5/16384_fsm', 'f 5/16400_init']);
    assert.equal(base.find((f) => f.path === '5/16384')!.size, 1);
  });

  it('fails with the path when a directory cannot be read, instead of leaving its files out', async (t) => {
    if (process.getuid?.() === 0) return t.skip('root reads any directory');
    fs.chmodSync(path.join(data, 'base', '5'), 0o000);
    await assert.rejects(listSpaceFiles(defaultSpace(data), { majorVersion: 15 }), (err) => isOpenbarError(err, 'IO') && /cannot list .*base\/5: EACCES/.test(err.message));
    fs.chmodSync(path.join(data, 'base', '5'), 0o700);
  });
});
