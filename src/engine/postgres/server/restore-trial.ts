// The deepest check of a backup: a directory it was restored into is started with the
// server programs of its own major (pg-programs.ts) on a free port with its socket in a
// scratch directory, waits until recovery ends, is checked, and is stopped again. The
// check is pg_amcheck --heapallindexed on every database where a pg_amcheck that can
// check this major is found; else (and always on 13, whose amcheck has no heap check)
// every B-tree index with bt_index_check through SQL, and the output says so.

import fs from 'node:fs';
import path from 'node:path';
import { connect } from './pg-connection.js';
import { findAmcheck, findServerBin } from './pg-programs.js';
import type { SandboxCluster } from './sandbox.js';
import { hasConfig, writeMinimalConfig } from './trial-config.js';

/** The server programs of one major. */
export interface TrialPrograms {
  readonly bin: string;
  readonly major: number;
}

export interface TrialResult {
  readonly passed: boolean;
  readonly detail: string;
  readonly problems: readonly string[];
}

/** The server programs for a restore test of a backup of `major`, or why there are none here (with its fix). */
export function trialPrograms(
  major: number,
  pgBin: string | undefined,
): TrialPrograms | { problem: string; hint: string } {
  const found = findServerBin(major, pgBin);
  return 'problem' in found ? found : { bin: found.bin, major };
}

/**
 * The restore test of `dataDir` with the server programs trialPrograms found for the
 * backup's major; `programs` undefined (a label that records no version): found here by
 * the directory's PG_VERSION, read strictly.
 */
export async function restoreTrial(
  dataDir: string,
  workDir: string,
  user: string,
  programs: TrialPrograms | undefined,
  pgBin: string | undefined,
): Promise<TrialResult> {
  const { SandboxCluster } = await import('./sandbox.js'); // loads pg: only when asked
  const server = programs ?? programsOf(dataDir, pgBin);
  if ('problem' in server) return { passed: false, detail: server.problem, problems: [server.hint] };
  const { major } = server;
  const cluster = await SandboxCluster.adopt(dataDir, path.join(workDir, 'sock'), server.bin);
  const started = Date.now();
  try {
    const config = startWithWorkingConfig(cluster, dataDir);
    await cluster.waitForPromotion(600_000);
    const checked = await check(cluster, major, user);
    const secs = ((Date.now() - started) / 1000).toFixed(1);
    if (checked.problems.length > 0)
      return {
        passed: false,
        detail: `recovered, ${checked.what} found damage (${secs} s)`,
        problems: checked.problems.slice(0, 50),
      };
    return {
      passed: true,
      detail: `restored, recovered and started${config}; ${checked.what} clean (${secs} s)`,
      problems: [],
    };
  } catch (err) {
    return { passed: false, detail: 'the restored copy did not start', problems: [(err as Error).message] };
  } finally {
    cluster.stop('immediate');
  }
}

/** The programs for the major `dataDir`'s PG_VERSION names (a number, or the problem). */
function programsOf(dataDir: string, pgBin: string | undefined): TrialPrograms | { problem: string; hint: string } {
  const text = fs.readFileSync(path.join(dataDir, 'PG_VERSION'), 'utf8').trim();
  if (!/^\d{1,3}$/.test(text))
    return {
      problem: `the restored PG_VERSION says ${JSON.stringify(text.slice(0, 20))}, not a major version`,
      hint: 'the backup is damaged: verify it, or test another backup',
    };
  return trialPrograms(Number(text), pgBin);
}

async function check(
  cluster: SandboxCluster,
  major: number,
  user: string,
): Promise<{ what: string; problems: string[] }> {
  const amcheck = findAmcheck(major, cluster.bin);
  if (amcheck) {
    const { runPg } = await import('./sandbox.js');
    const conn = ['-h', cluster.socketDir, '-p', String(cluster.port), '-U', user];
    const r = runPg(amcheck.bin, 'pg_amcheck', ['--all', '--heapallindexed', '--install-missing', ...conn]);
    const of = amcheck.major === major ? '' : ` (of PostgreSQL ${amcheck.major})`;
    const out = `${r.stdout}${r.stderr}`.trim();
    return {
      what: `pg_amcheck${of} --heapallindexed`,
      problems: r.status === 0 ? [] : out ? out.split('\n') : [`pg_amcheck exited ${r.status ?? r.signal}`],
    };
  }
  const why =
    major === 13
      ? 'PostgreSQL 13 has no heap check (amcheck without verify_heapam)'
      : `no pg_amcheck found (beside ${cluster.bin}, or of a client install of 15 or later): heap not checked`;
  const { indexes, problems } = await checkIndexes(cluster, user);
  return { what: `${why}; ${indexes} B-tree index(es) checked with bt_index_check(heapallindexed)`, problems };
}

/** bt_index_check(index, heapallindexed) on every valid B-tree index of every database that takes connections. */
async function checkIndexes(cluster: SandboxCluster, user: string): Promise<{ indexes: number; problems: string[] }> {
  const settings = { ...cluster.connectionSettings(), user };
  const problems: string[] = [];
  let indexes = 0;
  const dbs = await cluster.query<{ d: string }>(
    "SELECT datname AS d FROM pg_database WHERE datallowconn AND datname <> 'template0' ORDER BY 1",
  );
  for (const { d } of dbs) {
    const c = await connect({ ...settings, database: d }, 'openbar restore test');
    try {
      await c.query('CREATE EXTENSION IF NOT EXISTS amcheck');
      const list = await c.query<{ oid: number; name: string }>(
        `SELECT c.oid::int AS oid, c.oid::regclass::text AS name FROM pg_index i
         JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam
         WHERE a.amname = 'btree' AND i.indisvalid AND i.indisready AND c.relpersistence <> 't' ORDER BY 1`,
      );
      for (const x of list.rows) {
        indexes++;
        await c
          .query('SELECT bt_index_check($1::oid::regclass, true)', [x.oid])
          .catch((err: Error) => problems.push(`database ${d}, index ${x.name}: ${err.message}`));
      }
    } finally {
      await c.end().catch(() => {});
    }
  }
  return { indexes, problems };
}

/**
 * Starts the copy with the configuration restored with it, or a minimal one when it has
 * none or does not start with it (see trial-config.ts); says which, for the detail.
 */
function startWithWorkingConfig(cluster: { start(): void; stop(mode: 'immediate'): void }, dataDir: string): string {
  if (!hasConfig(dataDir)) {
    writeMinimalConfig(dataDir);
    cluster.start();
    return ' with a minimal configuration (the backup holds no postgresql.conf)';
  }
  try {
    cluster.start();
    return '';
  } catch (err) {
    cluster.stop('immediate');
    writeMinimalConfig(dataDir);
    cluster.start();
    return ` with a minimal configuration (the backed-up one did not start: ${(err as Error).message})`;
  }
}
