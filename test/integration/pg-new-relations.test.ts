// Relations created after a level 0, whose pages' LSNs say nothing of when they were
// written: a GiST index by sorted build (its pages carry GistBuildLSN, 1), an unlogged
// table with a primary key (its init forks carry LSN 0), a table with TOAST values, GIN
// and SP-GiST indexes. A level 1 by scan, by auto falling back to scan, and by wal copies
// them whole: each restore has the source's rows, pg_amcheck clean, every index answering
// as a sequential scan does, the unlogged table empty and usable. verify reports a level 1
// that lists only some pages of such a file (as openbar's scan did before) as incomplete;
// a base that recorded no file list makes a level 1 by scan a level 0, and says so.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parseLsn } from '../../src/engine/postgres/format/lsn.js';
import { isAllZero, pageLsn, RELSEG_BLOCKS } from '../../src/engine/postgres/format/page.js';
import type { SandboxCluster } from '../../src/engine/postgres/server/sandbox.js';
import { relationBlockBase } from '../../src/engine/postgres/format/relation-path.js';
import type { FileEntry } from '../../src/engine/postgres/format/space-stream.js';
import { openbar, savesets } from '../harness/cli.js';
import { indexAnswer } from '../harness/index-scans.js';
import { decodeStream, encodeStream } from '../harness/make-incremental.js';
import { amcheck, makePgEnv, ok, removeEnv, restoreAndStart, tableChecksums, type PgEnv } from '../harness/pg.js';
import { readSaveSetContent, replaceSaveSet } from '../harness/volume-surgery.js';
import { savesetPages } from '../harness/space-pages.js';
import { decodeFileList, encodeFileList } from '../../src/bar/backup/file-list.js';

const PAGE = 8192;
interface Result {
  id: number;
  level: number;
  method: string | null;
  levels: { space: string; level: number; base: number | null; note: string | null }[];
}
interface SetInfo {
  id: number;
  name: string;
  kind: string;
  meta: { aid: number; startLsn: string; walFiles: string[] };
}

/** Queries answered through each index, and the index their plan must name. */
const INDEX_QUERIES: readonly { index: string; query: string }[] = [
  {
    index: 'pts_gist',
    query: "SELECT count(*) || ':' || coalesce(sum(id), 0) FROM pts WHERE p <@ box '((100,100),(400,700))'",
  },
  {
    index: 'pts_spgist',
    query: "SELECT count(*) || ':' || coalesce(sum(id), 0) FROM pts WHERE q <@ box '((200,50),(900,300))'",
  },
  { index: 'docs_gin', query: "SELECT count(*) || ':' || coalesce(sum(id), 0) FROM docs WHERE tags @> ARRAY[7, 3]" },
  { index: 'toasty_pkey', query: 'SELECT md5(big) FROM toasty WHERE id = 321' },
];

