// The home with a real cluster: private modes after a backup and archived WAL under
// umask 022; garbage boot-file lines skipped with a warning while status and restore
// --plan go on; a catalog put back from an older copy refused by backup and restore
// (one line, no TypeError, nothing written), rebuilt by `sm scan --rebuild`, after which
// restore --until-lsn plans and the next backup's save-set ids are all new.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { lastLine, openbar, savesets, sha256File } from '../harness/cli.js';
import { notPrivate } from '../harness/home-modes.js';
import { makePgEnv, ok, removeEnv, type PgEnv } from '../harness/pg.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the home of a real cluster', () => {
  let env: PgEnv;
  const saved = process.umask();
  const run = (args: string[]) => openbar(args, { config: env.config });

  /** No archive_command at work: nothing ready in pg_wal, the catalog closed by everyone. */
  async function quiet(): Promise<void> {
    const status = path.join(env.cluster.dataDir, 'pg_wal', 'archive_status');
    for (let i = 0; i < 600; i++) {
      const ready = fs.readdirSync(status).some((n) => n.endsWith('.ready'));
      if (!ready && !fs.existsSync(path.join(env.home, 'catalog.db-wal'))) return;
      await sleep(50);
    }
    assert.fail('the archiver did not settle');
  }

  before(async () => {
    process.umask(0o022); // every openbar the test starts runs under it
    env = await makePgEnv('hygiene');
    await env.cluster.query('CREATE TABLE t AS SELECT g AS x FROM generate_series(1, 10000) g');
    ok(run(['backup']), 'backup');
    ok(run(['log', 'backup']), 'log backup');
    await quiet();
  });
  after(() => {
    process.umask(saved);
    removeEnv(env, [env.cluster]);
  });

  it('keeps everything in the home private after a backup and archived WAL (umask 022)', () => {
    assert.ok(
      fs.existsSync(path.join(env.home, 'locks')) && fs.readdirSync(path.join(env.home, 'volumes', 'Logs')).length > 0,
    );
    assert.deepEqual(notPrivate(env.home), []);
    assert.equal(run(['status']).stderr, '');
  });

  it('skips garbage boot-file lines with a warning naming file and line; status and restore --plan work', async () => {
    const boot = path.join(env.home, 'ixbar.main');
    const original = fs.readFileSync(boot, 'utf8');
    const lines = original.split('\n');
    // after the two header lines and the first instance: a short line, a bad number, junk; a torn last line
    const garbage = [
      'main pg_global R 1 0 1 - 0/2000028',
      'main pg_global R x1 0 1 - 0/2000028 0/2000100 1 000000010000000000000002 2026-12-07T11:29:22.253Z',
      '\u0000\u0001\u00ffPK\u0003\u0004',
    ];
    fs.writeFileSync(boot, [...lines.slice(0, 3), ...garbage, ...lines.slice(3)].join('\n') + 'main backup_la');
    const n = lines.length - 1 + garbage.length + 1; // the torn line's number
    const expected = [4, 5, 6, n];
    const aside = path.join(env.dir, 'history.db.aside');
    fs.renameSync(path.join(env.home, 'history.db'), aside); // a cold restore reads the boot file alone
    try {
      for (const args of [['status'], ['restore', '--plan', '--data-dir', path.join(env.dir, 'plan')]]) {
        const r = run(args);
        assert.equal(r.status, 0, `${args[0]}: ${r.stderr}`);
        const warnings = r.stderr.split('\n').filter(Boolean);
        assert.deepEqual(
          warnings.map((w) =>
            Number(/^openbar: warning: \S+ixbar\.main line (\d+): .*; the line is skipped$/.exec(w)?.[1]),
          ),
          expected,
          r.stderr,
        );
        assert.match(warnings[1]!, /action "x1" is not an action id/);
        assert.match(warnings[3]!, /last line cut short/);
      }
      assert.match(run(['status']).stdout, /from the boot file[\s\S]*pg_global +0 +1 /);
      assert.match(run(['restore', '--plan', '--data-dir', path.join(env.dir, 'plan')]).stdout, /^backup 1 \(level 0/);
      assert.match(
        fs.readFileSync(path.join(env.home, 'activity.log'), 'utf8'),
        /WARNING: \S+ixbar\.main line 5: action "x1" is not an action id; the line is skipped/,
      );
    } finally {
      fs.renameSync(aside, path.join(env.home, 'history.db'));
    }
    // a writer never glues its line to the torn one
    const b = Number(lastLine(ok(run(['backup']), 'backup').stdout));
    await quiet();
    const after = fs.readFileSync(boot, 'utf8').split('\n');
    assert.ok(after.includes('main backup_la'), 'the torn line was ended, not extended');
    assert.ok(after.some((l) => l.startsWith(`main backup_label B ${b} 0 `)));
    fs.writeFileSync(boot, after.filter((l) => l !== 'main backup_la' && !garbage.includes(l)).join('\n'));
  });

  it('refuses a catalog put back from an older copy, then works once `sm scan --rebuild` ran', async () => {
    const catalog = path.join(env.home, 'catalog.db');
    const old = path.join(env.dir, 'catalog.old');
    fs.copyFileSync(catalog, old);
    await env.cluster.query('INSERT INTO t SELECT generate_series(1, 1000)');
    ok(run(['backup']), 'backup');
    const [{ lsn }] = await env.cluster.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
    await env.cluster.query('INSERT INTO t SELECT generate_series(1, 1000)');
    ok(run(['log', 'backup']), 'log backup');
    ok(run(['backup']), 'backup');
    ok(run(['log', 'backup']), 'log backup');
    await quiet();
    const want = savesets(env.config).map((s) => `${s.id} ${s.name} ${s.hash}`);
    fs.copyFileSync(old, catalog);
    const untouched = () =>
      [
        catalog,
        ...['Data', 'Logs'].flatMap((p) =>
          fs.readdirSync(path.join(env.home, 'volumes', p)).map((v) => path.join(env.home, 'volumes', p, v)),
        ),
      ].map((f) => `${f} ${sha256File(f)}`);
    const before = untouched();
    const target = path.join(env.dir, 'restored');
    for (const args of [
      ['backup'],
      ['restore', '--plan', '--until-lsn', lsn!, '--data-dir', target],
      ['restore', '--until-lsn', lsn!, '--data-dir', target],
    ]) {
      const r = run(args);
      assert.equal(r.status, 1, `${args.join(' ')}: ${r.stdout}`);
      assert.match(
        r.stderr,
        /^openbar: the storage-manager catalog \S+ is behind its volumes .*: run `openbar sm scan --rebuild` to rebuild it from the volumes \(the old one is kept aside\)\n$/,
      );
    }
    assert.deepEqual(untouched(), before, 'nothing was written');
    assert.equal(fs.existsSync(target), false);

    ok(run(['sm', 'scan', '--rebuild']), 'sm scan --rebuild');
    assert.deepEqual(
      savesets(env.config).map((s) => `${s.id} ${s.name} ${s.hash}`),
      want,
    );
    const plan = ok(run(['restore', '--plan', '--until-lsn', lsn!, '--data-dir', target]), 'restore --plan');
    assert.match(plan.stdout, /nothing changed \(--plan\)/);
    const highest = Math.max(...savesets(env.config).map((s) => s.id));
    ok(run(['backup']), 'backup');
    await quiet();
    const fresh = savesets(env.config).filter((s) => !want.some((w) => w.startsWith(`${s.id} `)));
    assert.ok(fresh.length >= 3 && fresh.every((s) => s.id > highest), `new ids: ${fresh.map((s) => s.id).join(', ')}`);
  });
});
