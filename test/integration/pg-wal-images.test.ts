// A level 1 by WAL takes a changed page from the WAL when the page's last change there
// carries its full-page image (src/engine/postgres/wal/block-images.ts): the page as WAL
// replay would restore it, not read from the data file. Shown here: with no reader setting
// hint bits in between, those pages are byte for byte what the files hold (pd_lsn and
// pd_checksum included), and a restore through them lands on the right rows.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { SandboxCluster } from '../../src/engine/postgres/server/sandbox.js';
import { savesetPages } from '../harness/space-pages.js';
import { openbar, savesets } from '../harness/cli.js';
import { amcheck, makePgEnv, ok, removeEnv, restoreAndStart, tableChecksums, type PgEnv } from '../harness/pg.js';

interface Result {
  id: number;
  level: number;
  method: string | null;
  spaces: { space: string; imagePages: number }[];
}

/** file → block → page, over the space save sets of backup `aid` (files stored whole left out) */
async function pagesOf(
  home: string,
  config: string,
  aid: number,
  space: string,
): Promise<Map<string, Map<number, Buffer>>> {
  const out = new Map<string, Map<number, Buffer>>();
  const ids = savesets(config)
    .filter(
      (s) => s.kind === 'space' && s.name === space && (s as unknown as { meta: { aid: number } }).meta.aid === aid,
    )
    .map((s) => s.id);
  for (const id of ids) {
    for (const [file, pages] of await savesetPages(home, id)) {
      if (pages === 'whole') continue;
      const m = out.get(file) ?? new Map<number, Buffer>();
      for (const [b, p] of pages) m.set(b, p);
      out.set(file, m);
    }
  }
  return out;
}

describe("level 1 pages from the WAL's full-page images", () => {
  let env: PgEnv;
  const started: SandboxCluster[] = [];
  const q = (sql: string) => env.cluster.query(sql);
  const backup = (args: string[], set: string[] = []): Result =>
    JSON.parse(
      ok(openbar([...set, 'backup', ...args, '--json'], { config: env.config }), `backup ${args.join(' ')}`).stdout,
    ) as Result;
  const imagePages = (r: Result) => r.spaces.reduce((a, s) => a + s.imagePages, 0);
  let withImages: Result;
  let sums: Record<string, string>;

  before(async () => {
    env = await makePgEnv('images', { settings: { compression: 'zstd' } });
    env.cluster.pgbenchInit(2);
    // nothing may touch the pages between the two level 1s below (no hint bits set, no pruning)
    for (const t of ['pgbench_accounts', 'pgbench_branches', 'pgbench_tellers', 'pgbench_history'])
      await q(`ALTER TABLE ${t} SET (autovacuum_enabled = off)`);
    backup([]);
  });
  after(() => removeEnv(env, [env.cluster, ...started]));

  it('takes pages from images, byte for byte what the data files hold', async () => {
    // the first row of every 8th page changes once since the level 0's checkpoint: the first
    // change of a page after a checkpoint writes its image, and nothing changes it after
    await q(
      "UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE ctid = ANY (ARRAY(SELECT format('(%s,1)', b)::tid FROM generate_series(0, 3000, 8) b))",
    );
    const read = backup(['-L', '1'], ['--set', 'incremental_method=wal', '--set', 'wal_images=off']);
    // the first level 1's start switched the WAL holding the update to the archive, where
    // it was summarized: without summaries it is read again, images and all
    withImages = backup(['-L', '1'], ['--set', 'incremental_method=wal', '--set', 'wal_summaries=off']);
    assert.equal(withImages.method, 'wal');
    assert.equal(imagePages(read), 0);
    assert.ok(imagePages(withImages) > 300, `only ${imagePages(withImages)} pages from images`);
    // the table and its index, which nothing read since: byte for byte (catalog pages, read by
    // every connection, get hint bits set after their images, which are not WAL-logged)
    const files = new Set<string>();
    for (const rel of ['pgbench_accounts', 'pgbench_accounts_pkey']) {
      const [r] = (await q(`SELECT pg_relation_filepath('${rel}') AS f`)) as [{ f: string }];
      files.add(r.f.replace(/^base\//, ''));
    }
    let compared = 0;
    for (const space of ['pg_global', 'pg_default']) {
      const a = await pagesOf(env.home, env.config, read.id, space);
      const b = await pagesOf(env.home, env.config, withImages.id, space);
      assert.deepEqual([...b.keys()].sort(), [...a.keys()].sort(), `${space}: the same files`);
      for (const [file, pages] of b) {
        assert.deepEqual([...pages.keys()], [...a.get(file)!.keys()], `${space}/${file}: the same pages`);
        if (!files.has(file)) continue;
        for (const [block, page] of pages) {
          const want = a.get(file)!.get(block)!;
          assert.ok(
            page.equals(want),
            `${space}/${file} block ${block}: differs at bytes ${[...page.keys()]
              .filter((i) => page[i] !== want[i])
              .slice(0, 20)
              .join(',')}`,
          );
          compared++;
        }
      }
    }
    assert.ok(compared > imagePages(withImages), `${compared} pages compared`);
    sums = await tableChecksums(env.cluster);
  });

  it('restores through those pages to the rows of their instant, pg_amcheck clean', async () => {
    const { cluster } = await restoreAndStart(env, [], 'latest');
    started.push(cluster);
    assert.deepEqual(await tableChecksums(cluster), sums);
    const check = amcheck(cluster);
    assert.ok(check.ok, check.output);
    cluster.stop('fast');
  });
});
