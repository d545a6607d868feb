// The archive_command contract (idempotent, conflicting content refused, durable once
// it says so), restore_command's quiet "not here", and two clusters sharing one home
// without seeing each other's backups or WAL.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { lastLine, openbar, openbarAsync, savesets, sha256File } from '../harness/cli.js';
import { contentHash } from '../../src/common/io/content-hash.js';
import { makePgEnv, ok, removeEnv, restoreAndStart, tableChecksums, type PgEnv } from '../harness/pg.js';
import type { SandboxCluster } from '../../src/engine/postgres/sandbox.js';

describe('WAL archive contract', () => {
  let env: PgEnv;
  let seg: string;
  before(async () => {
    env = await makePgEnv('archive');
    // a private copy of a real segment, under a name the cluster will never use
    const src = fs.readdirSync(path.join(env.cluster.dataDir, 'pg_wal')).filter((n) => /^[0-9A-F]{24}$/.test(n)).sort()[0]!;
    const dir = path.join(env.dir, 'wal');
    fs.mkdirSync(dir);
    seg = path.join(dir, '0000000900000000000000AA');
    fs.copyFileSync(path.join(env.cluster.dataDir, 'pg_wal', src), seg);
  });
  after(() => removeEnv(env, [env.cluster]));

  it('stores a segment, and accepts the same segment again', () => {
    ok(openbar(['log', 'archive', seg], { config: env.config }), 'archive');
    ok(openbar(['log', 'archive', seg], { config: env.config }), 'archive again');
    const stored = savesets(env.config).filter((s) => s.name === path.basename(seg));
    assert.equal(stored.length, 1);
    const [info] = JSON.parse(ok(openbar(['sm', 'savesets', '--json', '--name', path.basename(seg)], { config: env.config }), 'savesets').stdout) as { meta: { contentHash: string } }[];
    assert.equal(info!.meta.contentHash, contentHash(fs.readFileSync(seg)));
  });

  it('stores a file once when several processes push it at the same moment', async () => {
    // as a backup storing its own WAL and archive_command can: one save set, every push exits 0
    const file = path.join(env.dir, 'wal', '0000000900000000000000AC');
    fs.copyFileSync(seg, file);
    const runs = Array.from({ length: 4 }, () => openbarAsync(['log', 'archive', file], { config: env.config }));
    const codes = await Promise.all(runs.map((c) => new Promise<number | null>((res) => c.on('exit', res))));
    assert.deepEqual(codes, [0, 0, 0, 0]);
    assert.equal(savesets(env.config).filter((s) => s.name === path.basename(file)).length, 1);
    assert.deepEqual(fs.readdirSync(path.join(env.home, 'locks')).filter((n) => n.includes(path.basename(file))), [], 'no lock left behind');
  });

  it('refuses different content under a stored name', () => {
    const other = path.join(env.dir, 'other', path.basename(seg));
    fs.mkdirSync(path.dirname(other));
    fs.copyFileSync(seg, other);
    const fd = fs.openSync(other, 'r+');
    fs.writeSync(fd, Buffer.from('x'), 0, 1, 100);
    fs.closeSync(fd);
    const r = openbar(['log', 'archive', other], { config: env.config });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^openbar: WAL file 0000000900000000000000AA is already stored for server main with different content/);
  });

  it('is not done until durable: killed before the commit, nothing is stored and a retry succeeds', () => {
    const seg2 = path.join(path.dirname(seg), '0000000900000000000000AB');
    fs.copyFileSync(seg, seg2);
    const k = openbar(['log', 'archive', seg2], { config: env.config, env: { OPENBAR_FAULT: 'sm-before-catalog-commit' } });
    assert.equal(k.signal, 'SIGKILL');
    assert.equal(savesets(env.config).filter((s) => s.name === path.basename(seg2)).length, 0);
    ok(openbar(['log', 'archive', seg2], { config: env.config }), 'retry');
    assert.equal(savesets(env.config).filter((s) => s.name === path.basename(seg2)).length, 1);
  });

  it('restores a stored segment, and exits 1 quietly for one it does not have', () => {
    const dest = path.join(env.dir, 'restored-seg');
    ok(openbar(['log', 'restore', path.basename(seg), dest], { config: env.config }), 'log restore');
    assert.equal(sha256File(dest), sha256File(seg));
    const r = openbar(['log', 'restore', '00000009.history', dest], { config: env.config });
    assert.equal(r.status, 1);
    assert.equal(r.stderr, '');
  });

  it('refuses a path that is not a WAL file', () => {
    const r = openbar(['log', 'archive', path.join(env.dir, 'openbar.conf')], { config: env.config });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /is not a WAL file name/);
  });
});

describe('two clusters in one home', () => {
  let a: PgEnv;
  let b: PgEnv;
  const started: SandboxCluster[] = [];
  before(async () => {
    a = await makePgEnv('shared-a', { server: 'alpha' });
    b = await makePgEnv('shared-b', { server: 'beta', home: a.home });
    await a.cluster.query("CREATE TABLE who AS SELECT 'alpha'::text AS name");
    await b.cluster.query("CREATE TABLE who AS SELECT 'beta'::text AS name, g FROM generate_series(1, 10) g");
  });
  after(() => { removeEnv(b, [b.cluster, ...started]); removeEnv(a, [a.cluster]); });

  it('keeps each server\'s backups and WAL apart', async () => {
    const ida = Number(lastLine(ok(openbar(['backup'], { config: a.config }), 'backup a').stdout));
    const idb = Number(lastLine(ok(openbar(['backup'], { config: b.config }), 'backup b').stdout));
    ok(openbar(['log', 'backup'], { config: a.config }), 'log backup a');
    ok(openbar(['log', 'backup'], { config: b.config }), 'log backup b');
    // the same WAL file names, for different servers, both stored
    const sets = savesets(a.config);
    const walA = new Set(sets.filter((s) => s.kind === 'wal' && (s as { server?: string }).server === 'alpha').map((s) => s.name));
    const walB = new Set(sets.filter((s) => s.kind === 'wal' && (s as { server?: string }).server === 'beta').map((s) => s.name));
    assert.ok([...walA].some((n) => walB.has(n)), 'both archived a segment of the same name');
    assert.match(ok(openbar(['restore', '--data-dir', path.join(a.dir, 'x'), '--plan'], { config: a.config }), 'plan a').stdout, new RegExp(`^backup ${ida} `));
    assert.match(ok(openbar(['restore', '--data-dir', path.join(b.dir, 'x'), '--plan'], { config: b.config }), 'plan b').stdout, new RegExp(`^backup ${idb} `));
    const ha = JSON.parse(ok(openbar(['history', '--json'], { config: a.config }), 'history').stdout) as { server: string }[];
    assert.ok(ha.every((x) => x.server === 'alpha'));
    const { cluster } = await restoreAndStart(b, [], 'beta');
    started.push(cluster);
    assert.deepEqual(await tableChecksums(cluster, 'postgres', ['public.who']), await tableChecksums(b.cluster, 'postgres', ['public.who']));
  });
});
