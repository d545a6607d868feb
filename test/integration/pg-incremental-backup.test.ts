// Level 1 and 2 backups, the backup side: a space gets the lower level when its base is
// missing; a level 1 after ~1% of the pages changed stores well under 10% of the level 0;
// every changed page the scan method finds, the WAL method finds too (exceptions: all-zero
// pages, which scan keeps to be safe, and files WAL copies whole); a WAL file missing from
// the range makes `auto` scan instead and `wal` fail with a clear message.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { savesetPages } from '../harness/space-pages.js';
import { openbar, savesets } from '../harness/cli.js';
import { makePgEnv, ok, removeEnv, type PgEnv } from '../harness/pg.js';
import { flipStoredByte } from '../harness/volume-surgery.js';

interface Result {
  id: number;
  level: number;
  method: string | null;
  storedBytes: number;
  bytes: number;
  levels: { space: string; level: number; base: number | null; note: string | null }[];
}

/** Per file of a save set: the pages it carries ('whole' for whole files), and the all-zero ones. */
async function pageLists(
  home: string,
  id: number,
): Promise<Map<string, { pages: Set<number> | 'whole'; zero: Set<number> }>> {
  const out = new Map<string, { pages: Set<number> | 'whole'; zero: Set<number> }>();
  for (const [file, pages] of await savesetPages(home, id)) {
    if (pages === 'whole') {
      out.set(file, { pages: 'whole', zero: new Set() });
      continue;
    }
    out.set(file, {
      pages: new Set(pages.keys()),
      zero: new Set([...pages].filter(([, p]) => p.every((x) => x === 0)).map(([b]) => b)),
    });
  }
  return out;
}

type PageMap = Map<string, { pages: Set<number> | 'whole'; zero: Set<number> }>;

/** Per file of a backup's space, over all its parts (a large file's ranges go to several): the pages it carries. */
async function backupPages(home: string, ids: readonly number[]): Promise<PageMap> {
  const out: PageMap = new Map();
  for (const id of ids) {
    for (const [file, v] of await pageLists(home, id)) {
      const cur = out.get(file);
      if (!cur) {
        out.set(file, { pages: v.pages === 'whole' ? 'whole' : new Set(v.pages), zero: new Set(v.zero) });
        continue;
      }
      for (const z of v.zero) cur.zero.add(z);
      if (cur.pages === 'whole' || v.pages === 'whole') cur.pages = 'whole';
      else for (const p of v.pages) cur.pages.add(p);
    }
  }
  return out;
}

/** Every page `earlier` carries, `later` carries too (a later level 1 on the same base reads a longer WAL range); how many were compared. */
function assertCovers(later: PageMap, earlier: PageMap, what: string): number {
  let compared = 0;
  for (const [file, f] of earlier) {
    const g = later.get(file);
    assert.ok(g, `${what}: ${file} is in the first level 1 but not in the second`);
    if (f.pages === 'whole' || g.pages === 'whole') continue;
    for (const p of f.pages) {
      assert.ok(g.pages.has(p), `${what}: ${file} page ${p}`);
      compared++;
    }
  }
  return compared;
}

