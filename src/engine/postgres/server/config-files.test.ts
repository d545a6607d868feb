import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { isOpenbarError } from '../../../common/errors.js';
import { MAX_INCLUDE_DEPTH, readConfigFiles } from './config-files.js';

const made: string[] = [];
function tree(files: Record<string, string>): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'openbar-config-files-'));
  made.push(root);
  for (const [p, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, p)), { recursive: true });
    fs.writeFileSync(path.join(root, p), text);
  }
  fs.mkdirSync(path.join(root, 'data'), { recursive: true });
  return root;
}
const names = (root: string) => ({
  main: path.join(root, 'etc/postgresql.conf'),
  hba: path.join(root, 'etc/pg_hba.conf'),
  ident: path.join(root, 'etc/pg_ident.conf'),
});
const listed = (root: string) =>
  readConfigFiles(names(root), path.join(root, 'data')).map(
    (e) => `${e.role}:${e.type}:${path.relative(root, e.path)}`,
  );

describe("the server's configuration files outside its data directory", () => {
  after(() => {
    for (const d of made) fs.rmSync(d, { recursive: true, force: true });
  });

  it('follows relative includes, include_dir and an include_if_exists that is there; leaves out a missing one and the data directory', () => {
    const root = tree({
      'etc/postgresql.conf': [
        "include 'site.conf'",
        "include_if_exists = 'missing.conf'",
        "include_if_exists 'local.conf'",
        "include_dir 'conf.d'",
        "include '../data/inside.conf'",
        '',
      ].join('\n'),
      'etc/pg_hba.conf': 'local all all peer\n',
      'etc/pg_ident.conf': '',
      'etc/site.conf': "include 'more/deeper.conf'\n",
      'etc/more/deeper.conf': 'work_mem = 4MB\n',
      'etc/local.conf': '',
      'etc/conf.d/b.conf': '',
      'etc/conf.d/a.conf': "include 'a2.conf'\n",
      'etc/conf.d/a2.conf': '',
      'etc/conf.d/.hidden.conf': '',
      'etc/conf.d/notes.txt': '',
      'data/inside.conf': '',
    });
    assert.deepEqual(listed(root), [
      'main:file:etc/postgresql.conf',
      'include:file:etc/site.conf',
      'include:file:etc/more/deeper.conf',
      'include:file:etc/local.conf',
      'include:dir:etc/conf.d',
      'include:file:etc/conf.d/a.conf',
      'include:file:etc/conf.d/a2.conf',
      'include:file:etc/conf.d/b.conf',
      'hba:file:etc/pg_hba.conf',
      'ident:file:etc/pg_ident.conf',
    ]);
  });

  it('stops at a loop, through a link as well as by name', () => {
    const root = tree({
      'etc/postgresql.conf': "include 'sub/postgresql.conf'\ninclude 'postgresql.conf'\n",
      'etc/pg_hba.conf': '',
      'etc/pg_ident.conf': '',
    });
    fs.symlinkSync('.', path.join(root, 'etc/sub')); // sub/postgresql.conf is postgresql.conf again
    assert.deepEqual(listed(root), [
      'main:file:etc/postgresql.conf',
      'include:file:etc/sub/postgresql.conf',
      'hba:file:etc/pg_hba.conf',
      'ident:file:etc/pg_ident.conf',
    ]);
  });

  it(`fails includes nested deeper than ${MAX_INCLUDE_DEPTH}, as PostgreSQL does`, () => {
    const chain = (n: number) =>
      Object.fromEntries(
        Array.from({ length: n }, (_, i) => [
          i === 0 ? 'etc/postgresql.conf' : `etc/${i}.conf`,
          `include '${i + 1}.conf'\n`,
        ]),
      );
    const ok = tree({ ...chain(MAX_INCLUDE_DEPTH), [`etc/${MAX_INCLUDE_DEPTH}.conf`]: '' });
    assert.equal(listed(ok).length, MAX_INCLUDE_DEPTH + 1);
    const deep = tree({ ...chain(MAX_INCLUDE_DEPTH + 1), [`etc/${MAX_INCLUDE_DEPTH + 1}.conf`]: '' });
    assert.throws(
      () => listed(deep),
      (e) => isOpenbarError(e, 'CONFIG') && /more than 10 levels deep/.test(e.message) && /11\.conf/.test(e.message),
    );
  });
});
