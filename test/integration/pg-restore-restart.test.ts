// kill -9 of `openbar restore` part-way: the directory is not a startable cluster, and
// `restore --restart` finishes the job without redoing the save sets already written.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SandboxCluster } from '../../src/engine/postgres/server/sandbox.js';
import { openbar } from '../harness/cli.js';
import { makePgEnv, ok, removeEnv, tableChecksums, type PgEnv } from '../harness/pg.js';

describe('restartable restore', () => {
  let env: PgEnv;
  let restored: SandboxCluster | undefined;
  before(async () => {
    env = await makePgEnv('restart', { settings: { max_backup: '2' } });
    env.cluster.pgbenchInit(8); // big enough for pg_default to be split into parts
    ok(openbar(['backup'], { config: env.config }), 'backup');
    ok(openbar(['log', 'backup'], { config: env.config }), 'log backup');
  });
  after(() => removeEnv(env, [env.cluster, restored]));

  it('resumes after kill -9 and yields the same data', async () => {
    const dir = path.join(env.dir, 'restored');
    const k = openbar(['restore', '--data-dir', dir, '--archive-mode', 'off'], {
      config: env.config,
      env: { OPENBAR_FAULT: 'restore-saveset-done@2' },
    });
    assert.equal(k.signal, 'SIGKILL');
    assert.ok(fs.existsSync(path.join(dir, '.openbar_restore')), 'restart record left');
    assert.equal(fs.existsSync(path.join(dir, 'backup_label')), false, 'not presented as a finished restore');
    const r = ok(
      openbar(['restore', '--data-dir', dir, '--restart', '--archive-mode', 'off'], { config: env.config }),
      'restart',
    );
    assert.match(r.stdout, /next: pg_ctl start/);
    assert.equal(fs.existsSync(path.join(dir, '.openbar_restore')), false);
    restored = await SandboxCluster.adopt(dir, path.join(env.dir, 'sock-r'));
    restored.start();
    await restored.waitForPromotion();
    assert.deepEqual(await tableChecksums(restored), await tableChecksums(env.cluster));
  });
});
