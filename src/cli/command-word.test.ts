import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { commandShape, commandWord, readsWalForLevel } from './command-word.js';

const argv = (...a: string[]) => ['node', 'openbar', ...a];

describe('command word and shape', () => {
  it('finds the command past the global flags and their values', () => {
    assert.equal(commandWord(argv('--config', 'backup', 'log', 'archive', 'x')), 'log');
    assert.equal(commandWord(argv('-c', 'f', '--set', 'a=b', 'backup', '-L', '1')), 'backup');
    assert.equal(commandWord(argv('--help')), undefined);
  });

  it('names the flags given, not their values nor the global flags', () => {
    assert.equal(commandShape(argv('-c', 'f', '--set', 'x=1', 'backup')), 'backup');
    assert.equal(commandShape(argv('--config', 'f', 'backup', '-L', '1', '--json')), 'backup.L.json');
    assert.equal(commandShape(argv('backup', '--json', '-L', '2')), 'backup.L.json');
    assert.equal(
      commandShape(argv('restore', '--until-time=2026-01-01', '--data-dir', '/x')),
      'restore.datadir.untiltime',
    );
    assert.equal(commandShape(argv('--config=f', '--set=a=b', 'log', 'archive', '/pg_wal/0001')), 'log');
    assert.equal(commandShape(argv()), 'none');
  });

  it('knows a level 1 or 2 that reads the WAL from the command line alone', () => {
    for (const a of [
      ['backup', '-L', '1'],
      ['-c', 'f', 'backup', '-L2', '--json'],
      ['backup', '--level=1'],
      ['--set', 'incremental_method=wal', 'backup', '--level', '2'],
    ]) {
      assert.equal(readsWalForLevel(argv(...a)), true, a.join(' '));
    }
    for (const a of [
      ['backup'],
      ['backup', '-L', '0'],
      ['backup', '-L0'],
      ['--set', 'incremental_method=scan', 'backup', '-L', '1'],
      ['backup', '-L', '1', '--set=incremental_method=scan'],
      ['restore', '-L', '1'],
      ['-c', 'backup', 'log', 'archive', 'x'],
    ]) {
      assert.equal(readsWalForLevel(argv(...a)), false, a.join(' '));
    }
  });
});
