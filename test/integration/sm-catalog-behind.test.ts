// A catalog put back from an older copy (a file-level restore of the home, a copy made
// before the last backups) is refused as soon as the storage manager opens: it would hand
// out ids committed save sets already carry and cut their records off as a torn tail.
// `sm scan --rebuild` fixes it, and no id is handed out twice afterwards. A crashed
// writer's tail, and a writer at work, are not mistaken for it.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { lastLine, makeHome, openbar, openbarAsync, savesets, sha256File, writeRandomFile } from '../harness/cli.js';

const MiB = 1024 * 1024;

function copyCatalog(home: string, to: string): void {
  for (const s of ['-wal', '-shm'])
    assert.equal(fs.existsSync(path.join(home, `catalog.db${s}`)), false, 'no openbar runs: the catalog is one file');
  fs.copyFileSync(path.join(home, 'catalog.db'), to);
}

function putBack(from: string, home: string): void {
  fs.copyFileSync(from, path.join(home, 'catalog.db'));
}

/** Every byte of the home's catalog and volumes, to show nothing was written. */
function fingerprint(home: string): Record<string, string> {
  const out: Record<string, string> = { catalog: sha256File(path.join(home, 'catalog.db')) };
  for (const pool of fs.readdirSync(path.join(home, 'volumes'))) {
    for (const v of fs.readdirSync(path.join(home, 'volumes', pool)))
      out[v] = sha256File(path.join(home, 'volumes', pool, v));
  }
  return out;
}

describe('a catalog behind its volumes', () => {
  let env: ReturnType<typeof makeHome>;
  let file: string;
  const store = (name: string, pool = 'Data', f = file) => {
    const r = openbar(['sm', 'store', '--pool', pool, '--name', name, f], { config: env.config });
    assert.equal(r.status, 0, r.stderr);
    return Number(lastLine(r.stdout));
  };
  const summary = () => savesets(env.config).map((s) => `${s.id} ${s.name} ${s.hash}`);

  before(() => {
    env = makeHome('behind', { max_volume_size: '4MiB' });
    file = path.join(env.dir, 'f');
    writeRandomFile(file, 300 * 1024);
  });
  after(() => fs.rmSync(env.dir, { recursive: true, force: true }));

  it('is refused when its open volume holds newer transactions; nothing is written; the rebuild fixes it', () => {
    store('a1');
    store('a2');
    const old = path.join(env.dir, 'catalog.old');
    copyCatalog(env.home, old);
    store('a3');
    store('a4');
    const want = summary();
    putBack(old, env.home);
    const before = fingerprint(env.home);
    for (const args of [
      ['sm', 'savesets'],
      ['sm', 'store', '--pool', 'Data', '--name', 'a5', file],
      ['sm', 'volumes'],
    ]) {
      const r = openbar(args, { config: env.config });
      assert.equal(r.status, 1, `${args.join(' ')}: ${r.stdout}`);
      assert.equal(r.stderr.split('\n').filter(Boolean).length, 1, r.stderr);
      assert.match(
        r.stderr,
        /^openbar: the storage-manager catalog \S+catalog\.db is behind its volumes .*volume Data\.0001 holds transaction 3 past its catalogued end.*run `openbar sm scan --rebuild`/,
      );
    }
    // before the fix the store succeeded as save set 3, cutting a3 and a4 off Data.0001
    assert.deepEqual(fingerprint(env.home), before, 'the catalog and the volumes are untouched');

    const b = openbar(['sm', 'scan', '--rebuild'], { config: env.config });
    assert.equal(b.status, 0, b.stderr);
    assert.deepEqual(summary(), want, 'the rebuild finds every committed save set again');
    assert.equal(store('a5'), 5, 'no id is handed out twice');
  });

  it('is refused when a volume it never labelled is there (a pool that was empty in the copy)', () => {
    const old = path.join(env.dir, 'catalog.old2');
    copyCatalog(env.home, old);
    const id = store('l1', 'Logs');
    putBack(old, env.home);
    const r = openbar(['sm', 'savesets'], { config: env.config });
    assert.equal(r.status, 1);
    assert.match(
      r.stderr,
      /is behind its volumes .*volume Logs\.0001 \(\S+Logs\.0001\.vol\) of pool Logs is not in the catalog/,
    );
    assert.equal(openbar(['sm', 'scan', '--rebuild'], { config: env.config }).status, 0);
    assert.ok(savesets(env.config).some((s) => s.id === id && s.name === 'l1'));
    assert.ok(store('l2', 'Logs') > id);
  });

  it('is not confused with the tail of a writer killed before its catalog commit, nor after a rebuild', () => {
    for (const fault of ['sm-data-record', 'sm-before-catalog-commit']) {
      const k = openbar(['sm', 'store', '--pool', 'Data', '--name', `killed-${fault}`, file], {
        config: env.config,
        env: { OPENBAR_FAULT: fault },
      });
      assert.equal(k.signal, 'SIGKILL');
      const r = openbar(['sm', 'savesets'], { config: env.config });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(openbar(['sm', 'scan', '--rebuild'], { config: env.config }).status, 0);
      const again = openbar(['sm', 'savesets'], { config: env.config });
      assert.equal(again.status, 0, again.stderr);
      store(`after-${fault}`);
    }
  });

  it('is not confused with writers at work: their ids and volumes are committed before their bytes', async () => {
    const big = path.join(env.dir, 'big');
    writeRandomFile(big, 24 * MiB); // six 4 MiB volumes labelled while the others look
    const child = openbarAsync(['sm', 'store', '--pool', 'Data', '--name', 'big', big], { config: env.config });
    const done = new Promise<number | null>((resolve) => child.on('exit', resolve));
    let exited = false;
    void done.then(() => {
      exited = true;
    });
    let looks = 0;
    while (!exited) {
      const r = openbar(['sm', 'volumes'], { config: env.config });
      assert.equal(r.status, 0, r.stderr);
      looks++;
      await new Promise((resolve) => setImmediate(resolve)); // let the child's exit be seen
    }
    assert.equal(await done, 0);
    assert.ok(looks >= 1);
  });
});
