import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import type { SpaceFile } from '../../engine.js';
import { SMALL, SmallFileCache, readSmallFile } from './small-file-cache.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openbar-smallfiles-'));
const file = (p: string, size: number): SpaceFile => ({ path: p, type: 'file', size, mode: 0o600, mtimeMs: 0 });

describe('small-file read-ahead', () => {
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('hands out what it read ahead, leaves large files and ranges alone, says when a file is gone or grew', async () => {
    fs.writeFileSync(path.join(dir, 'a'), 'alpha');
    fs.writeFileSync(path.join(dir, 'b'), Buffer.alloc(100, 1));
    fs.writeFileSync(path.join(dir, 'big'), Buffer.alloc(SMALL + 1));
    fs.writeFileSync(path.join(dir, 'grows'), 'x');
    const listed = [
      file('a', 5),
      file('b', 100),
      file('big', SMALL + 1),
      file('gone', 10),
      file('grows', 1),
      { ...file('b', 100), range: { offset: 0, length: 100 } },
    ];
    fs.writeFileSync(path.join(dir, 'grows'), Buffer.alloc(SMALL + 10)); // grew after the listing
    const cache = new SmallFileCache(dir, listed);
    const a = await cache.take('a');
    assert.ok(a && a !== 'grown');
    assert.equal(a.data.toString(), 'alpha');
    assert.equal(cache.take('a'), undefined, 'taken once');
    assert.equal(cache.take('big'), undefined, 'large files are not read ahead');
    assert.equal(await cache.take('gone'), undefined);
    assert.equal(await cache.take('grows'), 'grown');
    const b = await cache.take('b');
    assert.ok(b && b !== 'grown' && b.data.equals(Buffer.alloc(100, 1)));
    cache.stop();
  });

  it('zero-fills what a truncation took away while reading', async () => {
    fs.writeFileSync(path.join(dir, 'z'), Buffer.alloc(0));
    const r = await readSmallFile(path.join(dir, 'z'));
    assert.ok(r && r !== 'grown');
    assert.equal(r.data.length, 0);
  });
});
