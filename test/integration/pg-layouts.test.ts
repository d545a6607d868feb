// The layouts PostgreSQL is installed in. Debian's (pg_createcluster: postgresql.conf,
// pg_hba.conf, pg_ident.conf and conf.d/ in /etc/postgresql/N/NAME, data in
// /var/lib/postgresql/N/NAME): the configuration backed up as its own save set, restored
// into the new data directory (or --config-dir), started with the command restore prints,
// rows equal, `verify --restore-test` passing; the live /etc files never written over. A
// data directory whose pg_wal is a link (initdb --waldir): restored with pg_wal a plain
// directory, started, rows equal, the original's WAL directory untouched.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SandboxCluster } from '../../src/engine/postgres/server/sandbox.js';
import { lastLine, openbar, savesets } from '../harness/cli.js';
import { ok, tableChecksums } from '../harness/pg.js';
import {
  debianLayoutMissing,
  makeDebianCluster,
  makeWaldirCluster,
  printedStart,
  runStartCommand,
  type LayoutEnv,
} from '../harness/layouts.js';

const missing = debianLayoutMissing();

describe('Debian layout (pg_createcluster)', { skip: missing ? `skipped: ${missing}` : false }, () => {
  let env: Awaited<ReturnType<typeof makeDebianCluster>>;
  let backup: number;
  let sums: Record<string, string>;
  const started: SandboxCluster[] = [];

  before(async () => {
    env = await makeDebianCluster('layout-debian');
    env.cluster.pgbenchInit(1);
    await env.cluster.query('CREATE TABLE t AS SELECT g, md5(g::text) AS h FROM generate_series(1, 20000) g');
    backup = Number(lastLine(ok(openbar(['backup'], { config: env.config }), 'backup').stdout));
    sums = await tableChecksums(env.cluster);
  });
  after(() => {
    for (const c of started) c.stop('immediate');
    env?.remove();
  });

  it('stores the files in /etc as their own save set, listed with the backup label', () => {
    const sets = savesets(env.config);
    const config = sets.find((s) => s.kind === 'config')!;
    assert.ok(config, 'no configuration save set');
    assert.equal((config as unknown as { meta: { aid: number } }).meta.aid, backup);
    const history = JSON.parse(ok(openbar(['history', '--json'], { config: env.config }), 'history').stdout) as {
      aid: number;
      instances: { object: string; copyIds: number[] }[];
    }[];
    const label = history.find((a) => a.aid === backup)!.instances.find((i) => i.object === 'backup_label')!;
    assert.deepEqual(label.copyIds.slice(1), [config.id], 'the configuration save set goes with the label');
  });

  it('passes verify --restore-test (the trial copy starts with the restored configuration)', () => {
    const r = openbar(['verify', String(backup), '--restore-test', '--json'], { config: env.config });
    assert.equal(r.status, 0, `verify exited ${r.status}: ${r.stdout}${r.stderr}`);
    const rep = JSON.parse(r.stdout) as { passed: boolean; restoreTest: { passed: boolean; detail: string } };
    assert.ok(rep.passed && rep.restoreTest.passed, r.stdout);
    assert.doesNotMatch(rep.restoreTest.detail, /minimal/);
  });

  it('restore --plan names the configuration files the restore puts back, and where', () => {
    const target = path.join(env.dir, 'planned');
    const text = ok(
      openbar(['restore', '--data-dir', target, '--archive-mode', 'off', '--plan'], { config: env.config }),
      'plan',
    );
    const conf = path.join(env.confDir, 'postgresql.conf');
    assert.match(
      text.stdout,
      new RegExp(`^configuration: \\d+ file\\(s\\) kept outside the data directory \\(.*${conf}`, 'm'),
    );
    assert.match(text.stdout, new RegExp(`restored into ${target} \\(--config-dir`));
    const j = JSON.parse(
      ok(
        openbar(['restore', '--data-dir', target, '--archive-mode', 'off', '--plan', '--json'], { config: env.config }),
        'plan --json',
      ).stdout,
    ) as { configInBackup: string[] };
    assert.ok(j.configInBackup.includes(conf), j.configInBackup.join(' '));
    assert.ok(j.configInBackup.includes(path.join(env.confDir, 'pg_hba.conf')));
    assert.equal(fs.existsSync(target), false, '--plan wrote nothing');
  });

  it('refuses --config-dir over the live cluster files, writing nothing', () => {
    const before = fs.readFileSync(path.join(env.confDir, 'postgresql.conf'));
    const target = path.join(env.dir, 'refused');
    const r = openbar(['restore', '--data-dir', target, '--archive-mode', 'off', '--config-dir', env.confDir], {
      config: env.config,
    });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /postgresql\.conf exists: openbar never writes over configuration files/);
    assert.deepEqual(fs.readFileSync(path.join(env.confDir, 'postgresql.conf')), before);
    assert.equal(fs.existsSync(target), false);
  });

  it('restores into a new directory that starts with the printed command, rows equal', async () => {
    const dataDir = path.join(env.dir, 'restored');
    const r = ok(
      openbar(['restore', '--data-dir', dataDir, '--archive-mode', 'off'], { config: env.config }),
      'restore',
    );
    assert.equal(printedStart(r.stdout), `pg_ctl start -D ${dataDir}`);
    for (const f of [
      'postgresql.conf',
      'pg_hba.conf',
      'pg_ident.conf',
      `openbar-included${env.confDir}/conf.d/openbar.conf`,
    ])
      assert.ok(fs.existsSync(path.join(dataDir, f)), `${f} not restored`);
    const conf = fs.readFileSync(path.join(dataDir, 'postgresql.conf'), 'utf8');
    assert.match(conf, /^#openbar restore: data_directory = '\/var\/lib\/postgresql\/15\//m);
    assert.match(conf, /^#openbar restore: external_pid_file/m);
    env.stop(); // the copy takes the original's port and socket, as a restore in its place would
    try {
      runStartCommand(env.bin, printedStart(r.stdout), path.join(env.dir, 'restored.log'));
      const copy = await SandboxCluster.adopt(dataDir, env.cluster.socketDir, env.bin);
      copy.port = env.cluster.port;
      started.push(copy);
      await copy.waitForPromotion();
      const [d] = await copy.query<{ d: string }>("SELECT current_setting('data_directory') AS d");
      assert.equal(d!.d, dataDir);
      assert.deepEqual(await tableChecksums(copy), sums);
      copy.stop();
    } finally {
      env.start();
    }
  });

  it('restores the configuration into --config-dir, set to use the restored data directory', async () => {
    const dataDir = path.join(env.dir, 'restored2');
    const confDir = path.join(env.dir, 'conf2');
    const r = ok(
      openbar(['restore', '--data-dir', dataDir, '--archive-mode', 'off', '--config-dir', confDir], {
        config: env.config,
      }),
      'restore --config-dir',
    );
    assert.equal(printedStart(r.stdout), `pg_ctl start -D ${confDir}`);
    assert.equal(fs.existsSync(path.join(dataDir, 'postgresql.conf')), false);
    assert.match(
      fs.readFileSync(path.join(confDir, 'postgresql.conf'), 'utf8'),
      new RegExp(`data_directory = '${dataDir}'`),
    );
    env.stop();
    try {
      runStartCommand(env.bin, printedStart(r.stdout), path.join(env.dir, 'restored2.log'));
      const copy = await SandboxCluster.adopt(dataDir, env.cluster.socketDir, env.bin);
      copy.port = env.cluster.port;
      started.push(copy);
      await copy.waitForPromotion();
      assert.deepEqual(await tableChecksums(copy), sums);
      copy.stop();
    } finally {
      env.start();
    }
  });
});

describe(
  'Debian layout: a configuration the copy cannot start with',
  {
    skip: missing ? `skipped: ${missing}` : false,
  },
  () => {
    let env: Awaited<ReturnType<typeof makeDebianCluster>>;

    before(async () => {
      env = await makeDebianCluster('layout-debian-bad');
    });
    after(() => env?.remove());

    it('verify --restore-test starts the copy with a minimal configuration and passes', async () => {
      await env.cluster.query('CREATE TABLE t AS SELECT g FROM generate_series(1, 1000) g');
      // read only at a restart: the running original is unaffected, a copy started with it fails
      fs.writeFileSync(
        path.join(env.confDir, 'conf.d', 'zz-broken.conf'),
        "shared_preload_libraries = 'openbar_no_such_library'\n",
      );
      const id = Number(lastLine(ok(openbar(['backup'], { config: env.config }), 'backup').stdout));
      const r = openbar(['verify', String(id), '--restore-test', '--json'], { config: env.config });
      assert.equal(r.status, 0, `verify exited ${r.status}: ${r.stdout}${r.stderr}`);
      const rep = JSON.parse(r.stdout) as { restoreTest: { passed: boolean; detail: string } };
      assert.ok(rep.restoreTest.passed);
      assert.match(rep.restoreTest.detail, /with a minimal configuration \(the backed-up one did not start/);
    });
  },
);

describe('pg_wal linked elsewhere (initdb --waldir)', () => {
  let env: LayoutEnv & { walDir: string };
  let copy: SandboxCluster | undefined;

  before(async () => {
    env = await makeWaldirCluster('layout-waldir');
  });
  after(() => {
    copy?.stop('immediate');
    env?.remove();
  });

  it('backs up, restores with pg_wal a plain directory, starts, rows equal', async () => {
    env.cluster.pgbenchInit(1);
    ok(openbar(['backup'], { config: env.config }), 'backup');
    const sums = await tableChecksums(env.cluster);
    const walBefore = fs.readdirSync(env.walDir).sort();
    const dataDir = path.join(env.dir, 'restored');
    const r = ok(
      openbar(['restore', '--data-dir', dataDir, '--archive-mode', 'off'], { config: env.config }),
      'restore',
    );
    assert.equal(printedStart(r.stdout), `pg_ctl start -D ${dataDir}`);
    const st = fs.lstatSync(path.join(dataDir, 'pg_wal'));
    assert.ok(st.isDirectory() && !st.isSymbolicLink(), 'pg_wal restored as a plain directory');
    assert.ok(fs.lstatSync(path.join(dataDir, 'pg_wal', 'archive_status')).isDirectory());
    assert.deepEqual(
      fs.readdirSync(env.walDir).filter((f) => !walBefore.includes(f) && !/^[0-9A-F]{24}/.test(f)),
      [],
      'nothing but WAL written into the original WAL directory',
    );
    copy = await SandboxCluster.adopt(dataDir, path.join(env.dir, 'sock-restored'), env.bin);
    copy.start();
    await copy.waitForPromotion();
    assert.deepEqual(await tableChecksums(copy), sums);
  });

  it('restores in place over the stopped original with its pg_wal link kept, the old WAL moved aside', async () => {
    copy?.stop();
    copy = undefined;
    const sums = await tableChecksums(env.cluster);
    ok(openbar(['log', 'backup'], { config: env.config }), 'log backup');
    env.stop();
    const dataDir = env.cluster.dataDir;
    const r = openbar(['restore', '--data-dir', dataDir], { config: env.config });
    assert.equal(r.status, 0, `restore in place exited ${r.status}: ${r.stderr}`);
    assert.equal(fs.readlinkSync(path.join(dataDir, 'pg_wal')), env.walDir, 'pg_wal still links to the WAL directory');
    assert.ok(fs.lstatSync(path.join(env.walDir, 'archive_status')).isDirectory());
    const aside = fs.readdirSync(env.walDir).filter((n) => n.startsWith('openbar-before-restore-'));
    assert.equal(aside.length, 1, 'the old WAL moved aside, not deleted');
    assert.equal(fs.readdirSync(env.walDir).filter((n) => /^[0-9A-F]{24}$/.test(n)).length, 0);
    assert.equal(fs.existsSync(path.join(dataDir, 'openbar_pg_wal_link')), false);
    env.start();
    await env.cluster.waitForPromotion();
    assert.deepEqual(await tableChecksums(env.cluster), sums);
  });
});
