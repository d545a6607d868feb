// Restore and verify of a level-1 chain against a real cluster, with the level 1 made by
// hand (independent of the backup side): backup B's save sets re-encoded as a level 1 on
// backup A (pages whose LSN is at or after A's start, other files whole). The restore
// lands on B's rows with pages from both levels, leaves out a table dropped between the
// two, keeps a table truncated between them at its new size, resumes after kill -9 (between
// levels, and between two parts: only the part left is written); verify passes it and
// names the pages no level supplies.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SandboxCluster } from '../../src/engine/postgres/server/sandbox.js';
import { lastLine, openbar, savesets } from '../harness/cli.js';
import { decodeStream, encodeStream, incrementalFrom } from '../harness/make-incremental.js';
import { amcheck, makePgEnv, ok, removeEnv, restoreAndStart, tableChecksums, type PgEnv } from '../harness/pg.js';
import { readSaveSetContent, replaceSaveSet } from '../harness/volume-surgery.js';

const PAGE = 8192;
interface SetInfo {
  id: number;
  name: string;
  kind: string;
  meta: { aid: number; part: number; startLsn: string; baseCopyId?: number };
}
interface Report {
  passed: boolean;
  checks: { name: string; passed: boolean; detail: string; problems: string[] }[];
}

describe('restore and verify of a level-1 chain', () => {
  let env: PgEnv;
  const started: SandboxCluster[] = [];
  let a = 0;
  let b = 0;
  let sumsB: Record<string, string>;
  const rel: Record<'static' | 'dropped' | 'shrink', { path: string; relfilenode: number }> = {} as never;
  let shrinkSize = { a: 0, b: 0 };
  let baseLsn = '';
  /** B's level-0 space streams, kept to make damaged level 1s */
  const level0OfB = new Map<number, { name: string; content: Buffer; baseCopyId: number }>();
  const kept = new Map<string, number[]>();

  const sets = (aid: number) => (savesets(env.config) as unknown as SetInfo[]).filter((s) => s.meta.aid === aid);
  const spaceSets = (aid: number, name: string) =>
    sets(aid)
      .filter((s) => s.kind === 'space' && s.name === name)
      .sort((x, y) => x.meta.part - y.meta.part);
  const q = (sql: string) => env.cluster.query(sql);
  const verify = (aid: number) => {
    const r = openbar(['verify', String(aid), '--json'], { config: env.config });
    assert.ok(r.status === 0 || r.status === 3, `verify exited ${r.status}: ${r.stderr}`);
    return { status: r.status, report: JSON.parse(r.stdout) as Report };
  };
  const problems = (rep: Report, check: string) => rep.checks.find((c) => c.name === check)!.problems.join('\n');
  /** runs `damage` on a copy of the home's state, checks, and puts the home back */
  const withDamage = async (damage: () => Promise<void>, check: () => void) => {
    const keep = `${env.home}.keep`;
    execFileSync('cp', ['-a', env.home, keep]);
    try {
      await damage();
      ok(openbar(['sync', '--from-storage'], { config: env.config }), 'sync --from-storage');
      check();
    } finally {
      fs.rmSync(env.home, { recursive: true, force: true });
      fs.renameSync(keep, env.home);
    }
  };

  before(async () => {
    env = await makePgEnv('chain', { settings: { compression: 'none' } });
    env.cluster.pgbenchInit(8); // big enough for parts and for ranges of pgbench_accounts
    await q('CREATE TABLE static_t (id int, v text) WITH (autovacuum_enabled = off)');
    await q('INSERT INTO static_t SELECT g, md5(g::text) FROM generate_series(1, 20000) g');
    await q('CREATE TABLE dropped AS SELECT g FROM generate_series(1, 10000) g');
    await q('CREATE TABLE shrink (id int, v text) WITH (autovacuum_enabled = off)');
    await q("INSERT INTO shrink SELECT g, repeat('s', 100) FROM generate_series(1, 20000) g");
    await q("CREATE TABLE grow AS SELECT g AS id, 'a'::text AS v FROM generate_series(1, 1000) g");
    await q('VACUUM FREEZE static_t');
    await q('VACUUM FREEZE shrink');
    for (const t of ['static', 'dropped', 'shrink'] as const) {
      const [r] = await env.cluster.query<{ p: string; f: number }>(
        `SELECT pg_relation_filepath('${t === 'static' ? 'static_t' : t}') AS p, pg_relation_filenode('${t === 'static' ? 'static_t' : t}')::int AS f`,
      );
      rel[t] = { path: r!.p.replace(/^base\//, ''), relfilenode: r!.f };
    }
    a = Number(lastLine(ok(openbar(['backup'], { config: env.config }), 'backup A').stdout));
    shrinkSize.a = Number(
      (await env.cluster.query<{ n: string }>("SELECT pg_relation_size('shrink')::text AS n"))[0]!.n,
    );

    await env.cluster.pgbench(3, 2);
    await q('DROP TABLE dropped');
    await q('DELETE FROM shrink WHERE id > 500');
    await q('VACUUM shrink'); // truncates its file
    await q("INSERT INTO grow SELECT g, 'b' FROM generate_series(1001, 40000) g");
    await q('CREATE TABLE made_after AS SELECT g FROM generate_series(1, 5000) g');
    b = Number(lastLine(ok(openbar(['backup'], { config: env.config }), 'backup B').stdout));
    shrinkSize = {
      ...shrinkSize,
      b: Number((await env.cluster.query<{ n: string }>("SELECT pg_relation_size('shrink')::text AS n"))[0]!.n),
    };
    assert.ok(shrinkSize.b < shrinkSize.a, `VACUUM truncated shrink (${shrinkSize.a} -> ${shrinkSize.b})`);
    sumsB = await tableChecksums(env.cluster);
    ok(openbar(['log', 'backup'], { config: env.config }), 'log backup');

    // B's space save sets become a level 1 on A's
    baseLsn = sets(a).find((s) => s.kind === 'label')!.meta.startLsn;
    for (const s of sets(b).filter((x) => x.kind === 'space')) {
      const baseCopyId = spaceSets(a, s.name)[0]!.id;
      const content = await readSaveSetContent(env.home, s.id);
      const inc = incrementalFrom(content, { level: 1, baseLsn });
      const id = await replaceSaveSet(env.home, s.id, inc.content, { level: 1, meta: { baseCopyId, baseLsn } });
      level0OfB.set(id, { name: s.name, content, baseCopyId });
      if (s.name === 'pg_default') for (const [f, p] of inc.kept) kept.set(f, [...(kept.get(f) ?? []), ...p]);
    }
    const labelB = sets(b).find((s) => s.kind === 'label')!;
    await replaceSaveSet(env.home, labelB.id, await readSaveSetContent(env.home, labelB.id), { level: 1 });
    ok(openbar(['sync', '--from-storage'], { config: env.config }), 'sync --from-storage');
  });
  after(() => removeEnv(env, [env.cluster, ...started]));

  it('made a level 1 that needs the level 0', () => {
    assert.equal(spaceSets(b, 'pg_default').length, 2, 'pg_default in two parts');
    assert.deepEqual(kept.get(rel.static.path), [], 'static_t unchanged since A: no page in the level 1');
    const total = [...kept.values()].reduce((n, p) => n + p.length, 0);
    assert.ok(total > 100, `${total} changed pages`);
    assert.ok(!kept.has(rel.dropped.path), 'dropped is not in B');
  });

  it('plans the chain', () => {
    const plan = ok(
      openbar(['restore', '--data-dir', path.join(env.dir, 'plan'), '--plan'], { config: env.config }),
      'plan',
    ).stdout;
    assert.match(plan, new RegExp(`backup ${b} \\(level 1`));
    const ids = (aid: number, n: string) =>
      spaceSets(aid, n)
        .map((s) => s.id)
        .join(',');
    for (const n of ['pg_global', 'pg_default'])
      assert.match(plan, new RegExp(`${n} +level 1 save set\\(s\\) ${ids(b, n)} <- level 0 ${ids(a, n)}\\n`));
  });

  it('restores B from both levels: its rows, pg_amcheck clean, the dropped table absent, the truncated one short', async () => {
    const { cluster, result } = await restoreAndStart(env, [], 'chain');
    started.push(cluster);
    assert.match(result.stdout, /pg_default +restored to .* from level 1 save set\(s\) [\d,]+ <- level 0 [\d,]+/);
    assert.deepEqual(await tableChecksums(cluster), sumsB);
    const check = amcheck(cluster);
    assert.ok(check.ok, check.output);
    assert.equal(
      fs.existsSync(path.join(cluster.dataDir, 'base', rel.dropped.path)),
      false,
      'a file dropped since the level 0 is not restored',
    );
    assert.equal(fs.statSync(path.join(cluster.dataDir, 'base', rel.shrink.path)).size, shrinkSize.b);
    // the newest level's visibility maps (whole) agree with the heap pages
    await cluster.query('CREATE EXTENSION IF NOT EXISTS pg_visibility');
    for (const t of ['public.pgbench_accounts', 'public.shrink', 'public.grow']) {
      const [r] = await cluster.query<{ n: string }>(
        `SELECT count(*)::text AS n FROM pg_visibility('${t}') WHERE all_visible AND NOT pd_all_visible`,
      );
      assert.equal(r!.n, '0', `${t}: pages all-visible in the map but not on the page`);
    }
    cluster.stop('fast');
  });

  it('resumes after kill -9 in the middle of a chain, between two levels', async () => {
    const dir = path.join(env.dir, 'restart');
    // levels: pg_global 1 and 0, then pg_default's level 1: killed before its level 0
    const k = openbar(['restore', '--data-dir', dir, '--archive-mode', 'off'], {
      config: env.config,
      env: { OPENBAR_FAULT: 'restore-chain-level@3' },
    });
    assert.equal(k.signal, 'SIGKILL', k.stderr);
    const record = JSON.parse(fs.readFileSync(path.join(dir, '.openbar_restore'), 'utf8')) as { spacesDone: string[] };
    assert.deepEqual(record.spacesDone, ['pg_global']);
    assert.equal(fs.existsSync(path.join(dir, 'global', 'pg_control')), false, 'not startable');
    ok(
      openbar(['restore', '--data-dir', dir, '--restart', '--archive-mode', 'off'], { config: env.config }),
      'restart',
    );
    const cluster = await SandboxCluster.adopt(dir, path.join(env.dir, 'sock-restart'));
    started.push(cluster);
    cluster.start();
    await cluster.waitForPromotion();
    assert.deepEqual(await tableChecksums(cluster), sumsB);
    cluster.stop('fast');
  });

  it('resumes after kill -9 between two parts of a chain, writing only the part left', async () => {
    const dir = path.join(env.dir, 'restart-part');
    const parts = ['pg_global', 'pg_default'].flatMap((n) => [...spaceSets(b, n), ...spaceSets(a, n)]);
    // killed once every part but one is recorded
    const k = openbar(['restore', '--data-dir', dir, '--archive-mode', 'off'], {
      config: env.config,
      env: { OPENBAR_FAULT: `restore-saveset-done@${parts.length - 1}` },
    });
    assert.equal(k.signal, 'SIGKILL', k.stderr);
    const record = JSON.parse(fs.readFileSync(path.join(dir, '.openbar_restore'), 'utf8')) as { done: number[] };
    const left = parts.filter((s) => !record.done.includes(s.id));
    assert.deepEqual([record.done.length, left.length], [parts.length - 1, 1]);
    const r = JSON.parse(
      ok(
        openbar(['restore', '--data-dir', dir, '--restart', '--archive-mode', 'off', '--json'], { config: env.config }),
        'restart',
      ).stdout,
    ) as { bytes: number };
    // the finished parts of the newer level are read again for the pages they hold, not written
    const content = decodeStream(await readSaveSetContent(env.home, left[0]!.id)).entries.reduce(
      (n, e) => n + e.data.length,
      0,
    );
    assert.equal(r.bytes, content, `restart wrote the content of save set ${left[0]!.id} only`);
    const cluster = await SandboxCluster.adopt(dir, path.join(env.dir, 'sock-restart-part'));
    started.push(cluster);
    cluster.start();
    await cluster.waitForPromotion();
    assert.deepEqual(await tableChecksums(cluster), sumsB);
    const check = amcheck(cluster);
    assert.ok(check.ok, check.output);
    cluster.stop('fast');
  });

  it('verify reads every level and passes the chain', () => {
    const v = verify(b);
    assert.equal(v.status, 0, JSON.stringify(v.report.checks));
    assert.match(v.report.checks.find((c) => c.name === 'save sets')!.detail, /\(\d+ of base levels\)/);
  });

  it('verify names pages the level 0 lacks that the chain needs', async () => {
    let pages = 0;
    await withDamage(
      async () => {
        // A's pg_default without the last two pages of static_t (which B's level 1 does not carry)
        const moved = new Map<number, number>();
        for (const s of spaceSets(a, 'pg_default')) {
          const { header, entries } = decodeStream(await readSaveSetContent(env.home, s.id));
          const i = entries.findIndex((e) => e.entry.path === rel.static.path);
          if (i < 0) continue;
          const e = entries[i]!;
          pages = e.entry.size / PAGE;
          entries[i] = {
            entry: { ...e.entry, offset: 0, length: e.entry.size - 2 * PAGE },
            data: e.data.subarray(0, e.entry.size - 2 * PAGE),
          };
          moved.set(s.id, await replaceSaveSet(env.home, s.id, encodeStream(header, entries)));
        }
        // the level 1 names its base by save-set id: point it at the replacement
        for (const s of spaceSets(b, 'pg_default')) {
          const to = s.meta.baseCopyId === undefined ? undefined : moved.get(s.meta.baseCopyId);
          if (to !== undefined)
            await replaceSaveSet(env.home, s.id, await readSaveSetContent(env.home, s.id), {
              meta: { baseCopyId: to },
            });
        }
      },
      () => {
        const v = verify(b);
        assert.equal(v.status, 3);
        assert.deepEqual(
          v.report.checks.filter((c) => !c.passed).map((c) => c.name),
          ['files complete'],
          JSON.stringify(v.report.checks),
        );
        assert.match(
          problems(v.report, 'files complete'),
          new RegExp(
            `relation static_t \\(relfilenode ${rel.static.relfilenode}\\), pages ${pages - 2}\\.\\.${pages - 1}: 2 pages missing`,
          ),
        );
      },
    );
  });

  it('verify names pages of a level-1 file larger than any level supplies', async () => {
    let pages = 0;
    await withDamage(
      async () => {
        for (const [id, l0] of level0OfB) {
          if (
            l0.name !== 'pg_default' ||
            !decodeStream(l0.content).entries.some((e) => e.entry.path === rel.static.path)
          )
            continue;
          const size = decodeStream(l0.content).entries.find((e) => e.entry.path === rel.static.path)!.entry.size;
          pages = size / PAGE;
          const inc = incrementalFrom(l0.content, {
            level: 1,
            baseLsn,
            resize: new Map([[rel.static.path, size + 3 * PAGE]]),
          });
          await replaceSaveSet(env.home, id, inc.content);
        }
      },
      () => {
        const v = verify(b);
        assert.equal(v.status, 3);
        assert.match(
          problems(v.report, 'files complete'),
          new RegExp(`relfilenode ${rel.static.relfilenode}\\), pages ${pages}\\.\\.${pages + 2}: 3 pages missing`),
        );
      },
    );
  });
});
