// Volume recycling: once every save set of a full volume is deleted, the volume is cut
// back to its label and reused; deletions recorded in it stay deleted across a catalog
// rebuild, and ids are never handed out again.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { lastLine, makeHome, openbar, savesets, writeRandomFile } from '../harness/cli.js';

const MiB = 1024 * 1024;

interface Vol {
  label: string;
  state: string;
  size: number;
  saveSets: number;
}
const volumes = (config: string): Vol[] => JSON.parse(openbar(['sm', 'volumes', '--json'], { config }).stdout) as Vol[];

describe('volume recycling', () => {
  let env: ReturnType<typeof makeHome>;
  const ids: number[] = [];

  before(() => {
    env = makeHome('recycle', { max_volume_size: '4MiB', compression: 'none' });
    // six 1.5 MiB sets: volumes fill and close as they go
    for (let i = 0; i < 6; i++) {
      const f = path.join(env.dir, `f${i}`);
      writeRandomFile(f, 1.5 * MiB);
      const r = openbar(['sm', 'store', '--pool', 'Data', '--name', `file-${i}`, f], { config: env.config });
      assert.equal(r.status, 0, r.stderr);
      ids.push(Number(lastLine(r.stdout)));
    }
  });
  after(() => fs.rmSync(env.dir, { recursive: true, force: true }));

  it('recycles a full volume once all its save sets are deleted, and only then', () => {
    const before = volumes(env.config).filter((v) => v.label.startsWith('Data'));
    assert.ok(before.length >= 3, `expected several volumes, got ${JSON.stringify(before)}`);
    const first = before[0]!;
    assert.equal(first.state, 'full');
    // the sets with data in the first volume
    const inFirst = savesets(env.config).filter((s) => s.volumes.includes(first.label));
    assert.ok(inFirst.length >= 2);
    // deleting one of them is not enough
    assert.equal(openbar(['sm', 'delete', String(inFirst[0]!.id)], { config: env.config }).status, 0);
    assert.equal(volumes(env.config).find((v) => v.label === first.label)!.state, 'full');
    for (const s of inFirst.slice(1))
      assert.equal(openbar(['sm', 'delete', String(s.id)], { config: env.config }).status, 0);
    const now = volumes(env.config).find((v) => v.label === first.label)!;
    assert.equal(now.state, 'open');
    assert.equal(fs.statSync(path.join(env.home, 'volumes', 'Data', `${first.label}.vol`)).size, 4096);
  });

  it('keeps deletions and ids across a rebuild after recycling', () => {
    const live = savesets(env.config).map((s) => s.id);
    const maxBefore = Math.max(...ids);
    assert.equal(openbar(['sm', 'scan', '--rebuild'], { config: env.config }).status, 0);
    assert.deepEqual(
      savesets(env.config).map((s) => s.id),
      live,
    );
    // the recycled volume is reused and a new id is higher than any ever given
    const f = path.join(env.dir, 'again');
    writeRandomFile(f, 100 * 1024);
    const r = openbar(['sm', 'store', '--pool', 'Data', '--name', 'again', f], { config: env.config });
    assert.equal(r.status, 0, r.stderr);
    assert.ok(Number(lastLine(r.stdout)) > maxBefore);
    const x = openbar(['sm', 'extract', lastLine(r.stdout), '--out', path.join(env.dir, 'again.out')], {
      config: env.config,
    });
    assert.equal(x.status, 0, x.stderr);
    assert.deepEqual(fs.readFileSync(path.join(env.dir, 'again.out')), fs.readFileSync(f));
    for (const s of savesets(env.config)) {
      const e = openbar(['sm', 'extract', String(s.id), '--out', path.join(env.dir, `x${s.id}`)], {
        config: env.config,
      });
      assert.equal(e.status, 0, `save set ${s.id}: ${e.stderr}`);
    }
    assert.equal(openbar(['sm', 'scan'], { config: env.config }).status, 0);
  });
});
