// `openbar demo`: a guided walk through openbar in a sandbox, running the same
// commands a user would type and showing their output.

import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { fail } from '../../common/errors.js';
import { action, subcommand, type Globals } from '../command.js';
import { openbarExecutable } from './init.js';
import { postgresWalkThrough } from './demo-postgres.js';
import { demoSteps } from './demo-steps.js';

export function register(program: Command, _globals: Globals): void {
  subcommand(program, 'demo', 'back up and restore a sandbox PostgreSQL, showing each command and its output')
    .option('--dir <dir>', 'sandbox directory (default: a new one under the system temp directory)')
    .option('--keep', 'keep the sandbox (and stop nothing) afterwards')
    .option('--scale <n>', 'pgbench scale of the sandbox database (10 is about 150 MB)', '10')
    .option('--storage-manager', 'walk through the storage manager alone (no PostgreSQL needed)')
    .action(
      action(async (opts: { dir?: string; keep?: boolean; scale: string; storageManager?: boolean }) => {
        if (!opts.storageManager && process.getuid?.() === 0) return asPostgres();
        const dir = opts.dir ? path.resolve(opts.dir) : fs.mkdtempSync(path.join(os.tmpdir(), 'openbar-demo-'));
        fs.mkdirSync(dir, { recursive: true });
        let cleanup: (() => void) | undefined;
        try {
          if (opts.storageManager) storageManagerWalkThrough(dir);
          else cleanup = await postgresWalkThrough(dir, Math.max(1, Number(opts.scale) || 10), opts.keep === true);
        } finally {
          if (!opts.keep) cleanup?.();
          if (!opts.keep && !opts.dir) fs.rmSync(dir, { recursive: true, force: true });
          else process.stdout.write(`\nsandbox kept in ${dir}\n`);
        }
      }),
    );
}

/** PostgreSQL refuses root: as root, the demo runs itself as the postgres user. */
function asPostgres(): number {
  const exe = openbarExecutable();
  const ids = spawnSync('id', ['-u', 'postgres']);
  if (ids.status !== 0)
    fail(
      'NOT_FOUND',
      'there is no postgres user to run the sandbox server as',
      'install PostgreSQL: apt-get install -y postgresql',
    );
  const probe = spawnSync('runuser', ['-u', 'postgres', '--', 'test', '-r', exe]);
  if (probe.status !== 0)
    fail(
      'USAGE',
      `the postgres user cannot read ${exe}`,
      'put openbar where postgres can read it (e.g. /opt/openbar), or run the demo as another user',
    );
  const args = process.argv.slice(2);
  const r = spawnSync('runuser', ['-u', 'postgres', '--', process.execPath, exe, ...args], {
    stdio: 'inherit',
    cwd: os.tmpdir(),
  });
  return r.status ?? 1;
}

function storageManagerWalkThrough(dir: string): void {
  const config = path.join(dir, 'openbar.conf');
  const home = path.join(dir, 'home');
  const sample = path.join(dir, 'sample.dat');
  const { say, run } = demoSteps(config);

  say('openbar demo: the storage manager (pools, labelled volumes, save sets, catalog, bootstrap)');
  say('1. create a home with a small volume size, so one save set spans volumes');
  run(['--set', 'max_volume_size=48MiB', 'init', '--home', home, '--server', 'demo', '--force']);

  say('2. store 64 MiB of data (half random, half text) as a save set in the Data pool');
  const text = Buffer.from(
    'openbar keeps every byte it is given, checksummed and compressed\n'.repeat(512 * 1024),
  ).subarray(0, 32 << 20);
  fs.writeFileSync(sample, Buffer.concat([randomBytes(32 << 20), text]));
  const id = run(['sm', 'store', '--pool', 'Data', '--name', 'sample', sample]).trim().split('\n').pop()!;
  run(['sm', 'savesets']);
  run(['sm', 'volumes']);

  say('3. extract it and compare with the original');
  const out = path.join(dir, 'sample.out');
  run(['sm', 'extract', id, '--out', out]);
  const same = hashOf(out) === hashOf(sample);
  process.stdout.write(`sha256 of original and extracted copy ${same ? 'are equal' : 'DIFFER'}\n`);
  if (!same) fail('INTERNAL', 'demo: extracted copy differs');

  say('4. save the catalog as a bootstrap save set; keep the record it prints somewhere safe');
  run(['sm', 'bootstrap']);

  say('5. lose the catalog, then rebuild it from the self-describing volumes alone');
  fs.rmSync(path.join(home, 'catalog.db'));
  run(['sm', 'savesets'], 1);
  run(['sm', 'scan', '--rebuild']);
  run(['sm', 'savesets']);

  say('6. damage one byte of a volume: extract refuses and names the save set, volume and offset');
  const vol = path.join(home, 'volumes', 'Data', 'Data.0001.vol');
  fs.chmodSync(vol, 0o600);
  const fd = fs.openSync(vol, 'r+');
  const b = Buffer.alloc(1);
  fs.readSync(fd, b, 0, 1, 1 << 20);
  b[0] = b[0]! ^ 0xff;
  fs.writeSync(fd, b, 0, 1, 1 << 20);
  fs.closeSync(fd);
  run(['sm', 'extract', id, '--out', path.join(dir, 'damaged.out')], 1);
  run(['sm', 'scan'], 3);
  say(`done. The activity log of this walk-through is ${path.join(home, 'activity.log')}`);
}

function hashOf(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}
