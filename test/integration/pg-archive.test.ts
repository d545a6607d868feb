// The archive_command contract (idempotent, conflicting content refused, durable once
// it says so), restore_command's quiet "not here", and two clusters sharing one home
// without seeing each other's backups or WAL.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { lastLine, openbar, openbarAsync, savesets, sha256File } from '../harness/cli.js';
import { otherSystem, realSegment, segmentAs, storeUnchecked } from '../harness/wal-files.js';
import { randomBytes } from 'node:crypto';
import { contentHash } from '../../src/common/io/content-hash.js';
import { makePgEnv, ok, removeEnv, restoreAndStart, tableChecksums, type PgEnv } from '../harness/pg.js';
import type { SandboxCluster } from '../../src/engine/postgres/server/sandbox.js';

/** The segment the server is writing now (after a write, so never a switch's boundary); `fresh`: a new one, not the first. */
async function writingSegment(c: SandboxCluster, fresh: boolean): Promise<string> {
  if (fresh)
    await c.query('CREATE TABLE IF NOT EXISTS tick (x int); INSERT INTO tick VALUES (1); SELECT pg_switch_wal()');
  await c.query('CREATE TABLE IF NOT EXISTS tick (x int); INSERT INTO tick VALUES (1)');
  // the insert position: with synchronous_commit off the write position may still lag at the old boundary
  const [r] = await c.query<{ name: string }>('SELECT pg_walfile_name(pg_current_wal_insert_lsn()) AS name');
  return r!.name;
}