describe('level 1 and 2 backups (backup side)', () => {
  let env: PgEnv;
  const backup = (args: string[], set: string[] = []): Result =>
    JSON.parse(
      ok(openbar([...set, 'backup', ...args, '--json'], { config: env.config }), `backup ${args.join(' ')}`).stdout,
    ) as Result;
  const spaceSets = (aid: number) =>
    savesets(env.config).filter(
      (s) => s.kind === 'space' && (s as unknown as { meta: { aid: number } }).meta.aid === aid,
    );
  /** every page level 1 `earlier` carries, level 1 `later` (same base, longer range) carries too, in every space; how many were compared */
  const covers = async (later: number, earlier: number): Promise<number> => {
    let n = 0;
    for (const space of ['pg_global', 'pg_default']) {
      const sets = (aid: number) =>
        spaceSets(aid)
          .filter((x) => x.name === space)
          .map((x) => x.id);
      n += assertCovers(await backupPages(env.home, sets(later)), await backupPages(env.home, sets(earlier)), space);
    }
    return n;
  };

  before(async () => {
    env = await makePgEnv('incremental', { settings: { compression: 'zstd' } });
    env.cluster.pgbenchInit(10);
  });
  after(() => removeEnv(env, [env.cluster]));

  it('takes level 0 when asked for level 1 or 2 with nothing to build on, and says so', () => {
    const r = backup(['-L', '2']);
    assert.equal(r.level, 0);
    assert.ok(
      r.levels.every((l) => l.level === 0 && /^no level 0 of .*: taking level 0$/.test(l.note ?? '')),
      JSON.stringify(r.levels),
    );
    const two = backup(['-L', '2']);
    assert.equal(two.level, 1, 'no level 1 since the level 0: level 1');
    assert.ok(two.levels.every((l) => l.base === r.id));
  });

  it('stores well under 10% of the level 0 for a level 1 after ~1% of the pages changed', async () => {
    const l0 = backup([]);
    await env.cluster.query('UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid <= 10000');
    const l1 = backup(['-L', '1']);
    assert.equal(l1.level, 1);
    assert.equal(l1.method, 'wal');
    assert.ok(l1.levels.every((l) => l.base === l0.id));
    const ratio = l1.storedBytes / l0.storedBytes;
    assert.ok(
      ratio < 0.1,
      `level 1 stored ${l1.storedBytes} bytes, ${(ratio * 100).toFixed(1)}% of the level 0's ${l0.storedBytes}`,
    );
    assert.ok(l1.bytes < l0.bytes * 0.1, `level 1 read ${l1.bytes} bytes of ${l0.bytes}`);
    // a level 2 builds on that level 1
    await env.cluster.query('UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid > 990000');
    // the WAL thread was started by the launcher, before the CLI loaded (src/common/io/prestarted-worker.ts)
    const traced = ok(
      openbar(['backup', '-L', '2', '--json'], { config: env.config, env: { OPENBAR_TRACE: '1' } }),
      'backup -L 2 traced',
    );
    assert.match(traced.stderr, /wal: reading started \(thread started by the launcher\)/);
    const l2 = JSON.parse(traced.stdout) as Result;
    assert.equal(l2.level, 2);
    assert.ok(l2.levels.every((l) => l.base === l1.id));
    // and a scan, which reads no WAL, has none started for it
    const scan = ok(
      openbar(['--set', 'incremental_method=scan', 'backup', '-L', '1', '--json'], {
        config: env.config,
        env: { OPENBAR_TRACE: '1' },
      }),
      'backup -L 1 scan traced',
    );
    assert.doesNotMatch(scan.stderr, /wal: reading started/);
  });

  it('finds by WAL every changed page that the scan finds', async () => {
    await env.cluster.query('CREATE TABLE churn (id int PRIMARY KEY, v text)');
    await env.cluster.query("INSERT INTO churn SELECT g, repeat('x', 200) FROM generate_series(1, 20000) g");
    await env.cluster.query('UPDATE pgbench_accounts SET abalance = abalance - 1 WHERE aid % 997 = 0');
    await env.cluster.query('DELETE FROM pgbench_history');
    await env.cluster.query('VACUUM pgbench_accounts');
    await env.cluster.query('CREATE INDEX ON churn (v)');
    // scan first: whatever changes between the two is in the WAL range of the second
    const scan = backup(['-L', '1'], ['--set', 'incremental_method=scan']);
    const wal = backup(['-L', '1'], ['--set', 'incremental_method=wal']);
    assert.equal(scan.method, 'scan');
    assert.equal(wal.method, 'wal');
    let compared = 0;
    for (const space of ['pg_global', 'pg_default']) {
      const byScan = await backupPages(
        env.home,
        spaceSets(scan.id)
          .filter((x) => x.name === space)
          .map((x) => x.id),
      );
      const byWal = await backupPages(
        env.home,
        spaceSets(wal.id)
          .filter((x) => x.name === space)
          .map((x) => x.id),
      );
      for (const [file, s] of byScan) {
        const w = byWal.get(file);
        assert.ok(w, `${space}/${file} is in the scan level 1 but not in the WAL level 1`);
        if (s.pages === 'whole' || w.pages === 'whole') continue;
        for (const p of s.pages) {
          if (s.zero.has(p)) continue; // scan keeps all-zero pages (a base may hold older content there)
          assert.ok(w.pages.has(p), `${space}/${file} page ${p}: changed (found by scan) but not found in the WAL`);
          compared++;
        }
      }
    }
    assert.ok(compared > 500, `only ${compared} changed pages compared`);
    // the same base, the archived WAL read again instead of its summaries: a longer range, so
    // every page the first found (from summaries where it had them) is found again
    ok(openbar(['log', 'backup'], { config: env.config }), 'log backup');
    const plain = backup(['-L', '1'], ['--set', 'incremental_method=wal', '--set', 'wal_summaries=off']);
    assert.deepEqual(
      plain.levels.map((l) => l.base),
      wal.levels.map((l) => l.base),
    );
    const log = fs.readFileSync(`${env.home}/activity.log`, 'utf8');
    assert.match(log, new RegExp(`backup ${plain.id}: .*; 0 WAL file\\(s\\) by their summaries`));
    const again = await covers(plain.id, wal.id);
    assert.ok(again > 500, `only ${again} pages compared`);
  });

  it('a damaged WAL summary is not used: the WAL it stands for is read, and no changed page is missed', async () => {
    const base = backup([]);
    await env.cluster.query('UPDATE pgbench_accounts SET abalance = abalance + 3 WHERE aid % 50 = 0');
    ok(openbar(['log', 'backup'], { config: env.config }), 'log backup');
    await env.cluster.query('UPDATE pgbench_accounts SET abalance = abalance + 3 WHERE aid % 70 = 0');
    ok(openbar(['log', 'backup'], { config: env.config }), 'log backup');
    // every summary from the base's first WAL file on is damaged on its volume
    const label = savesets(env.config).find(
      (s) => s.kind === 'label' && (s as unknown as { meta: { aid: number } }).meta.aid === base.id,
    ) as unknown as { meta: { walFiles: string[] } };
    const damaged = savesets(env.config).filter((s) => s.kind === 'walsum' && s.name >= label.meta.walFiles[0]!);
    assert.ok(damaged.length >= 2, `${damaged.length} summaries to damage`);
    for (const s of damaged) flipStoredByte(path.join(env.home, 'volumes', s.pool, `${s.volumes[0]}.vol`), s.id);
    // the archived WAL read in full first; the level 1 with damaged summaries after it reads a longer range
    const full = backup(['-L', '1'], ['--set', 'incremental_method=wal', '--set', 'wal_summaries=off']);
    const hurt = backup(['-L', '1'], ['--set', 'incremental_method=wal']);
    assert.equal(hurt.method, 'wal');
    assert.ok(full.levels.every((l) => l.base === base.id) && hurt.levels.every((l) => l.base === base.id));
    const log = fs.readFileSync(`${env.home}/activity.log`, 'utf8');
    assert.match(log, new RegExp(`backup ${hurt.id}: .*; 0 WAL file\\(s\\) by their summaries`));
    const compared = await covers(hurt.id, full.id);
    assert.ok(compared > 500, `only ${compared} pages compared`);
  });

  it('by WAL opens no relation file last written before its base started, unless file_times = ignore', async () => {
    // files old enough: flushed, then left alone for longer than the 5 s margin
    await env.cluster.query('CHECKPOINT');
    await new Promise((r) => setTimeout(r, 6000));
    const base = backup([]);
    await env.cluster.query('UPDATE pgbench_branches SET bbalance = bbalance + 1 WHERE bid = 1');
    const trusted = backup(['-L', '1'], ['--set', 'incremental_method=wal']);
    const opened = backup(['-L', '1'], ['--set', 'incremental_method=wal', '--set', 'file_times=ignore']);
    assert.ok(trusted.levels.every((l) => l.base === base.id) && opened.levels.every((l) => l.base === base.id));
    // ignore reads every free space and visibility map and the last page of every relation file
    assert.ok(
      trusted.bytes * 5 < opened.bytes,
      `file_times = trust read ${trusted.bytes} bytes, ignore ${opened.bytes}`,
    );
    // what trust left out, the base holds: every file of the chain is complete and every page sound
    for (const id of [trusted.id, opened.id]) {
      const v = openbar(['verify', String(id)], { config: env.config });
      assert.equal(v.status, 0, v.stdout + v.stderr);
    }
  });

  it('a WAL file missing from the range: auto scans instead, wal fails clearly', async () => {
    const base = backup([]);
    for (let i = 0; i < 3; i++) {
      await env.cluster.query('UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid <= 2000');
      ok(openbar(['log', 'backup'], { config: env.config }), 'log backup');
    }
    // the old segments leave pg_wal at the next checkpoints; one is then deleted from the Logs pool
    await env.cluster.query('CHECKPOINT');
    ok(openbar(['log', 'backup'], { config: env.config }), 'log backup');
    await env.cluster.query('CHECKPOINT');
    const label = savesets(env.config).find(
      (s) => s.kind === 'label' && (s as unknown as { meta: { aid: number } }).meta.aid === base.id,
    ) as unknown as { meta: { walFiles: string[] } };
    const first = label.meta.walFiles[0]!;
    const victim = savesets(env.config)
      .filter((s) => s.kind === 'wal' && /^[0-9A-F]{24}$/.test(s.name) && s.name > first)
      .sort((a, b) => a.name.localeCompare(b.name))[1]!;
    ok(openbar(['sm', 'delete', '--force', String(victim.id)], { config: env.config }), 'sm delete');
    const r = openbar(['--set', 'incremental_method=wal', 'backup', '-L', '1'], { config: env.config });
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `incremental_method = wal: WAL file ${victim.name} .*is neither in the Logs pool nor in pg_wal: set incremental_method = scan`,
      ),
    );
    const auto = backup(['-L', '1']);
    assert.equal(auto.method, 'scan');
    assert.equal(auto.level, 1);
    const log = (await import('node:fs')).readFileSync(`${env.home}/activity.log`, 'utf8');
    assert.match(
      log,
      new RegExp(`backup ${auto.id}: WAL file ${victim.name} .*finding changed pages by scanning instead`),
    );
  });
});
