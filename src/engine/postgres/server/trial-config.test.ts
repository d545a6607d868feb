import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { writeRecoveryConfig } from '../restore/recovery-config.js';
import { writeMinimalConfig } from './trial-config.js';

describe("the restore test's minimal configuration", () => {
  it("moves postgresql.auto.conf aside too, keeping only the restore's recovery settings", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openbar-trial-config-'));
    try {
      const auto = path.join(dir, 'postgresql.auto.conf');
      fs.writeFileSync(auto, "# ALTER SYSTEM\nshared_preload_libraries = 'missing_lib'\n");
      fs.writeFileSync(path.join(dir, 'postgresql.conf'), 'port = 1\n');
      writeRecoveryConfig(dir, {
        target: { kind: 'lsn', value: '0/3000000' },
        timeline: 1,
        restoreCommand: 'openbar log fetch %f %p',
        archiveMode: 'off',
      });
      writeMinimalConfig(dir);
      const text = fs.readFileSync(auto, 'utf8');
      assert.doesNotMatch(text, /shared_preload_libraries/);
      assert.match(text, /^restore_command = 'openbar log fetch %f %p'$/m);
      assert.match(text, /^recovery_target_lsn = '0\/3000000'$/m);
      assert.match(fs.readFileSync(`${auto}.backed-up`, 'utf8'), /shared_preload_libraries = 'missing_lib'/);
      assert.equal(fs.readFileSync(path.join(dir, 'postgresql.conf.backed-up'), 'utf8'), 'port = 1\n');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
