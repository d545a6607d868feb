// What every DBA types first: the version, from the bundle and from the unbundled code.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openbar } from '../harness/cli.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const version = (JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }).version;

describe('openbar --version', () => {
  it('prints the version of package.json and exits 0', () => {
    for (const flag of ['--version', '-V']) {
      const r = openbar([flag]);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout.trim(), version);
    }
  });

  it('says the same from the unbundled code', () => {
    const r = spawnSync(process.execPath, [path.join(root, 'dist/src/cli/main.js'), '--version'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), version);
  });
});
