// Real PostgreSQL clusters for the tests, each archiving into an openbar home, and the
// checks a DBA would make after a restore: row checksums per table and pg_amcheck.

import fs from 'node:fs';
import path from 'node:path';
import { runPg, SandboxCluster } from '../../src/engine/postgres/server/sandbox.js';
import { archiveCommand, openbar, tempDir, type RunResult } from './cli.js';

export interface PgEnv {
  readonly dir: string;
  readonly home: string;
  readonly config: string;
  readonly cluster: SandboxCluster;
}

/** A started cluster (data checksums on) archiving through openbar into its own or a shared home. */
export async function makePgEnv(
  prefix: string,
  opts: {
    server?: string;
    home?: string;
    settings?: Record<string, string>;
    conf?: Record<string, string>;
    /** the server's and the client programs' directories (test/harness/pg-majors.ts); Debian's newest when unset */
    bins?: { bin: string; clientBin: string };
  } = {},
): Promise<PgEnv> {
  const dir = tempDir(prefix);
  const home = opts.home ?? path.join(dir, 'home');
  const config = path.join(dir, 'openbar.conf');
  const cluster = await SandboxCluster.create({
    dir: path.join(dir, 'pg'),
    ...(opts.bins ?? {}),
    settings: {
      archive_mode: 'on',
      archive_command: `'${archiveCommand(config)}'`,
      archive_timeout: '0',
      ...(opts.conf ?? {}),
    },
  });
  initOpenbar(config, home, cluster, {
    server: opts.server ?? 'main',
    settings: { xfer_buf_size: '256k', ...(opts.settings ?? {}) },
  });
  cluster.start();
  return { dir, home, config, cluster };
}

/** `openbar init` of `home` for `cluster` (as postgres), with `--set` for each of `o.settings`; throws when it fails. */
export function initOpenbar(
  config: string,
  home: string,
  cluster: SandboxCluster,
  o: { server?: string; settings?: Record<string, string> } = {},
): void {
  const set = Object.entries(o.settings ?? {}).flatMap(([k, v]) => ['--set', `${k}=${v}`]);
  const r = openbar(
    [...set, 'init', '--home', home, '--server', o.server ?? 'main', ...cluster.pgFlags(), '--pg-user', 'postgres'],
    { config },
  );
  if (r.status !== 0) throw new Error(`init failed: ${r.stderr}`);
}

/** server_version_num of a running cluster (150004 for 15.4). */
export async function serverVersionNum(c: SandboxCluster): Promise<number> {
  const [v] = await c.query<{ n: string }>("SELECT current_setting('server_version_num') AS n");
  return Number(v!.n);
}

/** `r`, or throws naming `what` when it did not exit 0 (an openbar RunResult or any spawnSync result). */
export function ok<R extends Pick<RunResult, 'status' | 'signal' | 'stderr' | 'stdout'>>(r: R, what: string): R {
  if (r.status !== 0) throw new Error(`${what} exited ${r.status ?? r.signal}: ${r.stderr || r.stdout}`);
  return r;
}

/** Per table of `db`: row count and an order-independent hash of every row. */
export async function tableChecksums(
  c: SandboxCluster,
  db = 'postgres',
  tables?: readonly string[],
): Promise<Record<string, string>> {
  const names =
    tables ??
    (
      await c.query<{ t: string }>(
        "SELECT format('%I.%I', schemaname, tablename) AS t FROM pg_tables WHERE schemaname NOT IN ('pg_catalog','information_schema') ORDER BY 1",
        [],
        db,
      )
    ).map((r) => r.t);
  const out: Record<string, string> = {};
  for (const t of names) {
    const [r] = await c.query<{ n: string; h: string | null }>(
      `SELECT count(*)::text AS n, md5(string_agg(md5(x::text), '' ORDER BY md5(x::text))) AS h FROM ${t} x`,
      [],
      db,
    );
    out[t] = `${r!.n}:${r!.h ?? '-'}`;
  }
  return out;
}

/** Restores with openbar into a new directory, starts it with the programs of `env.cluster` (its major), waits for promotion. */
export async function restoreAndStart(
  env: { dir: string; config: string; cluster?: SandboxCluster },
  flags: readonly string[],
  name: string,
): Promise<{ cluster: SandboxCluster; result: RunResult }> {
  const dataDir = path.join(env.dir, `restore-${name}`);
  const result = ok(
    openbar(['restore', '--data-dir', dataDir, '--archive-mode', 'off', ...flags], { config: env.config }),
    `restore ${name}`,
  );
  const cluster = await SandboxCluster.adopt(
    dataDir,
    path.join(env.dir, `sock-${name}`),
    env.cluster?.bin,
    env.cluster?.clientBin,
  );
  cluster.start();
  await cluster.waitForPromotion();
  return { cluster, result };
}

export function amcheck(c: SandboxCluster): { ok: boolean; output: string } {
  const r = runPg(c.clientBin, 'pg_amcheck', ['--all', '--heapallindexed', '--install-missing', ...c.connArgs()]);
  return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
}

/**
 * pg_amcheck where the client's pg_amcheck can check the server (14 and later: 13's amcheck
 * has no verify_heapam), else bt_index_check with heapallindexed on every B-tree index of
 * every database through SQL.
 */
export async function amcheckAnyMajor(c: SandboxCluster): Promise<{ ok: boolean; output: string }> {
  if ((await serverVersionNum(c)) >= 140000) return amcheck(c);
  const problems: string[] = [];
  const dbs = await c.query<{ d: string }>('SELECT datname AS d FROM pg_database WHERE datallowconn ORDER BY 1');
  for (const { d } of dbs) {
    await c.query('CREATE EXTENSION IF NOT EXISTS amcheck', [], d);
    const idx = await c.query<{ i: string }>(
      "SELECT i.indexrelid::regclass::text AS i FROM pg_index i JOIN pg_class r ON r.oid = i.indexrelid JOIN pg_am a ON a.oid = r.relam WHERE a.amname = 'btree' AND r.relpersistence <> 't' AND i.indisvalid",
      [],
      d,
    );
    for (const { i } of idx) {
      try {
        await c.query('SELECT bt_index_check($1::regclass, true)', [i], d);
      } catch (e) {
        problems.push(`${d} ${i}: ${(e as Error).message}`);
      }
    }
  }
  return {
    ok: problems.length === 0,
    output: problems.join('\n') || `bt_index_check clean in ${dbs.length} databases`,
  };
}

export function removeEnv(env: { dir: string }, clusters: (SandboxCluster | undefined)[]): void {
  for (const c of clusters) c?.stop('immediate');
  fs.rmSync(env.dir, { recursive: true, force: true });
}
