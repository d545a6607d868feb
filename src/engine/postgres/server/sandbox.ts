// Throwaway PostgreSQL clusters for the demo, the tests and the benchmarks: initdb in
// a directory, a random port, a unix socket in the directory, started and stopped with
// pg_ctl. PostgreSQL refuses to run as root: as root, its programs run as `postgres`.

import { spawn, spawnSync, type ChildProcess, type SpawnSyncReturns, type StdioOptions } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type pg from 'pg';
import { fail } from '../../../common/errors.js';
import { connect } from './pg-connection.js';
import { majorFacts, majorOfVersionText } from '../format/server-version.js';

export function findPgBin(preferred?: string): string | undefined {
  if (preferred && fs.existsSync(path.join(preferred, 'pg_ctl'))) return preferred;
  let versions: string[] = [];
  try {
    versions = fs
      .readdirSync('/usr/lib/postgresql')
      .filter((v) => /^\d+$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
  } catch {
    /* not Debian's layout */
  }
  for (const v of versions) {
    const bin = `/usr/lib/postgresql/${v}/bin`;
    if (fs.existsSync(path.join(bin, 'pg_ctl'))) return bin;
  }
  const which = spawnSync('sh', ['-c', 'command -v pg_ctl'], { encoding: 'utf8' });
  return which.status === 0 ? path.dirname(fs.realpathSync(which.stdout.trim())) : undefined;
}

export function requirePgBin(preferred?: string): string {
  return (
    findPgBin(preferred) ??
    fail('NOT_FOUND', 'PostgreSQL is not installed (no pg_ctl found)', 'install it: apt-get install -y postgresql')
  );
}

const asRoot = () => process.getuid?.() === 0;

/** Whether this bin's initdb turns data checksums on by itself (18 and later), from `initdb --version`. */
function checksumsByDefault(bin: string): boolean {
  const major = majorOfVersionText(runPg(bin, 'initdb', ['--version']).stdout ?? '');
  return major !== undefined && (majorFacts(major)?.checksumsByDefault ?? major >= 18);
}

/** `exe args`, through `runuser -u postgres` when we are root. */
function asPostgres(exe: string, args: readonly string[]): [string, string[]] {
  return asRoot() ? ['runuser', ['-u', 'postgres', '--', exe, ...args]] : [exe, [...args]];
}

export interface PgSpawnOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  readonly stdio?: StdioOptions;
}

/** Runs a PostgreSQL program, as the postgres user when we are root. */
export function runPg(
  bin: string,
  program: string,
  args: readonly string[],
  opts: PgSpawnOptions & { input?: string } = {},
): SpawnSyncReturns<string> {
  const [cmd, argv] = asPostgres(path.join(bin, program), args);
  return spawnSync(cmd, argv, {
    encoding: 'utf8',
    env: { ...process.env, ...(opts.env ?? {}) },
    ...(opts.input !== undefined ? { input: opts.input } : {}),
    ...(opts.cwd !== undefined ? { cwd: opts.cwd } : {}),
    ...(opts.stdio !== undefined ? { stdio: opts.stdio } : {}),
    maxBuffer: 64 * 1024 * 1024,
  });
}

/** `runPg` in the background: the child process, as the postgres user when we are root. */
export function spawnPg(
  bin: string,
  program: string,
  args: readonly string[],
  opts: PgSpawnOptions = {},
): ChildProcess {
  const [cmd, argv] = asPostgres(path.join(bin, program), args);
  return spawn(cmd, argv, {
    env: { ...process.env, ...(opts.env ?? {}) },
    ...(opts.cwd !== undefined ? { cwd: opts.cwd } : {}),
    ...(opts.stdio !== undefined ? { stdio: opts.stdio } : {}),
  });
}

