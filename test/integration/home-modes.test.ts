// Everything in the home is private, as PostgreSQL keeps its data directory: directories
// 0700, files 0600 (a closed volume 0400), whatever the umask; a device directory outside
// the home too. A home found open to others is said in one warning line with the fix.
// `sm pool create --device` takes an absolute path only, as `restore --map-tablespace`.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { withWalNameLock } from '../../src/bar/log/wal-name-lock.js';
import { lastLine, makeHome, openbar, tempDir, writeRandomFile } from '../harness/cli.js';
import { notPrivate } from '../harness/home-modes.js';

describe('modes of the home', () => {
  const dirs: string[] = [];
  const saved = process.umask();
  after(() => {
    process.umask(saved);
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  for (const umask of [0o022, 0o002]) {
    it(`are private under umask ${umask.toString(8).padStart(3, '0')}: init, stores, a full volume, a bootstrap, a rebuild, a pool outside the home, a WAL lock`, async () => {
      process.umask(umask); // the children openbar starts inherit it
      const env = makeHome(`modes-${umask.toString(8)}`, { max_volume_size: '1MiB' });
      dirs.push(env.dir);
      const init = openbar(['sm', 'pools'], { config: env.config });
      assert.equal(init.stderr, '', 'a fresh home draws no warning');
      const f = path.join(env.dir, 'f');
      writeRandomFile(f, 1536 * 1024); // more than a volume: the first one closes
      for (const pool of ['Data', 'Logs'])
        assert.equal(openbar(['sm', 'store', '--pool', pool, '--name', 'x', f], { config: env.config }).status, 0);
      assert.equal(openbar(['sm', 'bootstrap'], { config: env.config }).status, 0);
      assert.equal(openbar(['sm', 'scan', '--rebuild'], { config: env.config }).status, 0);
      const device = path.join(env.dir, 'outside', 'pool');
      const p = openbar(['sm', 'pool', 'create', 'Far', '--device', device], { config: env.config });
      assert.equal(p.status, 0, p.stderr);
      assert.equal(openbar(['sm', 'store', '--pool', 'Far', '--name', 'y', f], { config: env.config }).status, 0);
      // a WAL name lock, held
      await withWalNameLock(env.home, '000000010000000000000001', 1000, async () => {
        assert.deepEqual(notPrivate(path.join(env.home, 'locks')), []);
      });
      const vols = fs.readdirSync(path.join(env.home, 'volumes', 'Data'));
      assert.ok(
        vols.length >= 2 &&
          vols.some((v) => (fs.statSync(path.join(env.home, 'volumes', 'Data', v)).mode & 0o777) === 0o400),
        'a closed volume is there',
      );
      assert.deepEqual(notPrivate(env.home), []);
      assert.deepEqual(notPrivate(device), []);
      assert.equal(fs.statSync(env.config).mode & 0o777, 0o600, 'the config file init wrote');
    });
  }

  it('says in one line when the home is open to others, with the fix, and changes nothing', () => {
    process.umask(0o022);
    const env = makeHome('loose');
    dirs.push(env.dir);
    fs.chmodSync(env.home, 0o755);
    fs.chmodSync(path.join(env.home, 'catalog.db'), 0o644);
    const r = openbar(['sm', 'pools'], { config: env.config });
    assert.equal(r.status, 0);
    assert.equal(
      r.stderr,
      `openbar: warning: the home ${env.home} is open to other users (${env.home} 0755, catalog.db 0644); openbar keeps it private (directories 0700, files 0600): chmod -R go-rwx ${env.home}\n`,
    );
    assert.match(
      fs.readFileSync(path.join(env.home, 'activity.log'), 'utf8'),
      /WARNING: the home .* is open to other users/,
    );
    assert.equal(fs.statSync(env.home).mode & 0o777, 0o755, 'the owner chose it: said, not changed');
    // init into an existing open directory says so too
    const open = path.join(env.dir, 'open-home');
    fs.mkdirSync(open, { mode: 0o755 });
    fs.chmodSync(open, 0o755);
    const i = openbar(['init', '--home', open, '--server', 'test'], { config: path.join(env.dir, 'open.conf') });
    assert.equal(i.status, 0, i.stderr);
    assert.match(
      i.stderr,
      /^openbar: warning: the home \S+open-home is open to other users \(\S+open-home 0755\).*chmod -R go-rwx \S+open-home\n$/,
    );
    assert.equal(
      openbar(['sm', 'pools'], { config: path.join(env.dir, 'open.conf') })
        .stderr.split('\n')
        .filter(Boolean).length,
      1,
      'said by every command until fixed',
    );
    fs.chmodSync(open, 0o700);
    assert.equal(
      openbar(['sm', 'pools'], { config: path.join(env.dir, 'open.conf') }).stderr,
      '',
      'the rest was made private',
    );
  });

  it('takes an absolute --device only, and says when an existing one is open to others', () => {
    process.umask(0o022);
    const env = makeHome('device');
    dirs.push(env.dir);
    const rel = openbar(['sm', 'pool', 'create', 'Rel', '--device', '../../x'], { config: env.config });
    assert.equal(rel.status, 2);
    assert.equal(
      rel.stderr,
      `openbar: --device ../../x: must be an absolute path: from this directory it would be ${path.resolve('../../x')}\n`,
    );
    assert.doesNotMatch(openbar(['sm', 'pools'], { config: env.config }).stdout, /Rel/, 'no pool was created');
    const shared = path.join(tempDir('shared'), 'dev');
    dirs.push(path.dirname(shared));
    fs.mkdirSync(shared, { mode: 0o755 });
    fs.chmodSync(shared, 0o755);
    const r = openbar(['sm', 'pool', 'create', 'Shared', '--device', shared], { config: env.config });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(lastLine(r.stdout), `pool Shared created on ${shared}`);
    assert.equal(
      r.stderr,
      `openbar: warning: the device directory of pool Shared ${shared} is open to other users (0755): chmod go-rwx ${shared}\n`,
    );
  });
});
