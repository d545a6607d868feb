// Links and a tampered save set, through the real CLI: a data directory with pg_wal and a
// config file kept elsewhere is backed up with what the links point to (and says so) and
// restored with plain ones; a save set altered to hold a link pointing outside and a file
// through it is refused by the restore, which writes nothing outside its target.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { SandboxCluster } from '../../src/engine/postgres/server/sandbox.js';
import { openbar, savesets } from '../harness/cli.js';
import { decodeStream, encodeStream } from '../harness/make-incremental.js';
import { makePgEnv, ok, removeEnv, restoreAndStart, tableChecksums, type PgEnv } from '../harness/pg.js';
import { readSaveSetContent, replaceSaveSet } from '../harness/volume-surgery.js';

describe('links in the data directory and a tampered save set (CLI)', () => {
  let env: PgEnv;
  const started: SandboxCluster[] = [];
  let backupOut = '';
  let sums: Record<string, string>;
  const extra = '# kept outside the data directory\nwork_mem = 8MB\n';

  before(async () => {
    env = await makePgEnv('trust');
    const c = env.cluster;
    await c.query('CREATE TABLE t AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 5000) g');
    // pg_wal elsewhere (as initdb --waldir makes it), and a file the DBA keeps in /etc, say
    c.stop('fast');
    const wal = path.join(env.dir, 'wal');
    fs.renameSync(path.join(c.dataDir, 'pg_wal'), wal);
    fs.symlinkSync(wal, path.join(c.dataDir, 'pg_wal'));
    fs.mkdirSync(path.join(env.dir, 'etc'));
    fs.writeFileSync(path.join(env.dir, 'etc', 'extra.conf'), extra);
    fs.symlinkSync(path.join(env.dir, 'etc', 'extra.conf'), path.join(c.dataDir, 'extra.conf'));
    c.start();
    backupOut = ok(openbar(['backup'], { config: env.config }), 'backup').stdout;
    sums = await tableChecksums(c);
    ok(openbar(['log', 'backup'], { config: env.config }), 'log backup');
  });
  after(() => removeEnv(env, [env.cluster, ...started]));

  it('backs up what the links point to, says so, and restores plain files and directories', async () => {
    const note = `pg_global: extra.conf is a symbolic link to ${env.dir}/etc/extra.conf: the file it points to is backed up, and restored as a plain one`;
    assert.ok(backupOut.includes(note), backupOut);
    assert.doesNotMatch(backupOut, /pg_wal/, "a linked pg_wal is PostgreSQL's own: no note");
    assert.match(
      fs.readFileSync(path.join(env.home, 'activity.log'), 'utf8'),
      new RegExp(`WARNING: backup \\d+: ${note.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`),
    );
    const { cluster } = await restoreAndStart(env, [], 'plain');
    started.push(cluster);
    assert.deepEqual(await tableChecksums(cluster), sums);
    for (const [name, kind] of [
      ['extra.conf', 'isFile'],
      ['pg_wal', 'isDirectory'],
    ] as const)
      assert.ok(fs.lstatSync(path.join(cluster.dataDir, name))[kind](), `${name} restored plain`);
    assert.equal(fs.readFileSync(path.join(cluster.dataDir, 'extra.conf'), 'utf8'), extra);
    cluster.stop('fast');
  });

  it('refuses a save set altered to hold a link pointing outside and a file through it, writing nothing outside', async () => {
    const outside = path.join(env.dir, 'outside');
    fs.mkdirSync(outside);
    const set = savesets(env.config).find((s) => s.kind === 'space' && s.name === 'pg_global')!;
    const { header, entries } = decodeStream(await readSaveSetContent(env.home, set.id));
    entries.unshift(
      {
        entry: { path: 'evil', type: 'symlink', mode: 0o777, mtimeMs: 0, size: 0, target: outside },
        data: Buffer.alloc(0),
      },
      { entry: { path: 'evil/owned', type: 'file', mode: 0o644, mtimeMs: 0, size: 5 }, data: Buffer.from('owned') },
    );
    await replaceSaveSet(env.home, set.id, encodeStream(header, entries));
    ok(openbar(['sync', '--from-storage'], { config: env.config }), 'sync --from-storage');
    const dir = path.join(env.dir, 'restore-tampered');
    const r = openbar(['restore', '--data-dir', dir, '--archive-mode', 'off'], { config: env.config });
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(
      r.stderr,
      /^openbar: space stream of pg_global level 0 part 1\/1, entry 'evil': a symbolic link where PostgreSQL has none \(only pg_global's pg_wal and pg_tblspc\/OID may be links\): the save set is damaged or was altered: restore from another backup\n$/,
    );
    assert.deepEqual(fs.readdirSync(outside), []);
    assert.equal(fs.existsSync(path.join(dir, 'evil')), false);
  });
});