describe('WAL archive contract', () => {
  let env: PgEnv;
  let seg: string;
  let real: Buffer;
  before(async () => {
    env = await makePgEnv('archive');
    // a real segment moved to a name the cluster will never use itself
    real = realSegment(env.cluster.dataDir).data;
    const dir = path.join(env.dir, 'wal');
    fs.mkdirSync(dir);
    seg = path.join(dir, '0000000900000000000000AA');
    fs.writeFileSync(seg, segmentAs(real, '0000000900000000000000AA'));
  });
  after(() => removeEnv(env, [env.cluster]));

  it('stores a segment, and accepts the same segment again', () => {
    ok(openbar(['log', 'archive', seg], { config: env.config }), 'archive');
    ok(openbar(['log', 'archive', seg], { config: env.config }), 'archive again');
    const stored = savesets(env.config).filter((s) => s.name === path.basename(seg));
    assert.equal(stored.length, 1);
    const [info] = JSON.parse(
      ok(openbar(['sm', 'savesets', '--json', '--name', path.basename(seg)], { config: env.config }), 'savesets')
        .stdout,
    ) as { meta: { contentHash: string } }[];
    assert.equal(info!.meta.contentHash, contentHash(fs.readFileSync(seg)));
  });

  it('stores a file once when several processes push it at the same moment', async () => {
    // as a backup storing its own WAL and archive_command can: one save set, every push exits 0
    const file = path.join(env.dir, 'wal', '0000000900000000000000AC');
    fs.writeFileSync(file, segmentAs(real, '0000000900000000000000AC'));
    const runs = Array.from({ length: 4 }, () => openbarAsync(['log', 'archive', file], { config: env.config }));
    const codes = await Promise.all(runs.map((c) => new Promise<number | null>((res) => c.on('exit', res))));
    assert.deepEqual(codes, [0, 0, 0, 0]);
    assert.equal(savesets(env.config).filter((s) => s.name === path.basename(file)).length, 1);
    assert.deepEqual(
      fs.readdirSync(path.join(env.home, 'locks')).filter((n) => n.includes(path.basename(file))),
      [],
      'no lock left behind',
    );
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
    assert.match(
      r.stderr,
      /^openbar: WAL file 0000000900000000000000AA is already stored for server main with different content/,
    );
  });

  it('is not done until durable: killed before the commit, nothing is stored and a retry succeeds', () => {
    const seg2 = path.join(path.dirname(seg), '0000000900000000000000AB');
    fs.writeFileSync(seg2, segmentAs(real, '0000000900000000000000AB'));
    const k = openbar(['log', 'archive', seg2], {
      config: env.config,
      env: { OPENBAR_FAULT: 'sm-before-catalog-commit' },
    });
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

  it('refuses what is not a whole WAL file of this cluster, stores nothing, and real archiving goes on', async () => {
    // each bad file under the name of the segment the server is writing now: stored, it
    // would make the server's own segment of that name unarchivable forever
    const next = await writingSegment(env.cluster, true);
    const dir = path.join(env.dir, 'bad');
    const bad: [string, Buffer][] = [
      ['random bytes', randomBytes(real.length)],
      ['zeros', Buffer.alloc(real.length)],
      ['an empty file', Buffer.alloc(0)],
      ['a truncated segment', segmentAs(real, next).subarray(0, real.length / 2)],
      ["another cluster's segment", otherSystem(segmentAs(real, next))],
      ['a real segment under another name', real],
    ];
    for (const [what, data] of bad) {
      fs.rmSync(dir, { recursive: true, force: true });
      fs.mkdirSync(dir);
      fs.writeFileSync(path.join(dir, next), data);
      const r = openbar(['log', 'archive', path.join(dir, next)], { config: env.config });
      assert.equal(r.status, 1, what);
      assert.match(r.stderr, new RegExp(`^openbar: WAL file ${next} .*; not stored: [^\n]+\n$`), what);
    }
    for (const [name, text] of [
      ['00000005.history', 'no history here'],
      ['00000005.history', ''],
      [`${next}.00000028.backup`, 'START: nothing\n'],
    ] as const) {
      fs.writeFileSync(path.join(dir, name), text);
      assert.equal(openbar(['log', 'archive', path.join(dir, name)], { config: env.config }).status, 1, name);
    }
    assert.deepEqual(
      savesets(env.config).filter((x) => x.name === next || x.name.startsWith('00000005')),
      [],
    );
    assert.match(
      fs.readFileSync(path.join(env.home, 'activity.log'), 'utf8'),
      new RegExp(`WAL file ${next} is from database system \\d+, not this cluster's`),
      'nothing is logged as stored',
    );
    // the server's own segment of that name goes in as ever
    await env.cluster.query('CREATE TABLE after_bad AS SELECT 1 AS x');
    ok(openbar(['log', 'backup'], { config: env.config }), 'log backup');
    assert.equal(savesets(env.config).filter((x) => x.name === next && x.kind === 'wal').length, 1);
    const [arch] = await env.cluster.query<{ failed: string }>(
      'SELECT failed_count::text AS failed FROM pg_stat_archiver',
    );
    assert.equal(arch!.failed, '0');
  });

  it("log backup says stored only for the server's own content, and names what is in the way", async () => {
    const next = await writingSegment(env.cluster, false);
    // what an older openbar let in: other bytes under the name the server will archive next
    const id = await storeUnchecked(env.home, 'main', next, randomBytes(1 << 20));
    await env.cluster.query('CREATE TABLE in_the_way AS SELECT 1 AS x');
    const r = openbar(['log', 'backup'], { config: env.config });
    assert.equal(r.status, 1);
    assert.match(
      r.stderr,
      new RegExp(
        `^openbar: WAL file ${next} is stored \\(save set ${id}\\) with other content than the server's: .*openbar sm delete ${id}`,
      ),
    );
    // removed, archiving resumes: the server's segment is stored and the next log backup passes
    ok(openbar(['sm', 'delete', String(id)], { config: env.config }), 'sm delete');
    ok(openbar(['log', 'backup'], { config: env.config }), 'log backup after the fix');
    assert.equal(savesets(env.config).filter((x) => x.name === next && x.kind === 'wal').length, 1);
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
  after(() => {
    removeEnv(b, [b.cluster, ...started]);
    removeEnv(a, [a.cluster]);
  });

  it("keeps each server's backups and WAL apart", async () => {
    const ida = Number(lastLine(ok(openbar(['backup'], { config: a.config }), 'backup a').stdout));
    const idb = Number(lastLine(ok(openbar(['backup'], { config: b.config }), 'backup b').stdout));
    ok(openbar(['log', 'backup'], { config: a.config }), 'log backup a');
    ok(openbar(['log', 'backup'], { config: b.config }), 'log backup b');
    // the same WAL file names, for different servers, both stored
    const sets = savesets(a.config);
    const walA = new Set(
      sets.filter((s) => s.kind === 'wal' && (s as { server?: string }).server === 'alpha').map((s) => s.name),
    );
    const walB = new Set(
      sets.filter((s) => s.kind === 'wal' && (s as { server?: string }).server === 'beta').map((s) => s.name),
    );
    assert.ok(
      [...walA].some((n) => walB.has(n)),
      'both archived a segment of the same name',
    );
    assert.match(
      ok(openbar(['restore', '--data-dir', path.join(a.dir, 'x'), '--plan'], { config: a.config }), 'plan a').stdout,
      new RegExp(`^backup ${ida} `),
    );
    assert.match(
      ok(openbar(['restore', '--data-dir', path.join(b.dir, 'x'), '--plan'], { config: b.config }), 'plan b').stdout,
      new RegExp(`^backup ${idb} `),
    );
    const ha = JSON.parse(ok(openbar(['history', '--json'], { config: a.config }), 'history').stdout) as {
      server: string;
    }[];
    assert.ok(ha.every((x) => x.server === 'alpha'));
    const { cluster } = await restoreAndStart(b, [], 'beta');
    started.push(cluster);
    assert.deepEqual(
      await tableChecksums(cluster, 'postgres', ['public.who']),
      await tableChecksums(b.cluster, 'postgres', ['public.who']),
    );
  });
});