describe('relations created after the base, in a level 1 by scan, auto and wal', () => {
  let env: PgEnv;
  const started: SandboxCluster[] = [];
  let a: Result;
  let sums: Record<string, string>;
  const answers = new Map<string, string>();
  const node: Record<string, number> = {};
  const by: Record<string, Result> = {};
  const q = (sql: string) => env.cluster.query(sql);
  const backup = (level: number, method: string): Result =>
    JSON.parse(
      ok(
        openbar(['--set', `incremental_method=${method}`, 'backup', '-L', String(level), '--json'], {
          config: env.config,
        }),
        `backup -L ${level} ${method}`,
      ).stdout,
    ) as Result;
  const sets = () => savesets(env.config) as unknown as SetInfo[];
  const labelOf = (aid: number) => sets().find((s) => s.kind === 'label' && s.meta.aid === aid)!;
  /** runs `body` with the level 0's label content changed by `edit`, then puts it back */
  const withBaseLabel = async (edit: (json: Record<string, unknown>) => void, body: () => Promise<void> | void) => {
    const label = labelOf(a.id);
    const content = await readSaveSetContent(env.home, label.id);
    const json = JSON.parse(content.toString('utf8')) as Record<string, unknown>;
    assert.equal(typeof json.fileList, 'string', 'the level 0 recorded its files');
    edit(json);
    const changed = await replaceSaveSet(env.home, label.id, Buffer.from(JSON.stringify(json), 'utf8'));
    ok(openbar(['sync', '--from-storage'], { config: env.config }), 'sync');
    try {
      await body();
    } finally {
      await replaceSaveSet(env.home, changed, content);
      ok(openbar(['sync', '--from-storage'], { config: env.config }), 'sync');
    }
  };
  /** per file of backup `aid`'s pg_default: the pages it carries ('whole' for a file stored whole) */
  const carried = async (aid: number) => {
    const out = new Map<string, Set<number> | 'whole'>();
    for (const s of sets().filter((x) => x.kind === 'space' && x.name === 'pg_default' && x.meta.aid === aid)) {
      for (const [f, pages] of await savesetPages(env.home, s.id)) {
        const had = out.get(f);
        if (pages === 'whole' || had === 'whole') {
          out.set(f, 'whole');
          continue;
        }
        out.set(f, new Set([...(had ?? []), ...pages.keys()]));
      }
    }
    return out;
  };

  before(async () => {
    env = await makePgEnv('newrel');
    await q('CREATE TABLE old_t AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 20000) g');
    // not touched after the level 0: its pages keep LSNs from before it
    await q('CREATE TABLE still_t AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 20000) g');
    await q('VACUUM FREEZE still_t');
    a = backup(0, 'auto');

    // after the level 0: nothing of these is in it
    await q('CREATE EXTENSION pageinspect');
    await q(`CREATE TABLE pts AS SELECT g AS id, point((g * 7919) % 1000 + (g % 7) / 10.0, (g::bigint * 104729) % 997 + (g % 11) / 10.0) AS p,
      point((g * 31) % 1000, (g * 17) % 400) AS q FROM generate_series(1, 100000) g`);
    await q('CREATE INDEX pts_gist ON pts USING gist (p)'); // sorted build: point_ops has sortsupport
    await q('CREATE INDEX pts_spgist ON pts USING spgist (q)');
    await q(
      'CREATE TABLE docs AS SELECT g AS id, ARRAY[g % 100, g % 37, g % 11] AS tags FROM generate_series(1, 50000) g',
    );
    await q('CREATE INDEX docs_gin ON docs USING gin (tags)');
    await q('CREATE UNLOGGED TABLE ul (id int PRIMARY KEY, v text)');
    await q('INSERT INTO ul SELECT g, repeat(md5(g::text), 300) FROM generate_series(1, 1000) g');
    await q('CREATE TABLE toasty (id int PRIMARY KEY, big text)');
    await q('ALTER TABLE toasty ALTER big SET STORAGE EXTERNAL');
    await q('INSERT INTO toasty SELECT g, repeat(md5(g::text), 200) FROM generate_series(1, 500) g');
    await q("UPDATE old_t SET v = 'changed' WHERE id % 50 = 0");
    await q('CHECKPOINT');

    sums = await tableChecksums(env.cluster);
    sums['public.ul'] = '0:-'; // unlogged: empty after any restore
    for (const { index, query } of INDEX_QUERIES) {
      const r = await indexAnswer(env.cluster, index, query);
      assert.ok(r.usedIndex, `${index} in the plan: ${r.plan}`);
      assert.equal(r.viaIndex, r.viaTable, index);
      answers.set(index, r.viaIndex);
    }
    for (const rel of ['pts_gist', 'ul_pkey', 'toasty']) {
      const [r] = await env.cluster.query<{ n: number }>(`SELECT pg_relation_filenode('${rel}')::int AS n`);
      node[rel] = r!.n;
    }
    const [t] = await env.cluster.query<{ n: number }>(
      "SELECT pg_relation_filenode(reltoastrelid)::int AS n FROM pg_class WHERE relname = 'toasty'",
    );
    node.toast = t!.n;
  });
  after(() => removeEnv(env, [env.cluster, ...started]));

  it('made pages whose LSNs predate the base: the GiST index by sorted build, the unlogged init forks', async () => {
    const [g] = await env.cluster.query<{
      n: number;
      all: number;
    }>(`SELECT count(*) FILTER (WHERE (page_header(get_raw_page('pts_gist', b))).lsn = '0/1')::int AS n,
      count(*)::int AS all FROM generate_series(0, (pg_relation_size('pts_gist') / ${PAGE})::int - 1) b`);
    assert.ok(g!.n > 100 && g!.n === g!.all, `${g!.n} of ${g!.all} GiST pages at LSN 0/1`);
    const [u] = await env.cluster.query<{ lsn: string }>(
      "SELECT (page_header(get_raw_page('ul_pkey', 'init', 0))).lsn::text AS lsn",
    );
    assert.equal(u!.lsn, '0/0');
  });

  /** Restores the latest backup, checks it against the source, stops it. */
  const checkRestore = async (name: string) => {
    const { cluster } = await restoreAndStart(env, [], name);
    started.push(cluster);
    for (const { index, query } of INDEX_QUERIES) {
      const r = await indexAnswer(cluster, index, query);
      assert.ok(r.usedIndex, `${index} in the plan: ${r.plan}`);
      assert.deepEqual(
        [r.viaIndex, r.viaTable],
        [answers.get(index), answers.get(index)],
        `${index}: through the index, then the table`,
      );
    }
    assert.deepEqual(await tableChecksums(cluster), sums, 'rows');
    // the unlogged table: there, empty, and its index works
    await cluster.query("INSERT INTO ul SELECT g, repeat('u', 3000) FROM generate_series(1, 200) g");
    const u = await indexAnswer(
      cluster,
      'ul_pkey',
      "SELECT count(*) || ':' || max(length(v)) FROM ul WHERE id BETWEEN 40 AND 49",
    );
    assert.ok(u.usedIndex, u.plan);
    assert.deepEqual([u.viaIndex, u.viaTable], ['10:3000', '10:3000']);
    const check = amcheck(cluster);
    assert.ok(check.ok, check.output);
    cluster.stop('fast');
  };

  const assertLevel1 = (r: Result, method: string) => {
    assert.equal(r.method, method);
    for (const l of r.levels) assert.deepEqual([l.level, l.base], [1, a.id], `${l.space}: ${l.note ?? ''}`);
  };

  it('by scan: restored whole, verify passes', async () => {
    by.scan = backup(1, 'scan');
    assertLevel1(by.scan, 'scan');
    await checkRestore('scan');
    const v = openbar(['verify', String(by.scan.id)], { config: env.config });
    assert.equal(v.status, 0, v.stdout + v.stderr);
  });

  it('by wal: restored whole', async () => {
    by.wal = backup(1, 'wal');
    assertLevel1(by.wal, 'wal');
    await checkRestore('wal');
  });

  it('by wal on a base that recorded no file list: level 1 all the same (the WAL names new files)', async () => {
    await withBaseLabel(
      (json) => {
        delete json.fileList;
      },
      () => assertLevel1(backup(1, 'wal'), 'wal'),
    );
  });

  it('by scan and by wal on a base that knew a file shorter: every page past that size, whatever its LSN', async () => {
    const [r] = await env.cluster.query<{ p: string; n: number }>(
      "SELECT pg_relation_filepath('still_t') AS p, (pg_relation_size('still_t') / 8192)::int AS n",
    );
    const file = r!.p.replace(/^base\//, '');
    assert.ok(r!.n > 20, `still_t has ${r!.n} pages`);
    await withBaseLabel(
      (json) => {
        const lists = decodeFileList(Buffer.from(json.fileList as string, 'base64'));
        const edited = new Map(
          [...lists].map(([space, files]) => [
            space,
            [...files.entries()].map(([p, size]): [string, number] => [p, p === file ? 2 * PAGE : size]),
          ]),
        );
        json.fileList = encodeFileList(edited).toString('base64');
      },
      async () => {
        for (const method of ['scan', 'wal']) {
          const l1 = backup(1, method);
          assertLevel1(l1, method);
          const pages = (await carried(l1.id)).get(file);
          assert.ok(pages instanceof Set, `${method}: ${file} as a page list`);
          const missing = Array.from({ length: r!.n - 2 }, (_, i) => i + 2).filter((b) => !pages.has(b));
          assert.deepEqual(missing, [], `${method}: pages of still_t past 2 not in the level 1`);
        }
      },
    );
  });

  it('by auto, the WAL unreadable so scanning: restored whole', async () => {
    // a WAL file of the range leaves pg_wal and the Logs pool
    const last = by.wal!.id;
    for (let i = 0; i < 3; i++) {
      await q('UPDATE old_t SET v = v WHERE id <= 100');
      ok(openbar(['log', 'backup'], { config: env.config }), 'log backup');
    }
    await q('CHECKPOINT');
    ok(openbar(['log', 'backup'], { config: env.config }), 'log backup');
    await q('CHECKPOINT');
    const after = labelOf(last).meta.walFiles.at(-1)!;
    const victim = sets()
      .filter((s) => s.kind === 'wal' && /^[0-9A-F]{24}$/.test(s.name) && s.name > after)
      .sort((x, y) => x.name.localeCompare(y.name))[0]!;
    ok(openbar(['sm', 'delete', '--force', String(victim.id)], { config: env.config }), 'sm delete');
    sums = { ...(await tableChecksums(env.cluster)), 'public.ul': '0:-' };
    by.auto = backup(1, 'auto');
    assertLevel1(by.auto, 'scan');
    await checkRestore('auto');
  });

  it('verify reports a level 1 listing only some pages of a file its base lacks (as scan made them before)', async () => {
    const baseLsn = labelOf(a.id).meta.startLsn;
    for (const s of sets().filter((x) => x.kind === 'space' && x.meta.aid === by.scan!.id)) {
      const { header, entries } = decodeStream(await readSaveSetContent(env.home, s.id));
      await replaceSaveSet(
        env.home,
        s.id,
        encodeStream(
          header,
          entries.flatMap((e) => asBeforeTheFix(e, baseLsn)),
        ),
      );
    }
    ok(openbar(['sync', '--from-storage'], { config: env.config }), 'sync');
    const r = openbar(['verify', String(by.scan!.id), '--json'], { config: env.config });
    assert.equal(r.status, 3, r.stdout + r.stderr);
    const report = JSON.parse(r.stdout) as { checks: { name: string; passed: boolean; problems: string[] }[] };
    const files = report.checks.find((c) => c.name === 'files complete')!;
    assert.equal(files.passed, false);
    const lines = files.problems.join('\n');
    assert.match(
      lines,
      new RegExp(`relation pts_gist \\(relfilenode ${node.pts_gist}\\), pages \\d+\\.\\.\\d+: \\d+ pages missing`),
    );
    assert.match(lines, new RegExp(`relfilenode ${node.ul_pkey}\\) fork init, page 0: page missing`));
  });

  it('scan on a base that recorded no file list takes level 0, and says so', async () => {
    const label = labelOf(a.id);
    const json = JSON.parse((await readSaveSetContent(env.home, label.id)).toString('utf8')) as Record<string, unknown>;
    delete json.fileList;
    await replaceSaveSet(env.home, label.id, Buffer.from(JSON.stringify(json), 'utf8'));
    ok(openbar(['sync', '--from-storage'], { config: env.config }), 'sync');
    const r = backup(1, 'scan');
    assert.equal(r.level, 0);
    for (const l of r.levels) {
      assert.equal(l.level, 0, l.space);
      assert.match(
        l.note ?? '',
        new RegExp(`level 0 \\(backup ${a.id}\\) recorded no list of its files .*: taking level 0$`),
      );
    }
  });
});

/**
 * An entry of a level 1 as the scan method wrote it before files new since the base were
 * copied whole: a relation file's pages only where their LSN is at or after the base's
 * start or they are all zero.
 */
function asBeforeTheFix(e: { entry: FileEntry; data: Buffer }, baseLsn: string): { entry: FileEntry; data: Buffer }[] {
  const { entry, data } = e;
  if (
    entry.type !== 'file' ||
    entry.pages ||
    relationBlockBase(entry.path, RELSEG_BLOCKS) === undefined ||
    /_(fsm|vm)(\.\d+)?$/.test(entry.path)
  )
    return [e];
  const base = parseLsn(baseLsn);
  const first = (entry.offset ?? 0) / PAGE;
  const pages: number[] = [];
  for (let i = 0; i * PAGE < data.length; i++) {
    const page = data.subarray(i * PAGE, (i + 1) * PAGE);
    if (pageLsn(page) >= base || isAllZero(page)) pages.push(i);
  }
  const { offset: _o, length: _l, ...head } = entry;
  if (pages.length === 0) return first === 0 ? [{ entry: { ...head, pages: [] }, data: Buffer.alloc(0) }] : [];
  const out: { entry: FileEntry; data: Buffer }[] = [];
  for (let w = 0; w < pages.length; w += 256) {
    // at most 256 pages an entry, as the copy writes them
    const list = pages.slice(w, w + 256);
    out.push({
      entry: { ...head, pages: list.map((i) => first + i) },
      data: Buffer.concat(list.map((i) => data.subarray(i * PAGE, (i + 1) * PAGE))),
    });
  }
  return out;
}
