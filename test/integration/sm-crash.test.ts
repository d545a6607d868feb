// kill -9 of a storing process at every stage of a save set's life: afterwards the
// catalog lists no partial save set, the volume opens cleanly (its torn tail cut off),
// earlier save sets still extract, and a new store succeeds.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { lastLine, makeHome, openbar, openbarAsync, savesets, sha256File, writeRandomFile } from '../harness/cli.js';

const MiB = 1024 * 1024;

describe('sm crash safety (kill -9)', () => {
  let env: ReturnType<typeof makeHome>;
  let big: string;
  let keptId: number;
  let keptHash: string;
  before(() => {
    // 1 MiB records: the fault points below count records (record 30 is past the first volume)
    env = makeHome('crash', { max_volume_size: '24MiB', compression: 'lz4', xfer_buf_size: '1MiB' });
    big = path.join(env.dir, 'big.bin');
    writeRandomFile(big, 40 * MiB);
    const small = path.join(env.dir, 'kept.bin');
    keptHash = writeRandomFile(small, 3 * MiB);
    const r = openbar(['sm', 'store', '--pool', 'Data', '--name', 'kept', small], { config: env.config });
    assert.equal(r.status, 0, r.stderr);
    keptId = Number(lastLine(r.stdout));
  });
  after(() => fs.rmSync(env.dir, { recursive: true, force: true }));

  const points = [
    'sm-data-record@3', // a few records in
    'sm-data-record@30', // past the first volume: the set spans
    'sm-before-end',
    'sm-before-commit',
    'sm-before-catalog-commit', // COMMIT record durable in the volume, catalog not yet
  ];
  for (const point of points) {
    it(`leaves nothing half-done when killed at ${point}`, () => {
      const r = openbar(['sm', 'store', '--pool', 'Data', '--name', 'crashed', big], {
        config: env.config,
        env: { OPENBAR_FAULT: point },
      });
      assert.equal(r.signal, 'SIGKILL', `killed at ${point}: ${r.stderr}`);
      assertClean();
    });
  }

  it('leaves nothing half-done when killed at a random moment', async () => {
    for (const delay of [150, 400]) {
      const child = openbarAsync(['sm', 'store', '--pool', 'Data', '--name', 'crashed', big], { config: env.config });
      const exited = new Promise((r) => child.once('exit', r));
      await new Promise((r) => setTimeout(r, delay));
      child.kill('SIGKILL');
      await exited;
      const sets = savesets(env.config).filter((s) => s.name === 'crashed');
      // the store may have finished before the kill: then it is whole
      for (const s of sets) assert.equal(s.rawBytes, 40 * MiB);
      for (const s of sets)
        assert.equal(
          openbar(['sm', 'extract', String(s.id), '--out', '/dev/null', '--force'], { config: env.config }).status,
          0,
        );
      assertClean({ allowCrashed: true });
    }
  });

  it('commits exactly once when killed right after the catalog commit', () => {
    const r = openbar(['sm', 'store', '--pool', 'Data', '--name', 'late', big], {
      config: env.config,
      env: { OPENBAR_FAULT: 'sm-after-catalog-commit' },
    });
    assert.equal(r.signal, 'SIGKILL');
    const late = savesets(env.config).filter((s) => s.name === 'late');
    assert.equal(late.length, 1);
    const out = path.join(env.dir, 'late.out');
    assert.equal(openbar(['sm', 'extract', String(late[0]!.id), '--out', out], { config: env.config }).status, 0);
    assert.equal(sha256File(out), sha256File(big));
    fs.rmSync(out);
  });

  function assertClean(opts: { allowCrashed?: boolean } = {}): void {
    const sets = savesets(env.config);
    if (!opts.allowCrashed)
      assert.deepEqual(
        sets.filter((s) => s.name === 'crashed'),
        [],
        'no partial save set is listed',
      );
    // the volume's torn tail is reported, not damage
    const scan = openbar(['sm', 'scan'], { config: env.config });
    assert.equal(scan.status, 0, scan.stdout + scan.stderr);
    // earlier data intact
    const out = path.join(env.dir, 'kept.out');
    const x = openbar(['sm', 'extract', String(keptId), '--out', out, '--force'], { config: env.config });
    assert.equal(x.status, 0, x.stderr);
    assert.equal(sha256File(out), keptHash);
    // a new store succeeds and reads back
    const again = path.join(env.dir, 'again.bin');
    const h = writeRandomFile(again, 2 * MiB);
    const s = openbar(['sm', 'store', '--pool', 'Data', '--name', 'again', again], { config: env.config });
    assert.equal(s.status, 0, s.stderr);
    const y = openbar(['sm', 'extract', lastLine(s.stdout), '--out', out, '--force'], { config: env.config });
    assert.equal(y.status, 0, y.stderr);
    assert.equal(sha256File(out), h);
    // nothing is mounted or in progress any more
    const w = JSON.parse(openbar(['sm', 'watch', '--once', '--json'], { config: env.config }).stdout);
    assert.deepEqual(w.sessions, []);
    // and a rebuild from the volumes agrees with the catalog
    const before = savesets(env.config).map((s) => `${s.id} ${s.name} ${s.rawBytes} ${s.hash}`);
    assert.equal(openbar(['sm', 'scan', '--rebuild'], { config: env.config }).status, 0);
    assert.deepEqual(
      savesets(env.config).map((s) => `${s.id} ${s.name} ${s.rawBytes} ${s.hash}`),
      before,
    );
  }
});
