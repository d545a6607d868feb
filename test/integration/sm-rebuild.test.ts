// The catalog is a cache of what the volumes say: delete it, and `sm scan --rebuild`
// yields the same save sets (ids, names, sizes, hashes), deletions included; the
// bootstrap record recovers it too.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { lastLine, makeHome, openbar, savesets, writeRandomFile } from '../harness/cli.js';

const MiB = 1024 * 1024;

describe('catalog rebuild and bootstrap', () => {
  let env: ReturnType<typeof makeHome>;
  let expected: string[];
  const summary = (config: string) =>
    savesets(config).map((s) => JSON.stringify([s.id, s.name, s.pool, s.kind, s.rawBytes, s.hash, s.volumes]));

  before(() => {
    env = makeHome('rebuild', { max_volume_size: '8MiB' });
    const files: string[] = [];
    for (const [i, size] of [5 * MiB, 12 * MiB, 1000, 0].entries()) {
      const f = path.join(env.dir, `f${i}`);
      writeRandomFile(f, size);
      files.push(f);
    }
    const ids: number[] = [];
    for (const [i, f] of files.entries()) {
      const r = openbar(['sm', 'store', '--pool', i % 2 ? 'Logs' : 'Data', '--name', `file-${i}`, f], {
        config: env.config,
      });
      assert.equal(r.status, 0, r.stderr);
      ids.push(Number(lastLine(r.stdout)));
    }
    // an aborted store (killed) and a deleted save set must not come back
    const k = openbar(['sm', 'store', '--pool', 'Data', '--name', 'killed', files[1]!], {
      config: env.config,
      env: { OPENBAR_FAULT: 'sm-before-catalog-commit' },
    });
    assert.equal(k.signal, 'SIGKILL');
    expected = summary(env.config);
    assert.equal(expected.length, 4);
  });
  after(() => fs.rmSync(env.dir, { recursive: true, force: true }));

  it('refuses to run without the catalog, then rebuilds the same save sets', () => {
    fs.rmSync(path.join(env.home, 'catalog.db'));
    for (const s of ['-wal', '-shm']) fs.rmSync(path.join(env.home, `catalog.db${s}`), { force: true });
    const r = openbar(['sm', 'savesets'], { config: env.config });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /catalog .* is missing .* run `openbar sm scan --rebuild`/);
    const b = openbar(['sm', 'scan', '--rebuild'], { config: env.config });
    assert.equal(b.status, 0, b.stderr);
    // the killed store committed its COMMIT record before the catalog: the volume is the
    // truth, so the rebuild may show it; everything else must be exactly as before
    const got = summary(env.config).filter((s) => !s.includes('"killed"'));
    assert.deepEqual(got, expected);
  });

  it('keeps deleted save sets deleted across a rebuild', () => {
    const victim = savesets(env.config).find((s) => s.name === 'file-2')!;
    // sm delete is internal for now: use the storage manager through a tiny store + delete flow
    const del = openbar(['sm', 'delete', String(victim.id)], { config: env.config });
    assert.equal(del.status, 0, del.stderr);
    const afterDelete = summary(env.config);
    assert.equal(openbar(['sm', 'scan', '--rebuild'], { config: env.config }).status, 0);
    assert.deepEqual(summary(env.config), afterDelete);
    // new ids never reuse old ones
    const f = path.join(env.dir, 'new');
    writeRandomFile(f, 100);
    const r = openbar(['sm', 'store', '--pool', 'Data', '--name', 'new', f], { config: env.config });
    assert.ok(
      Number(lastLine(r.stdout)) >
        Math.max(
          ...savesets(env.config)
            .filter((s) => s.name !== 'new')
            .map((s) => s.id),
          victim.id,
        ),
    );
  });

  it('recovers the catalog from the bootstrap record', () => {
    const b = openbar(['sm', 'bootstrap'], { config: env.config });
    assert.equal(b.status, 0, b.stderr);
    const record = lastLine(b.stdout);
    assert.match(record, /^openbar-bootstrap saveset=\d+ volume=Data\.\d{4} offset=\d+ pool=Data time=\S+ sm=\S+$/);
    assert.equal(fs.readFileSync(path.join(env.home, 'bootstrap.log'), 'utf8').trim().split('\n').pop(), record);
    const want = summary(env.config);
    fs.rmSync(path.join(env.home, 'catalog.db'));
    const r = openbar(['sm', 'bootstrap', '--recover', record], { config: env.config });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(summary(env.config), want);
  });
});
