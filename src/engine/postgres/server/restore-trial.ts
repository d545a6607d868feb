// The deepest check of a backup: a directory it was restored into is started on a free
// port with its socket in a scratch directory, waits until recovery ends, runs
// pg_amcheck on every database (heap and every index), and is stopped again.

import fs from 'node:fs';
import path from 'node:path';
import { hasConfig, writeMinimalConfig } from './trial-config.js';

export interface TrialResult {
  readonly passed: boolean;
  readonly detail: string;
  readonly problems: readonly string[];
}

export async function restoreTrial(dataDir: string, workDir: string, user: string): Promise<TrialResult> {
  const { findPgBin, runPg, SandboxCluster } = await import('./sandbox.js'); // loads pg: only when asked
  const major = fs.readFileSync(path.join(dataDir, 'PG_VERSION'), 'utf8').trim();
  const bin = findPgBin(`/usr/lib/postgresql/${major}/bin`);
  if (!bin)
    return {
      passed: false,
      detail: `PostgreSQL ${major} is not installed here`,
      problems: [`no pg_ctl for PostgreSQL ${major}: install postgresql-${major} to run a restore test`],
    };
  const cluster = await SandboxCluster.adopt(dataDir, path.join(workDir, 'sock'), bin);
  const started = Date.now();
  try {
    const config = startWithWorkingConfig(cluster, dataDir);
    await cluster.waitForPromotion(600_000);
    const r = runPg(bin, 'pg_amcheck', [
      '--all',
      '--heapallindexed',
      '--install-missing',
      '-h',
      cluster.socketDir,
      '-p',
      String(cluster.port),
      '-U',
      user,
    ]);
    const out = `${r.stdout}${r.stderr}`.trim();
    const secs = ((Date.now() - started) / 1000).toFixed(1);
    if (r.status !== 0)
      return {
        passed: false,
        detail: `recovered, pg_amcheck found damage (${secs} s)`,
        problems: out.split('\n').slice(0, 50),
      };
    return {
      passed: true,
      detail: `restored, recovered and started${config}; pg_amcheck --heapallindexed clean (${secs} s)`,
      problems: [],
    };
  } catch (err) {
    return { passed: false, detail: 'the restored copy did not start', problems: [(err as Error).message] };
  } finally {
    cluster.stop('immediate');
  }
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