/** Makes `dir` owned by postgres when we are root, so a cluster or an archive can live there. */
export function giveToPostgres(dir: string): void {
  if (!asRoot()) return;
  spawnSync('chown', ['-R', 'postgres:postgres', dir]);
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export interface SandboxOptions {
  readonly dir: string;
  readonly checksums?: boolean;
  /** more initdb arguments (--waldir DIR) */
  readonly initdbArgs?: readonly string[];
  /** lines appended to postgresql.conf, over `sandboxSettings` */
  readonly settings?: Readonly<Record<string, string>>;
  /** the server's programs: initdb, pg_ctl, postgres (of the major the cluster is made with) */
  readonly bin?: string;
  /** the client programs (pgbench, psql, pg_amcheck); `bin` when it has them, else the newest Debian install */
  readonly clientBin?: string;
}

/** `bin` when it holds the client programs too (Debian, PGDG), else the first install that does (a server-only package). */
export function clientBinFor(bin: string, preferred?: string): string {
  if (preferred) return preferred;
  if (fs.existsSync(path.join(bin, 'pgbench'))) return bin;
  return findPgBin() ?? bin;
}

/** The postgresql.conf settings of a sandbox: its port, only its unix socket, WAL for backups, no fsync. */
export function sandboxSettings(socketDir: string, port: number): Record<string, string> {
  return {
    port: String(port),
    listen_addresses: "''",
    unix_socket_directories: `'${socketDir}'`,
    wal_level: 'replica',
    max_wal_senders: '4',
    fsync: 'off',
    synchronous_commit: 'off',
    shared_buffers: '64MB',
    max_connections: '40',
    logging_collector: 'off',
  };
}

export class SandboxCluster {
  private constructor(
    readonly bin: string,
    readonly dataDir: string,
    readonly socketDir: string,
    public port: number,
    readonly clientBin: string = clientBinFor(bin),
  ) {}

  /** initdb a new cluster in `dir/data`, its socket in `dir/sock`; not started. */
  static async create(o: SandboxOptions): Promise<SandboxCluster> {
    const bin = requirePgBin(o.bin);
    const dataDir = path.join(o.dir, 'data');
    const socketDir = path.join(o.dir, 'sock');
    fs.mkdirSync(socketDir, { recursive: true });
    giveToPostgres(o.dir);
    const r = runPg(bin, 'initdb', [
      '-D',
      dataDir,
      '-U',
      'postgres',
      '--auth=trust',
      '-E',
      'UTF8',
      '--locale=C',
      ...(o.checksums !== false ? ['--data-checksums'] : checksumsByDefault(bin) ? ['--no-data-checksums'] : []),
      ...(o.initdbArgs ?? []),
    ]);
    if (r.status !== 0) fail('PG', `initdb failed: ${r.stderr.trim().split('\n').pop()}`);
    const port = await freePort();
    const c = new SandboxCluster(bin, dataDir, socketDir, port, clientBinFor(bin, o.clientBin));
    c.configure({ ...sandboxSettings(socketDir, port), ...(o.settings ?? {}) });
    return c;
  }

  /** A cluster already restored (or copied) into `dataDir`, to be started on its own port. */
  static async adopt(dataDir: string, socketDir: string, bin?: string, clientBin?: string): Promise<SandboxCluster> {
    fs.mkdirSync(socketDir, { recursive: true });
    giveToPostgres(socketDir);
    const server = requirePgBin(bin);
    return new SandboxCluster(server, dataDir, socketDir, await freePort(), clientBinFor(server, clientBin));
  }

  configure(settings: Readonly<Record<string, string>>): void {
    const lines = Object.entries(settings).map(([k, v]) => `${k} = ${v}`);
    fs.appendFileSync(path.join(this.dataDir, 'postgresql.conf'), `\n${lines.join('\n')}\n`);
  }

  get logFile(): string {
    return path.join(path.dirname(this.socketDir), `server-${path.basename(this.dataDir)}.log`);
  }

  start(opts: { wait?: boolean } = {}): void {
    const r = runPg(this.bin, 'pg_ctl', [
      '-D',
      this.dataDir,
      '-l',
      this.logFile,
      '-o',
      `-p ${this.port} -k ${this.socketDir} -c listen_addresses=''`,
      ...(opts.wait === false ? ['-W'] : ['-w', '-t', '300']),
      'start',
    ]);
    if (r.status !== 0) fail('PG', `pg_ctl start failed on ${this.dataDir}: ${this.tail()}`);
  }

  stop(mode: 'fast' | 'immediate' = 'fast'): void {
    runPg(this.bin, 'pg_ctl', ['-D', this.dataDir, '-m', mode, '-w', '-t', '120', 'stop']);
  }

  tail(lines = 5): string {
    try {
      return fs.readFileSync(this.logFile, 'utf8').trim().split('\n').slice(-lines).join(' | ');
    } catch {
      return '(no server log)';
    }
  }

  /** `-h SOCKETDIR -p PORT -U postgres`, for psql, pgbench, pg_amcheck, pg_basebackup */
  connArgs(): string[] {
    return ['-h', this.socketDir, '-p', String(this.port), '-U', 'postgres'];
  }

  /** `--pg-data DIR --pg-host SOCKETDIR --pg-port PORT`, for openbar init */
  pgFlags(): string[] {
    return ['--pg-data', this.dataDir, '--pg-host', this.socketDir, '--pg-port', String(this.port)];
  }

  connectionSettings() {
    return { host: this.socketDir, port: this.port, user: 'postgres', database: 'postgres' };
  }

  /** pg is loaded on first use, as for every command: the demo's import of this module costs no start-up */
  client(database = 'postgres'): Promise<pg.Client> {
    return connect({ ...this.connectionSettings(), database }, 'openbar sandbox');
  }

  async query<T extends Record<string, unknown> = Record<string, unknown>>(
    sql: string,
    args: unknown[] = [],
    database = 'postgres',
  ): Promise<T[]> {
    const c = await this.client(database);
    try {
      return (await c.query<T>(sql, args)).rows;
    } finally {
      await c.end();
    }
  }

  /** Waits until recovery has ended and the server accepts writes. */
  async waitForPromotion(timeoutMs = 300_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const [r] = await this.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r');
        if (!r!.r) return;
      } catch {
        /* starting */
      }
      if (Date.now() > deadline)
        fail('PG', `server on ${this.dataDir} still in recovery after ${timeoutMs / 1000} s: ${this.tail()}`);
      await new Promise((res) => setTimeout(res, 200));
    }
  }

  /** pgbench -i at `scale`, in database `db`. */
  pgbenchInit(scale: number, db = 'postgres'): void {
    const r = runPg(this.clientBin, 'pgbench', ['-i', '-s', String(scale), '-q', ...this.connArgs(), db]);
    if (r.status !== 0) fail('PG', `pgbench -i failed: ${r.stderr.trim().split('\n').pop()}`);
  }

  /** pgbench (the client bin's) in the background for `seconds`; resolves when it ends, rejects when it fails. */
  pgbench(seconds: number, clients = 2, db = 'postgres'): Promise<void> {
    return new Promise((resolve, reject) => {
      const args = ['-n', '-T', String(seconds), '-c', String(clients), ...this.connArgs(), db];
      const child = spawnPg(this.clientBin, 'pgbench', args, { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      child.stderr!.on('data', (d) => {
        err += d;
      });
      child.on('exit', (code) =>
        code === 0 ? resolve() : reject(new Error(`pgbench exited ${code}: ${err.trim().split('\n').pop()}`)),
      );
    });
  }
}
