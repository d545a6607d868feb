import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { loadSettings, parseConfigText } from './config.js';
import { isOpenbarError } from './errors.js';

describe('config', () => {
  it('reads key = value with comments and quotes, relative home from the file', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfg-'));
    const file = path.join(dir, 'o.conf');
    fs.writeFileSync(file, "# c\nhome = h\ncompression = 'lz4'  # fast\nxfer_buf_size = 256k\nprogress_freq = 2min\n");
    const s = loadSettings({ file });
    assert.equal(s.home, path.join(dir, 'h'));
    assert.equal(s.compression, 'lz4');
    assert.equal(s.xfer_buf_size, 256 * 1024);
    assert.equal(s.progress_freq, 120_000);
    assert.equal(s.max_backup, 2);
  });

  it('lets environment beat file and --set beat environment', () => {
    const s = loadSettings({ env: { OPENBAR_HOME: '/a', OPENBAR_MAX_BACKUP: '3' }, overrides: { max_backup: '5' } });
    assert.equal(s.home, '/a');
    assert.equal(s.max_backup, 5);
  });

  it('leaves the variables that are not settings alone (the code cache, the test suites)', () => {
    const env = { OPENBAR_CODE_CACHE: 'off', OPENBAR_TEST_PG12_BIN: '/x', OPENBAR_DEBUG: '1', OPENBAR_MAX_BACKUP: '3' };
    assert.equal(loadSettings({ env }).max_backup, 3);
  });

  it('names the bad key or value', () => {
    const bad = (f: () => unknown, re: RegExp) =>
      assert.throws(f, (e: unknown) => isOpenbarError(e, 'CONFIG') && re.test(e.message));
    bad(() => parseConfigText('homee = x', 'f.conf'), /^f\.conf line 1: unknown key 'homee'/);
    bad(() => parseConfigText('just words', 'f.conf'), /expected 'key = value'/);
    bad(
      () => loadSettings({ overrides: { compression: 'gzip' } }),
      /compression: 'gzip' is not one of none, lz4, zstd/,
    );
    bad(() => loadSettings({ overrides: { xfer_buf_size: '1k' } }), /xfer_buf_size: 1k is out of range/);
    bad(() => loadSettings({ env: { OPENBAR_NOPE: '1' } }), /environment OPENBAR_NOPE: unknown setting/);
  });
});
