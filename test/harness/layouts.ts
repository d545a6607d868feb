// Clusters in the layouts PostgreSQL is installed in, archiving into an openbar home:
// Debian's (pg_createcluster: configuration in /etc/postgresql/N/NAME, data in
// /var/lib/postgresql/N/NAME, started with pg_ctlcluster) and a data directory whose
// pg_wal is a link elsewhere (initdb --waldir). Each is removed by its own remove().

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  findPgBin,
  freePort,
  giveToPostgres,
  runPg,
  SandboxCluster,
} from '../../src/engine/postgres/server/sandbox.js';
import { openbar, openbarBin, tempDir } from './cli.js';

export interface LayoutEnv {
  readonly dir: string;
  readonly config: string;
  readonly cluster: SandboxCluster;
  readonly bin: string;
  start(): void;
  stop(): void;
  remove(): void;
}

const asPostgres = (cmd: string, args: readonly string[]) =>
  process.getuid?.() === 0
    ? spawnSync('runuser', ['-u', 'postgres', '--', cmd, ...args], { encoding: 'utf8', cwd: '/tmp' })
    : spawnSync(cmd, [...args], { encoding: 'utf8', cwd: '/tmp' });

function must(r: ReturnType<typeof spawnSync>, what: string): void {
  if (r.status !== 0) throw new Error(`${what} exited ${r.status}: ${String(r.stderr)}${String(r.stdout)}`);
}

function archiveSettings(config: string, socketDir: string, port: number): Record<string, string> {
  return {
    port: String(port),
    listen_addresses: "''",
    unix_socket_directories: `'${socketDir}'`,
    archive_mode: 'on',
    archive_command: `'${process.execPath} ${openbarBin} --config ${config} log archive %p'`,
    fsync: 'off',
    synchronous_commit: 'off',
    shared_buffers: '64MB',
    max_connections: '40',
  };
}

function initOpenbar(dir: string, config: string, dataDir: string, socketDir: string, port: number): void {
  const r = openbar(
    [
      ...['--set', 'xfer_buf_size=256k', 'init', '--home', path.join(dir, 'home'), '--server', 'main'],
      ...['--pg-data', dataDir, '--pg-host', socketDir, '--pg-port', String(port), '--pg-user', 'postgres'],
    ],
    { config },
  );
  if (r.status !== 0) throw new Error(`init failed: ${r.stderr}`);
}

/** Why a Debian-layout cluster cannot be made here, or undefined. */
export function debianLayoutMissing(): string | undefined {
  if (spawnSync('sh', ['-c', 'command -v pg_createcluster']).status !== 0)
    return 'pg_createcluster is not installed (Debian/Ubuntu postgresql-common)';
  if (!fs.existsSync('/usr/lib/postgresql/15/bin/pg_ctl')) return 'PostgreSQL 15 (Debian) is not installed';
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
  must(asPostgres('pg_createcluster', ['15', name, '-p', String(port)]), 'pg_createcluster');
  const confDir = `/etc/postgresql/15/${name}`;
  const dataDir = `/var/lib/postgresql/15/${name}`;
  // in conf.d, as a DBA adds settings on Debian: the backup must follow the include_dir
  const lines = Object.entries(archiveSettings(config, socketDir, port)).map(([k, v]) => `${k} = ${v}`);
  fs.writeFileSync(path.join(confDir, 'conf.d', 'openbar.conf'), `${lines.join('\n')}\n`);
  giveToPostgres(path.join(confDir, 'conf.d'));
  initOpenbar(dir, config, dataDir, socketDir, port);
  const cluster = await SandboxCluster.adopt(dataDir, socketDir, '/usr/lib/postgresql/15/bin');
  cluster.port = port;
  const env = {
    dir,
    config,
    cluster,
    bin: cluster.bin,
    name,
    confDir,
    start: () => must(asPostgres('pg_ctlcluster', ['15', name, 'start']), 'pg_ctlcluster start'),
    stop: () => must(asPostgres('pg_ctlcluster', ['15', name, 'stop', '-m', 'fast']), 'pg_ctlcluster stop'),
    remove: () => {
      asPostgres('pg_dropcluster', ['15', name, '--stop']);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  env.start();
  return env;
}

/** A started cluster made by initdb --waldir: its pg_wal a link to a directory beside it. */
export async function makeWaldirCluster(prefix: string): Promise<LayoutEnv & { walDir: string }> {
  const dir = tempDir(prefix);
  const bin = findPgBin() ?? '/usr/lib/postgresql/15/bin';
  const dataDir = path.join(dir, 'pg', 'data');
  const walDir = path.join(dir, 'pg', 'wal');
  const socketDir = path.join(dir, 'pg', 'sock');
  fs.mkdirSync(socketDir, { recursive: true });
  giveToPostgres(dir);
  const r = runPg(bin, 'initdb', [
    ...['-D', dataDir, '--waldir', walDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C'],
    '--data-checksums',
  ]);
  if (r.status !== 0) throw new Error(`initdb --waldir failed: ${r.stderr}`);
  const config = path.join(dir, 'openbar.conf');
  const port = await freePort();
  const cluster = await SandboxCluster.adopt(dataDir, socketDir, bin);
  cluster.port = port;
  cluster.configure(archiveSettings(config, socketDir, port));
  initOpenbar(dir, config, dataDir, socketDir, port);
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
  must(
    asPostgres(path.join(bin, 'pg_ctl'), ['start', '-D', m[1]!, '-w', '-t', '300', '-l', log]),
    `${printed} (-w -l ${log})`,
  );
}

/** The `next: ...` line a restore printed. */
export function printedStart(stdout: string): string {
  const line = stdout.split('\n').find((l) => l.startsWith('next: '));
  if (!line) throw new Error(`restore printed no start command:\n${stdout}`);
  return line.slice('next: '.length);
}
