// A damaged page in a live cluster with data checksums is found while the backup streams
// by, re-read once, and reported by space, file and block (the backup still completes:
// the damage is the server's, and the copy is what the server has).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openbar } from '../harness/cli.js';
import { makePgEnv, ok, removeEnv, type PgEnv } from '../harness/pg.js';

describe('page checks during backup', () => {
  let env: PgEnv;
  let relPath: string;
  let smallPath: string;
  let bigPath: string;
  before(async () => {
    env = await makePgEnv('badpage');
    await env.cluster.query('ALTER SYSTEM SET autovacuum = off');
    await env.cluster.query('CREATE TABLE victim AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 5000) g');
    // a small file too: those are read whole, ahead of their turn
    await env.cluster.query(
      'CREATE TABLE small_victim AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 200) g',
    );
    // and a large one: those are read with O_DIRECT, several reads in flight
    await env.cluster.query(
      'CREATE TABLE big_victim AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 40000) g',
    );
    await env.cluster.query('CHECKPOINT');
    relPath = (await env.cluster.query<{ p: string }>("SELECT pg_relation_filepath('victim') AS p"))[0]!.p;
    smallPath = (await env.cluster.query<{ p: string }>("SELECT pg_relation_filepath('small_victim') AS p"))[0]!.p;
    bigPath = (await env.cluster.query<{ p: string }>("SELECT pg_relation_filepath('big_victim') AS p"))[0]!.p;
    env.cluster.stop();
    for (const [rel, block] of [
      [relPath, 2],
      [smallPath, 1],
      [bigPath, 200],
    ] as const) {
      const fd = fs.openSync(path.join(env.cluster.dataDir, rel), 'r+');
      const b = Buffer.alloc(1);
      fs.readSync(fd, b, 0, 1, 8192 * block + 4000);
      b[0] = b[0]! ^ 0xff;
      fs.writeSync(fd, b, 0, 1, 8192 * block + 4000);
      fs.closeSync(fd);
    }
    env.cluster.start();
  });
  after(() => removeEnv(env, [env.cluster]));

  it('reports the damaged blocks, and only them', () => {
    const r = ok(openbar(['backup', '--json'], { config: env.config }), 'backup');
    const result = JSON.parse(r.stdout) as { spaces: { space: string; badPages: number }[] };
    assert.deepEqual(result.spaces.map((s) => [s.space, s.badPages]).sort(), [
      ['pg_default', 3],
      ['pg_global', 0],
    ]);
    const log = fs.readFileSync(path.join(env.home, 'activity.log'), 'utf8');
    for (const [p, block] of [
      [relPath, 2],
      [smallPath, 1],
      [bigPath, 200],
    ] as const) {
      const rel = p.replace(/^base\//, '');
      assert.match(
        log,
        new RegExp(
          `WARNING: backup \\d+: space pg_default file ${rel} block ${block}: checksum mismatch \\(read twice\\)`,
        ),
      );
    }
  });

  it('says so in the text output too', () => {
    const r = ok(openbar(['backup'], { config: env.config }), 'backup');
    assert.match(r.stdout, /pg_default .* 3 BAD PAGE\(S\)/);
  });

  it('a level 1 checks the scattered pages it reads, each by its own block number', async () => {
    // rows on blocks 5 and 9 change after the level 0: the WAL lists those blocks (and the
    // pages the new row versions went to); block 9 is then damaged on disk
    // by TID (a scan would stop at block 2, damaged above)
    await env.cluster.query("UPDATE victim SET v = v || 'x' WHERE ctid IN ('(5,1)', '(9,1)')");
    await env.cluster.query('CHECKPOINT');
    env.cluster.stop();
    const fd = fs.openSync(path.join(env.cluster.dataDir, relPath), 'r+');
    const b = Buffer.alloc(1);
    fs.readSync(fd, b, 0, 1, 8192 * 9 + 4000);
    b[0] = b[0]! ^ 0xff;
    fs.writeSync(fd, b, 0, 1, 8192 * 9 + 4000);
    fs.closeSync(fd);
    env.cluster.start();
    const r = ok(
      openbar(['--set', 'incremental_method=wal', 'backup', '-L', '1', '--json'], { config: env.config }),
      'backup -L 1',
    );
    const result = JSON.parse(r.stdout) as { method: string; spaces: { space: string; badPages: number }[] };
    assert.equal(result.method, 'wal');
    // block 9 only: block 2, damaged too, did not change and is not read
    assert.deepEqual(result.spaces.map((s) => [s.space, s.badPages]).sort(), [
      ['pg_default', 1],
      ['pg_global', 0],
    ]);
    const log = fs.readFileSync(path.join(env.home, 'activity.log'), 'utf8');
    assert.match(
      log,
      new RegExp(
        `WARNING: backup \\d+: space pg_default file ${relPath.replace(/^base\//, '')} block 9: checksum mismatch \\(read twice\\)`,
      ),
    );
  });
});
