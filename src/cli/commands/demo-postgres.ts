// The main demo: a sandbox PostgreSQL, a level-0 backup under load, WAL backup, a
// mistake, a point-in-time restore to just before it, and the checks that prove it.

import path from 'node:path';
import { fail } from '../../common/errors.js';
import { runPg, SandboxCluster, findPgBin } from '../../engine/postgres/server/sandbox.js';
import { binMajor, findAmcheck } from '../../engine/postgres/server/pg-programs.js';
import { openbarCommandLine } from './init.js';
import { demoSteps } from './demo-steps.js';

export async function postgresWalkThrough(dir: string, scale: number, keep: boolean): Promise<() => void> {
  const bin = findPgBin();
  if (!bin)
    fail(
      'NOT_FOUND',
      'PostgreSQL is not installed',
      'install it (apt-get install -y postgresql), or run `openbar demo --storage-manager`',
    );
  const config = path.join(dir, 'openbar.conf');
  const home = path.join(dir, 'openbar-home');
  const { say, run } = demoSteps(config);
  const clusters: SandboxCluster[] = [];
  const cleanup = () => {
    for (const c of clusters) c.stop('immediate');
  };
  try {
    say(`openbar demo: a sandbox PostgreSQL in ${dir}`);
    const cluster = await SandboxCluster.create({
      dir: path.join(dir, 'pg'),
      settings: {
        archive_mode: 'on',
        archive_command: `'${openbarCommandLine()} --config ${config} log archive %p'`,
      },
    });
    clusters.push(cluster);
    run(['init', '--home', home, '--server', 'demo', ...cluster.pgFlags()]);
    cluster.start();
    process.stdout.write(
      `PostgreSQL started on ${cluster.dataDir} (port ${cluster.port}), data checksums on, archiving through openbar\n`,
    );

    say(`1. a database: pgbench at scale ${scale}, and a customers table we care about`);
    cluster.pgbenchInit(scale);
    await cluster.query('CREATE TABLE customers (id int PRIMARY KEY, name text, balance numeric)');
    await cluster.query("INSERT INTO customers SELECT g, 'customer ' || g, g * 10 FROM generate_series(1, 50000) g");
    const [size] = await cluster.query<{ s: string }>(
      'SELECT pg_size_pretty(pg_database_size(current_database())) AS s',
    );
    process.stdout.write(`database size ${size!.s}\n`);

    say('2. a level-0 backup while pgbench writes (online: nothing stops)');
    // the load only: a pgbench that fails leaves the backup to show the rest
    const load = cluster.pgbench(15).catch(() => undefined);
    run(['backup']);
    await load;

    say('3. WAL backup: close the current WAL segment and store it in the Logs pool');
    run(['log', 'backup']);
    const [before] = await cluster.query<{ t: string; n: string; s: string }>(
      "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00' AS t, count(*)::text AS n, sum(balance)::text AS s FROM customers",
    );
    process.stdout.write(`at ${before!.t}: customers has ${before!.n} rows, balance total ${before!.s}\n`);

    say('4. a mistake: someone deletes most customers');
    await new Promise((r) => setTimeout(r, 1000));
    await cluster.query('DELETE FROM customers WHERE id > 100');
    const [after] = await cluster.query<{ n: string }>('SELECT count(*)::text AS n FROM customers');
    process.stdout.write(`customers now has ${after!.n} rows\n`);
    run(['log', 'backup']);

    say('5. point-in-time restore to just before the mistake, into a new directory');
    const target = path.join(dir, 'restored');
    run(['restore', '--data-dir', target, '--until-time', before!.t, '--plan']);
    run(['restore', '--data-dir', target, '--until-time', before!.t, '--archive-mode', 'off']);
    // the restored copy runs on the programs that made the original: the same major
    const restored = await SandboxCluster.adopt(target, path.join(dir, 'sock-restored'), bin);
    clusters.push(restored);
    restored.start();
    await restored.waitForPromotion();
    const [back] = await restored.query<{ n: string; s: string }>(
      'SELECT count(*)::text AS n, sum(balance)::text AS s FROM customers',
    );
    process.stdout.write(
      `restored server (port ${restored.port}): customers has ${back!.n} rows, balance total ${back!.s}\n`,
    );
    if (back!.n !== before!.n || back!.s !== before!.s)
      fail('INTERNAL', 'demo: the restored customers differ from before the mistake');

    say('6. verification: every volume record checked, and pg_amcheck on the restored server');
    run(['sm', 'scan']);
    amcheckRestored(bin, restored);

    say('what happened, and where');
    run(['history']);
    process.stdout.write(
      [
        `config:        ${config}`,
        `openbar home:  ${home} (catalog.db, history.db, boot file ixbar.demo, volumes/)`,
        `activity log:  ${path.join(home, 'activity.log')}`,
        `original:      ${cluster.dataDir}`,
        `restored:      ${target}`,
        keep ? 'both servers are left running (--keep)' : 'stopping both servers',
        '',
      ].join('\n'),
    );
    return cleanup;
  } catch (err) {
    cleanup();
    throw err;
  }
}

/** pg_amcheck on the restored server: beside its programs, else a client install that checks its major. */
function amcheckRestored(bin: string, restored: SandboxCluster): void {
  const amcheck = findAmcheck(binMajor(bin) ?? 0, bin);
  if (!amcheck) {
    process.stdout.write(
      `no pg_amcheck that checks this server (beside ${bin}, or a client install of 15+): not run\n`,
    );
    return;
  }
  const check = runPg(amcheck.bin, 'pg_amcheck', [
    '--all',
    '--heapallindexed',
    '--install-missing',
    ...restored.connArgs(),
  ]);
  process.stdout.write(
    check.status === 0
      ? 'pg_amcheck --heapallindexed: no corruption found\n'
      : `pg_amcheck found problems:\n${check.stdout}${check.stderr}`,
  );
  if (check.status !== 0) fail('INTERNAL', 'demo: pg_amcheck failed on the restored server');
}
