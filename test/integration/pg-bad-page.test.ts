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
  before(async () => {
    env = await makePgEnv('badpage');
    await env.cluster.query('ALTER SYSTEM SET autovacuum = off');
    await env.cluster.query('CREATE TABLE victim AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 5000) g');
    await env.cluster.query('CHECKPOINT');
    relPath = (await env.cluster.query<{ p: string }>("SELECT pg_relation_filepath('victim') AS p"))[0]!.p;
    env.cluster.stop();
    const file = path.join(env.cluster.dataDir, relPath);
    const fd = fs.openSync(file, 'r+');
    const b = Buffer.alloc(1);
    fs.readSync(fd, b, 0, 1, 8192 * 2 + 4000);
    b[0] = b[0]! ^ 0xff;
    fs.writeSync(fd, b, 0, 1, 8192 * 2 + 4000);
    fs.closeSync(fd);
    env.cluster.start();
  });
  after(() => removeEnv(env, [env.cluster]));

  it('reports the damaged block, and only it', () => {
    const r = ok(openbar(['backup', '--json'], { config: env.config }), 'backup');
    const result = JSON.parse(r.stdout) as { spaces: { space: string; badPages: number }[] };
    assert.deepEqual(result.spaces.map((s) => [s.space, s.badPages]).sort(), [['pg_default', 1], ['pg_global', 0]]);
    const log = fs.readFileSync(path.join(env.home, 'activity.log'), 'utf8');
    const rel = relPath.replace(/^base\//, '');
    assert.match(log, new RegExp(`WARNING: backup \\d+: space pg_default file ${rel} block 2: checksum mismatch \\(read twice\\)`));
  });

  it('says so in the text output too', () => {
    const r = ok(openbar(['backup'], { config: env.config }), 'backup');
    assert.match(r.stdout, /pg_default .* 1 BAD PAGE\(S\)/);
  });
});
