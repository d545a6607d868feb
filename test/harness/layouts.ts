// Clusters in the layouts PostgreSQL is installed in, archiving into an openbar home:
// Debian's (pg_createcluster: configuration in /etc/postgresql/N/NAME, data in
// /var/lib/postgresql/N/NAME, started with pg_ctlcluster) and a data directory whose
// pg_wal is a link elsewhere (initdb --waldir). Each is removed by its own remove().

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  freePort,
  giveToPostgres,
  runPg,
  SandboxCluster,
  sandboxSettings,
  type PgSpawnOptions,
} from '../../src/engine/postgres/server/sandbox.js';
import { archiveCommand, tempDir } from './cli.js';
import { DEBIAN_PG15_BIN } from './pg-majors.js';
import { initOpenbar, ok } from './pg.js';

export interface LayoutEnv {
  readonly dir: string;
  readonly config: string;
  readonly cluster: SandboxCluster;
  readonly bin: string;
  start(): void;
  stop(): void;
  remove(): void;
}

/** Debian's postgresql-common programs (pg_createcluster, pg_ctlcluster, pg_dropcluster) */
const debianTools = '/usr/bin';
const inTmp: PgSpawnOptions = { cwd: '/tmp' };

/** The sandbox's settings, archiving through the openbar of `config`. */
function archiveSettings(config: string, socketDir: string, port: number): Record<string, string> {
  return { ...sandboxSettings(socketDir, port), archive_mode: 'on', archive_command: `'${archiveCommand(config)}'` };
}

const init = (dir: string, config: string, cluster: SandboxCluster) =>
  initOpenbar(config, path.join(dir, 'home'), cluster, { settings: { xfer_buf_size: '256k' } });

/** Why a Debian-layout cluster cannot be made here, or undefined. */
export function debianLayoutMissing(): string | undefined {
  if (spawnSync('sh', ['-c', 'command -v pg_createcluster']).status !== 0)
    return 'pg_createcluster is not installed (Debian/Ubuntu postgresql-common)';
  if (!fs.existsSync(path.join(DEBIAN_PG15_BIN, 'pg_ctl'))) return 'PostgreSQL 15 (Debian) is not installed';
  return undefined;
}

/** A started Debian-layout cluster made by pg_createcluster on a random port, its socket in a scratch directory. */
export async function makeDebianCluster(prefix: string): Promise<LayoutEnv & { name: string; confDir: string }> {
  const dir = tempDir(prefix);
  const socketDir = path.join(dir, 'sock');
  fs.mkdirSync(socketDir);
  giveToPostgres(dir);
  const config = path.join(dir, 'openbar.conf');
  const port = await freePort();
  const name = `openbar_${process.pid}_${port}`;
  ok(runPg(debianTools, 'pg_createcluster', ['15', name, '-p', String(port)], inTmp), 'pg_createcluster');
  const confDir = `/etc/postgresql/15/${name}`;
  const dataDir = `/var/lib/postgresql/15/${name}`;
  // in conf.d, as a DBA adds settings on Debian: the backup must follow the include_dir
  const lines = Object.entries(archiveSettings(config, socketDir, port)).map(([k, v]) => `${k} = ${v}`);
  fs.writeFileSync(path.join(confDir, 'conf.d', 'openbar.conf'), `${lines.join('\n')}\n`);
  giveToPostgres(path.join(confDir, 'conf.d'));
  const cluster = await SandboxCluster.adopt(dataDir, socketDir, DEBIAN_PG15_BIN);
  cluster.port = port;
  init(dir, config, cluster);
  const env = {
    dir,
    config,
    cluster,
    bin: cluster.bin,
    name,
    confDir,
    start: () => {
      ok(runPg(debianTools, 'pg_ctlcluster', ['15', name, 'start'], inTmp), 'pg_ctlcluster start');
    },
    stop: () => {
      ok(runPg(debianTools, 'pg_ctlcluster', ['15', name, 'stop', '-m', 'fast'], inTmp), 'pg_ctlcluster stop');
    },
    remove: () => {
      runPg(debianTools, 'pg_dropcluster', ['15', name, '--stop'], inTmp);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  env.start();
  return env;
}

/** A started cluster made by initdb --waldir: its pg_wal a link to a directory beside it. */
export async function makeWaldirCluster(prefix: string): Promise<LayoutEnv & { walDir: string }> {
  const dir = tempDir(prefix);
  const walDir = path.join(dir, 'pg', 'wal');
  const config = path.join(dir, 'openbar.conf');
  const cluster = await SandboxCluster.create({
    dir: path.join(dir, 'pg'),
    initdbArgs: ['--waldir', walDir],
    settings: { archive_mode: 'on', archive_command: `'${archiveCommand(config)}'` },
  });
  const bin = cluster.bin;
  init(dir, config, cluster);
  cluster.start();
  return {
    dir,
    config,
    cluster,
    bin,
    walDir,
    start: () => cluster.start(),
    stop: () => cluster.stop(),
    remove: () => {
      cluster.stop('immediate');
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Runs a printed `pg_ctl start -D DIR` (with the major's pg_ctl, -w, and -l LOG so the test holds no server output). */
export function runStartCommand(bin: string, printed: string, log: string): void {
  const m = /^pg_ctl start -D (\S+)$/.exec(printed);
  if (!m) throw new Error(`not a start command: ${printed}`);
  ok(runPg(bin, 'pg_ctl', ['start', '-D', m[1]!, '-w', '-t', '300', '-l', log], inTmp), `${printed} (-w -l ${log})`);
}

/** The `next: ...` line a restore printed. */
export function printedStart(stdout: string): string {
  const line = stdout.split('\n').find((l) => l.startsWith('next: '));
  if (!line) throw new Error(`restore printed no start command:\n${stdout}`);
  return line.slice('next: '.length);
}
