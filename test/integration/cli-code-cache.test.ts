// The bundle's code cache (src/cli/launch.ts): made once per command, used afterwards,
// private to its user, and never the reason a command fails.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openbar, tempDir } from '../harness/cli.js';

describe('code cache of the bundled CLI', () => {
  let dir: string;
  let expected: string;
  const run = (cache: string) => openbar(['config', '--describe'], { env: { OPENBAR_CODE_CACHE: cache } });
  const cacheFiles = () => fs.readdirSync(dir).filter((n) => n.endsWith('.bin'));

  before(() => {
    dir = tempDir('code-cache');
    const r = run('off');
    assert.equal(r.status, 0, r.stderr);
    expected = r.stdout;
    assert.deepEqual(cacheFiles(), []);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('is written by the first run of a command, readable by its user only', () => {
    const r = run(dir);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, expected);
    const files = cacheFiles();
    assert.equal(files.length, 1);
    assert.match(files[0]!, /^v\d+\.\d+\.\d+-\w+-\d+-\d+-\d+-config\.describe\.bin$/);
    assert.equal(fs.statSync(path.join(dir, files[0]!)).mode & 0o777, 0o600);
  });

  it('is used, not written again, by the next runs', () => {
    const file = path.join(dir, cacheFiles()[0]!);
    const before = fs.readFileSync(file);
    fs.utimesSync(file, new Date(0), new Date(0));
    const r = run(dir);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, expected);
    // rewritten only when V8 rejects it: same bytes, same time
    assert.equal(fs.statSync(file).mtimeMs, 0);
    assert.deepEqual(fs.readFileSync(file), before);
  });

  it('a damaged cache is rejected and written anew; the command runs as ever', () => {
    const file = path.join(dir, cacheFiles()[0]!);
    const good = fs.readFileSync(file);
    fs.writeFileSync(file, Buffer.alloc(good.length, 0x5a));
    const r = run(dir);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, expected);
    assert.notDeepEqual(fs.readFileSync(file), Buffer.alloc(good.length, 0x5a));
  });

  it('a cache with one byte changed is not used: it carries its own checksum', () => {
    const file = path.join(dir, cacheFiles()[0]!);
    const b = fs.readFileSync(file);
    b[b.length >> 1] ^= 0x01;
    fs.writeFileSync(file, b);
    const r = run(dir);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, expected);
    assert.notDeepEqual(fs.readFileSync(file), b);
  });

  it('a directory others can write is not used', () => {
    for (const f of cacheFiles()) fs.rmSync(path.join(dir, f));
    fs.chmodSync(dir, 0o777);
    try {
      const r = run(dir);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, expected);
      assert.deepEqual(cacheFiles(), []);
    } finally {
      fs.chmodSync(dir, 0o700);
    }
  });

  it('off, as the README says, is no setting: commands that read the settings still run', () => {
    const r = openbar(['config', '--json'], { env: { OPENBAR_CODE_CACHE: 'off', OPENBAR_HOME: dir } });
    assert.equal(r.status, 0, r.stderr);
    assert.doesNotMatch(r.stdout, /code_cache/);
  });
});
