// npm run bench — openbar against pgBackRest on the same generated database, same
// machine, same run: a full (level-0) backup and a restore with each, matched on
// compression (zstd, level 1) and parallelism (2 processes/streams), and a verify of
// the backup with each; pg_basebackup as a
// reference for the raw copy speed. Prints time, MB/s, stored bytes, peak memory of the
// whole process tree, and the ratio openbar/pgBackRest. Writes bench-report/bench.md.
//
// BENCH_SCALE (pgbench scale, default 100 ≈ 1.5 GB), BENCH_DIR (default /var/tmp).

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { giveToPostgres, SandboxCluster } from '../src/engine/postgres/sandbox.js';
import { dropCaches, fmt, markdownTable, mbps, openbarBin, timed, writeReport, type Timed } from './harness.js';

const scale = Number(process.env.BENCH_SCALE ?? 100);
const streams = 2;

interface Row { what: string; tool: string; t: Timed; bytes: number; stored?: number }

function pgUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const r = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const g = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  return { uid: Number(r.stdout.trim()), gid: Number(g.stdout.trim()) };
}

function duBytes(dir: string): number {
  const r = spawnSync('du', ['-sb', dir], { encoding: 'utf8' });
  return Number(r.stdout.split('\t')[0]);
}

async function main(): Promise<void> {
  if (spawnSync('sh', ['-c', 'command -v pgbackrest']).status !== 0) {
    process.stderr.write('bench: pgBackRest is not installed: apt-get install -y pgbackrest\n');
    process.exit(2);
  }
  const as = pgUser();
  const dir = fs.mkdtempSync(path.join(process.env.BENCH_DIR ?? '/var/tmp', 'openbar-bench-'));
  giveToPostgres(dir);
  const config = path.join(dir, 'openbar.conf');
  const pgbr = path.join(dir, 'pgbackrest.conf');
  const openbarArchive = `'${process.execPath} ${openbarBin} --config ${config} log archive %p'`;
  const pgbrArchive = `'pgbackrest --config=${pgbr} --stanza=bench archive-push %p'`;
  const cluster = await SandboxCluster.create({ dir: path.join(dir, 'pg'), settings: { archive_mode: 'on', archive_command: openbarArchive, max_wal_size: '4GB' } });
  const run = (cmd: string, args: string[]) => timed(cmd, args, as ?? {});
  const must = async (what: string, cmd: string, args: string[]) => {
    const t = await run(cmd, args);
    if (t.status !== 0) throw new Error(`${what} failed (${t.status}): ${t.stderr.trim() || t.stdout.trim()}`);
    return t;
  };
  const rows: Row[] = [];
  let incrementalNote = '';
  try {
    fs.writeFileSync(pgbr, [
      '[global]', `repo1-path=${dir}/pgbr-repo`, `log-path=${dir}/pgbr-log`, `lock-path=${dir}/pgbr-lock`, `spool-path=${dir}/pgbr-spool`,
      'log-level-console=warn', 'log-level-file=off', 'compress-type=zst', 'compress-level=1', `process-max=${streams}`, 'start-fast=y',
      'repo1-retention-full=9', '', '[bench]', `pg1-path=${cluster.dataDir}`, `pg1-socket-path=${cluster.socketDir}`, `pg1-port=${cluster.port}`, '',
    ].join('\n'));
    giveToPostgres(dir);
    await must('openbar init', process.execPath, [openbarBin, '--config', config, '--set', 'compression=zstd', '--set', 'compression_level=1',
      '--set', `max_backup=${streams}`, 'init', '--home', path.join(dir, 'openbar-home'), '--server', 'bench', '--pg-data', cluster.dataDir,
      '--pg-host', cluster.socketDir, '--pg-port', String(cluster.port)]);
    cluster.start();
    process.stdout.write(`bench: generating pgbench scale ${scale} in ${dir} …\n`);
    cluster.pgbenchInit(scale);
    await cluster.query('CHECKPOINT');
    const [{ size }] = (await cluster.query<{ size: string }>('SELECT sum(pg_database_size(oid))::text AS size FROM pg_database')) as [{ size: string }];
    const dbBytes = Number(size);
    process.stdout.write(`bench: database ${fmt(dbBytes / 1e9, 2)} GB\n`);

    const setArchive = async (cmd: string) => {
      await cluster.query(`ALTER SYSTEM SET archive_command = ${cmd}`);
      await cluster.query('SELECT pg_reload_conf()');
    };

    // reference: pg_basebackup, plain, no WAL
    dropCaches();
    const pgbb = await must('pg_basebackup', path.join(cluster.bin, 'pg_basebackup'), ['-D', path.join(dir, 'pgbb'), '-X', 'none', '-c', 'fast', '-h', cluster.socketDir, '-p', String(cluster.port), '-U', 'postgres']);
    rows.push({ what: 'backup', tool: 'pg_basebackup (plain, reference)', t: pgbb, bytes: dbBytes, stored: duBytes(path.join(dir, 'pgbb')) });
    fs.rmSync(path.join(dir, 'pgbb'), { recursive: true, force: true });

    // pgBackRest full backup
    await setArchive(pgbrArchive);
    await must('pgbackrest stanza-create', 'pgbackrest', [`--config=${pgbr}`, '--stanza=bench', 'stanza-create']);
    dropCaches();
    const brBackup = await must('pgbackrest backup', 'pgbackrest', [`--config=${pgbr}`, '--stanza=bench', '--type=full', 'backup']);
    rows.push({ what: 'backup', tool: 'pgBackRest', t: brBackup, bytes: dbBytes, stored: duBytes(path.join(dir, 'pgbr-repo', 'backup')) });

    // openbar level-0 backup
    await setArchive(openbarArchive);
    dropCaches();
    const obBackup = await must('openbar backup', process.execPath, [openbarBin, '--config', config, 'backup', '--json']);
    const ob = JSON.parse(obBackup.stdout) as { storedBytes: number };
    rows.push({ what: 'backup', tool: 'openbar', t: obBackup, bytes: dbBytes, stored: ob.storedBytes });
    await must('openbar log backup', process.execPath, [openbarBin, '--config', config, 'log', 'backup']);

    // level 1 / incremental after ~1% of the pages changed: both tools archive from here on
    await setArchive(`'${process.execPath} ${openbarBin} --config ${config} log archive %p && pgbackrest --config=${pgbr} --stanza=bench archive-push %p'`);
    const accounts = scale * 100000;
    await cluster.query(`UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid <= ${Math.ceil(accounts / 100)}`);
    const [{ changed }] = (await cluster.query<{ changed: string }>("SELECT (pg_relation_size('pgbench_accounts') / 100)::text AS changed")) as [{ changed: string }];
    await cluster.query('CHECKPOINT');
    for (const method of ['wal', 'scan'] as const) {
      dropCaches();
      const t = await must(`openbar backup -L 1 (${method})`, process.execPath, [openbarBin, '--config', config, '--set', `incremental_method=${method}`, 'backup', '-L', '1', '--json']);
      const r = JSON.parse(t.stdout) as { bytes: number; storedBytes: number; method: string };
      rows.push({ what: 'level 1 / incr', tool: `openbar (${r.method})`, t, bytes: r.bytes, stored: r.storedBytes });
    }
    dropCaches();
    const brIncr = await must('pgbackrest backup --type=incr', 'pgbackrest', [`--config=${pgbr}`, '--stanza=bench', '--type=incr', 'backup']);
    const info = JSON.parse((await must('pgbackrest info', 'pgbackrest', [`--config=${pgbr}`, '--stanza=bench', '--output=json', 'info'])).stdout) as { backup: { type: string; info: { delta: number; repository: { delta: number } } }[] }[];
    const incr = info[0]!.backup.filter((b) => b.type === 'incr').pop()!;
    rows.push({ what: 'level 1 / incr', tool: 'pgBackRest', t: brIncr, bytes: incr.info.delta, stored: incr.info.repository.delta });
    incrementalNote = `About 1% of pgbench_accounts' pages changed (${fmt(Number(changed) / 1e6, 1)} MB of ${fmt(Number(changed) * 100 / 1e6, 0)} MB). For level 1 / incr, the MB/s column is bytes read from the data directory (pgBackRest: its delta, the changed files it copies whole) per second.`;

    await setArchive(pgbrArchive);
    await cluster.query('SELECT pg_switch_wal()');
    await new Promise((r) => setTimeout(r, 2000));
    cluster.stop();

    // verify: pgBackRest checks its repository's file checksums and WAL; openbar also every page
    dropCaches();
    const brVerify = await must('pgbackrest verify', 'pgbackrest', [`--config=${pgbr}`, '--stanza=bench', 'verify']);
    rows.push({ what: 'verify', tool: 'pgBackRest', t: brVerify, bytes: dbBytes });
    dropCaches();
    const obFull = (JSON.parse(obBackup.stdout) as { id: number }).id;
    const obVerify = await must('openbar verify', process.execPath, [openbarBin, '--config', config, 'verify', String(obFull), '--json']);
    rows.push({ what: 'verify', tool: 'openbar', t: obVerify, bytes: dbBytes });

    // restores, each into an empty directory
    const brDir = path.join(dir, 'restore-pgbackrest');
    const obDir = path.join(dir, 'restore-openbar');
    dropCaches();
    const brRestore = await must('pgbackrest restore', 'pgbackrest', [`--config=${pgbr}`, '--stanza=bench', `--pg1-path=${brDir}`, 'restore']);
    rows.push({ what: 'restore', tool: 'pgBackRest', t: brRestore, bytes: duBytes(brDir) });
    fs.rmSync(brDir, { recursive: true, force: true });
    dropCaches();
    const obRestore = await must('openbar restore', process.execPath, [openbarBin, '--config', config, 'restore', '--data-dir', obDir, '--archive-mode', 'off']);
    rows.push({ what: 'restore', tool: 'openbar', t: obRestore, bytes: duBytes(obDir) });
    fs.rmSync(obDir, { recursive: true, force: true });

    const find = (what: string, tool: string) => rows.find((r) => r.what === what && r.tool === tool)!;
    const ratio = (what: string, tool = 'openbar') => find(what, tool).t.ms / find(what, 'pgBackRest').t.ms;
    const table = markdownTable(['operation', 'tool', 'seconds', 'MB/s', 'stored MB', 'peak RSS MiB'], rows.map((r) => [
      r.what, r.tool, fmt(r.t.ms / 1000, 2), fmt(mbps(r.bytes, r.t.ms)), r.stored === undefined ? '-' : fmt(r.stored / 1e6, 1), fmt(r.t.peakRssKiB / 1024, 0),
    ]));
    const report = [
      '# openbar against pgBackRest',
      '',
      `${new Date().toISOString()} on ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${fmt(os.totalmem() / 1024 ** 3, 0)} GiB RAM.`,
      `pgbench scale ${scale}: ${fmt(dbBytes / 1e9, 2)} GB, data checksums on. zstd level 1 and ${streams} processes/streams for both; page cache dropped before each run${dropCaches() ? '' : ' (NOT: no permission)'}.`,
      `Peak RSS is the whole process tree (pgBackRest's worker processes included). pgBackRest ${spawnSync('pgbackrest', ['version'], { encoding: 'utf8' }).stdout.trim()}.`,
      '',
      table,
      '',
      `Ratio openbar / pgBackRest (time, lower is better): backup **${fmt(ratio('backup'), 2)}**, restore **${fmt(ratio('restore'), 2)}**, verify **${fmt(ratio('verify'), 2)}**.`,
      'Targets: backup ≤ 0.50, restore ≤ 1.00, verify ≤ 1.00 (openbar also checks every page; pgBackRest verify checks file checksums and WAL).',
      `Level 1 / incr, time ratio to pgBackRest's incremental: by WAL **${fmt(ratio('level 1 / incr', 'openbar (wal)'), 3)}**, by scan **${fmt(ratio('level 1 / incr', 'openbar (scan)'), 2)}** (target by WAL ≤ 0.10, and bytes read within 2× of the changed bytes).`,
      incrementalNote,
      '',
    ].join('\n');
    const file = writeReport('bench', report);
    process.stdout.write(`\n${report}\nreport written to ${file}\n`);
  } finally {
    cluster.stop('immediate');
    if (!process.env.BENCH_KEEP) fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main();
