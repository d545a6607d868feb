import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { binMajor, findAmcheck, findServerBin } from './pg-programs.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'openbar-pg-programs-'));
const layouts = [path.join(root, 'lib/postgresql/MAJOR/bin'), path.join(root, 'pgsql-MAJOR/bin')];

/** A bin directory whose `postgres --version` says `version`, with pg_ctl and the `more` programs. */
function install(bin: string, version: string | undefined, more: string[] = []): string {
  fs.mkdirSync(bin, { recursive: true });
  if (version !== undefined) {
    fs.writeFileSync(path.join(bin, 'postgres'), `#!/bin/sh\necho "postgres (PostgreSQL) ${version}"\n`, {
      mode: 0o755,
    });
    fs.writeFileSync(path.join(bin, 'pg_ctl'), '#!/bin/sh\n', { mode: 0o755 });
  }
  for (const p of more) fs.writeFileSync(path.join(bin, p), '#!/bin/sh\n', { mode: 0o755 });
  return bin;
}
const at = (layout: number, major: number) => layouts[layout]!.replace('MAJOR', String(major));

describe('the server programs of a major', () => {
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  install(at(0, 15), '15.8');
  install(at(1, 15), '15.8');
  install(at(0, 16), '17.2'); // a directory named 16 that holds 17
  install(at(1, 16), '16.4 (Debian 16.4-1)');
  install(at(0, 17), '17.2', ['pg_amcheck']);
  install(at(1, 14), undefined, ['pg_amcheck']); // a client install only
  const pgBin18 = install(path.join(root, 'custom18'), '18.1');

  it('reads the major of a bin from postgres --version', () => {
    assert.equal(binMajor(at(1, 16)), 16);
    assert.equal(binMajor(at(1, 14)), undefined);
  });

  it('takes the first layout of the major, never a bin of another major', () => {
    assert.deepEqual(findServerBin(15, undefined, layouts), { bin: at(0, 15) });
    assert.deepEqual(findServerBin(16, undefined, layouts), { bin: at(1, 16) });
    const none = findServerBin(13, undefined, layouts);
    assert.ok('problem' in none);
    assert.match(none.problem, new RegExp(`no PostgreSQL 13 server programs found .* ${at(0, 13)} and ${at(1, 13)}`));
    assert.match(none.hint, /pg_bin to the bin directory of PostgreSQL 13/);
  });

  it('pg_bin: taken when it holds the major, refused when it holds another or none', () => {
    assert.deepEqual(findServerBin(18, pgBin18, layouts), { bin: pgBin18 });
    const wrong = findServerBin(15, pgBin18, layouts);
    assert.ok('problem' in wrong);
    assert.match(wrong.problem, /holds PostgreSQL 18, the backup is of PostgreSQL 15/);
    const empty = findServerBin(15, at(1, 14), layouts);
    assert.ok('problem' in empty);
    assert.match(empty.problem, /holds no postgres and pg_ctl/);
  });

  it('pg_amcheck: beside the server, else a client install of the same major, else the newest of 15 or later', () => {
    assert.equal(findAmcheck(13, at(0, 15), layouts), undefined); // 13's amcheck has no heap check
    assert.deepEqual(findAmcheck(17, at(0, 17), layouts), { bin: at(0, 17), major: 17 });
    assert.deepEqual(findAmcheck(15, at(0, 15), layouts), { bin: at(0, 17), major: 17 });
    assert.deepEqual(findAmcheck(14, at(0, 15), layouts), { bin: at(1, 14), major: 14 });
    install(at(1, 16), '16.4', ['pg_amcheck']);
    assert.deepEqual(findAmcheck(16, pgBin18, layouts), { bin: at(1, 16), major: 16 });
    assert.deepEqual(findAmcheck(15, at(0, 15), layouts), { bin: at(0, 17), major: 17 });
  });
});
