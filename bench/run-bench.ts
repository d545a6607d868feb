// npm run bench — openbar against pgBackRest on the same generated database, same
// machine, same run: a full (level-0) backup and a restore with each, matched on
// compression (zstd, level 1) and parallelism (2 processes/streams), verifies of the
// backups, and level 1 / incremental backups after two kinds of change of ~1% of the
// pages (a pgbench run, and one range of rows updated); pg_basebackup as a
// reference for the raw copy speed. Prints time, MB/s, stored bytes, peak memory of the
// whole process tree, and the ratio openbar/pgBackRest. Each measurement is taken
// BENCH_RUNS times, the two tools alternating, and reported as median and range (the
// machine is shared: single runs are noise). Writes bench-report/bench.md.
//
// BENCH_SCALE (pgbench scale, default 100 ≈ 1.5 GB), BENCH_RUNS (default 3),
// BENCH_DIR (default /var/tmp), BENCH_PGBACKREST (the pgBackRest binary to compare with,
// default `pgbackrest` on the PATH; e.g. a 2.59.1 built from source outside the repository).

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { giveToPostgres, runPg, SandboxCluster } from '../src/engine/postgres/server/sandbox.js';
import {
  archiveCommand,
  dropCaches,
  evictFiles,
  fmt,
  markdownTable,
  median,
  mbps,
  openbarBin,
  pgUser,
  timed,
  writeReport,
  type Timed,
} from './harness.js';

const scale = Number(process.env.BENCH_SCALE ?? 100);
const runs = Math.max(1, Number(process.env.BENCH_RUNS ?? 3));
const streams = 2;

interface Row {
  what: string;
  tool: string;
  t: Timed[];
  bytes: number;
  stored?: number;
}

/** bytes of a level 1 restored from the WAL's full-page images rather than read (its last run) */
const imageBytes = (r: { spaces: { imagePages: number }[] }): number =>
  r.spaces.reduce((a, s) => a + (s.imagePages ?? 0), 0) * 8192;

/** `median (min–max)` of `xs`, or the one value. */
const spread = (xs: readonly number[], digits: number): string =>
  xs.length === 1
    ? fmt(xs[0]!, digits)
    : `${fmt(median(xs), digits)} (${fmt(Math.min(...xs), digits)}–${fmt(Math.max(...xs), digits)})`;

function duBytes(dir: string): number {
  const r = spawnSync('du', ['-sb', dir], { encoding: 'utf8' });
  return Number(r.stdout.split('\t')[0]);
}

/**
 * NODE_EXTRA_CA_CERTS, when set (some machines point it at the whole CA bundle), makes
 * every node start parse those certificates before any script runs: ~35 ms per openbar
 * process on the bench machine (node -e 0: 62–67 ms warm against 29–35). openbar opens no
 * TLS connection to anything but PostgreSQL, so the bench runs both tools, and the server
 * whose archive_command they are, without it; the report says whether it was set.
 */
const extraCaCerts = process.env.NODE_EXTRA_CA_CERTS;
delete process.env.NODE_EXTRA_CA_CERTS;

/** the pgBackRest binary the bench runs */
const pgbackrest = process.env.BENCH_PGBACKREST ?? 'pgbackrest';

async function main(): Promise<void> {
  if (spawnSync(pgbackrest, ['version']).status !== 0) {
    process.stderr.write(
      `bench: pgBackRest (${pgbackrest}) does not run: apt-get install -y pgbackrest, or set BENCH_PGBACKREST to its binary\n`,
    );
    process.exit(2);
  }
  const as = pgUser();
  const dir = fs.mkdtempSync(path.join(process.env.BENCH_DIR ?? '/var/tmp', 'openbar-bench-'));
  giveToPostgres(dir);
  const config = path.join(dir, 'openbar.conf');
  const pgbr = path.join(dir, 'pgbackrest.conf');
  const openbarArchive = `'${archiveCommand(config)}'`;
  const pgbrArchive = `'${pgbackrest} --config=${pgbr} --stanza=bench archive-push %p'`;
  const cluster = await SandboxCluster.create({
    dir: path.join(dir, 'pg'),
    settings: { archive_mode: 'on', archive_command: openbarArchive, max_wal_size: '4GB' },
  });
  const run = (cmd: string, args: string[]) => timed(cmd, args, as ?? {});
  const must = async (what: string, cmd: string, args: string[]) => {
    const t = await run(cmd, args);
    if (t.status !== 0) throw new Error(`${what} failed (${t.status}): ${t.stderr.trim() || t.stdout.trim()}`);
    return t;
  };
  const rows: Row[] = [];
  // before each timed run the files each tool reads or writes are evicted from the page
  // cache: the data directory (WAL included), openbar's home, pgBackRest's repository
  const dataDirs = [cluster.dataDir, path.join(dir, 'openbar-home'), path.join(dir, 'pgbr-repo')];
  /** the first eviction that was not complete, and how many were not */
  let evictNote: string | undefined;
  let evictMisses = 0;
  const coldData = () => {
    const miss = evictFiles(dataDirs);
    if (miss) {
      evictNote ??= miss;
      evictMisses++;
    }
  };
  let incrementalNote = '';
  let verifyNote = '';
  try {
    fs.writeFileSync(
      pgbr,
      [
        '[global]',
        `repo1-path=${dir}/pgbr-repo`,
        `log-path=${dir}/pgbr-log`,
        `lock-path=${dir}/pgbr-lock`,
        `spool-path=${dir}/pgbr-spool`,
        'log-level-console=warn',
        'log-level-file=off',
        'compress-type=zst',
        'compress-level=1',
        `process-max=${streams}`,
        'start-fast=y',
        'repo1-retention-full=9',
        '',
        '[bench]',
        `pg1-path=${cluster.dataDir}`,
        `pg1-socket-path=${cluster.socketDir}`,
        `pg1-port=${cluster.port}`,
        '',
      ].join('\n'),
    );
    giveToPostgres(dir);
    await must('openbar init', process.execPath, [
      openbarBin,
      '--config',
      config,
      '--set',
      'compression=zstd',
      '--set',
      'compression_level=1',
      '--set',
      `max_backup=${streams}`,
      'init',
      '--home',
      path.join(dir, 'openbar-home'),
      '--server',
      'bench',
      ...cluster.pgFlags(),
    ]);
    cluster.start();
    process.stdout.write(`bench: generating pgbench scale ${scale} in ${dir} …\n`);
    cluster.pgbenchInit(scale);
    await cluster.query('CHECKPOINT');
    const [{ size }] = (await cluster.query<{ size: string }>(
      'SELECT sum(pg_database_size(oid))::text AS size FROM pg_database',
    )) as [{ size: string }];
    const dbBytes = Number(size);
    process.stdout.write(`bench: database ${fmt(dbBytes / 1e9, 2)} GB\n`);

    const setArchive = async (cmd: string) => {
      await cluster.query(`ALTER SYSTEM SET archive_command = ${cmd}`);
      await cluster.query('SELECT pg_reload_conf()');
    };
    // no run starts while the archiver still works off earlier WAL (pgbench -i leaves ~80
    // segments): it would compete for the CPU with whichever tool happens to run then
    const archiverIdle = async () => {
      for (const deadline = Date.now() + 300_000; Date.now() < deadline;) {
        const [r] = await cluster.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready'",
        );
        if (r!.n === 0) return;
        await new Promise((res) => setTimeout(res, 200));
      }
      throw new Error('the archiver did not catch up within 5 minutes');
    };

    // reference: pg_basebackup, plain, no WAL
    await archiverIdle();
    coldData();
    const pgbb = await must('pg_basebackup', path.join(cluster.bin, 'pg_basebackup'), [
      '-D',
      path.join(dir, 'pgbb'),
      '-X',
      'none',
      '-c',
      'fast',
      ...cluster.connArgs(),
    ]);
    rows.push({
      what: 'backup',
      tool: 'pg_basebackup (plain, reference)',
      t: [pgbb],
      bytes: dbBytes,
      stored: duBytes(path.join(dir, 'pgbb')),
    });
    fs.rmSync(path.join(dir, 'pgbb'), { recursive: true, force: true });

    // full backups, the tools alternating
    await must('pgbackrest stanza-create', pgbackrest, [`--config=${pgbr}`, '--stanza=bench', 'stanza-create']);
    const brBackups: Timed[] = [];
    const obBackups: Timed[] = [];
    let obStored = 0;
    for (let i = 0; i < runs; i++) {
      await setArchive(pgbrArchive);
      await archiverIdle();
      coldData();
      brBackups.push(
        await must('pgbackrest backup', pgbackrest, [`--config=${pgbr}`, '--stanza=bench', '--type=full', 'backup']),
      );
      await setArchive(openbarArchive);
      await archiverIdle();
      coldData();
      const t = await must('openbar backup', process.execPath, [openbarBin, '--config', config, 'backup', '--json']);
      obStored = (JSON.parse(t.stdout) as { storedBytes: number }).storedBytes;
      obBackups.push(t);
      process.stdout.write(
        `bench: backup run ${i + 1}/${runs}: pgBackRest ${fmt(brBackups[i]!.ms / 1000, 2)} s, openbar ${fmt(t.ms / 1000, 2)} s\n`,
      );
    }
    const brSets = fs
      .readdirSync(path.join(dir, 'pgbr-repo', 'backup', 'bench'))
      .filter((n) => /F$/.test(n))
      .sort();
    rows.push({
      what: 'backup',
      tool: 'pgBackRest',
      t: brBackups,
      bytes: dbBytes,
      stored: duBytes(path.join(dir, 'pgbr-repo', 'backup', 'bench', brSets[brSets.length - 1]!)),
    });
    rows.push({ what: 'backup', tool: 'openbar', t: obBackups, bytes: dbBytes, stored: obStored });
    await must('openbar log backup', process.execPath, [openbarBin, '--config', config, 'log', 'backup']);

    // verify, the tools alternating, each of one full backup and the WAL archived since:
    // pgBackRest verify checks its whole repository (this version has no --set), so its
    // older fulls are expired first; it checks file checksums and WAL, openbar also every page
    await must('pgbackrest expire', pgbackrest, [
      `--config=${pgbr}`,
      '--stanza=bench',
      '--repo1-retention-full=1',
      'expire',
    ]);
    const obFull = (JSON.parse(obBackups[obBackups.length - 1]!.stdout) as { id: number }).id;
    const brVerifies: Timed[] = [];
    const obVerifies: Timed[] = [];
    const obQuick: Timed[] = [];
    for (let i = 0; i < runs; i++) {
      coldData();
      brVerifies.push(await must('pgbackrest verify', pgbackrest, [`--config=${pgbr}`, '--stanza=bench', 'verify']));
      coldData();
      obVerifies.push(
        await must('openbar verify', process.execPath, [
          openbarBin,
          '--config',
          config,
          'verify',
          String(obFull),
          '--json',
        ]),
      );
      coldData();
      obQuick.push(
        await must('openbar verify --quick', process.execPath, [
          openbarBin,
          '--config',
          config,
          'verify',
          String(obFull),
          '--quick',
          '--json',
        ]),
      );
      process.stdout.write(
        `bench: verify run ${i + 1}/${runs}: pgBackRest ${fmt(brVerifies[i]!.ms / 1000, 2)} s, openbar ${fmt(obVerifies[i]!.ms / 1000, 2)} s, openbar --quick ${fmt(obQuick[i]!.ms / 1000, 2)} s\n`,
      );
    }
    rows.push({ what: 'verify', tool: 'pgBackRest', t: brVerifies, bytes: dbBytes });
    rows.push({ what: 'verify', tool: 'openbar', t: obVerifies, bytes: dbBytes });
    rows.push({ what: 'verify', tool: 'openbar --quick', t: obQuick, bytes: dbBytes });
    const quickRatios = obQuick.map((t, i) => t.ms / brVerifies[i]!.ms);
    verifyNote = `Verify --quick (stored checksums and totals, WAL present: what pgBackRest's verify checks, which reads a SHA-1 of each stored backup file and does not decompress it), ratio per pair: **${spread(quickRatios, 2)}** [${quickRatios.map((r) => fmt(r, 2)).join(', ')}]. The full verify decompresses ${fmt(dbBytes / 1e9, 2)} GB and checks every page.`;

    // level 1 / incremental after ~1% of the pages changed, two ways: a pgbench run (random
    // accounts: scattered pages in every file, as the issue asks) and one UPDATE of 1% of the
    // rows in one range (pages together, in few files: pgBackRest's best case). Both tools
    // archive from here on. Each run starts from a new level 0 / full (not timed), so every
    // level 1 reads the WAL of one change, as pgBackRest's incremental copies the files of one
    // change. pgBackRest's push first: its incremental waits for its own WAL, which must not
    // wait on openbar's (openbar stores its backup's WAL itself; its summaries come from this command)
    await setArchive(`'${pgbackrest} --config=${pgbr} --stanza=bench archive-push %p && ${archiveCommand(config)}'`);
    const accounts = scale * 100000;
    // a pgbench (TPC-B) transaction changes about two pages at random: an accounts page and
    // an index leaf (the new row versions, the other tables' pages go to few pages)
    const transactions = Math.max(100, Math.round(dbBytes / 8192 / 100 / 2));
    const workloads = [
      {
        name: 'pgbench',
        label: `pgbench run (${transactions} transactions)`,
        change: async () => {
          const r = runPg(cluster.clientBin, 'pgbench', [
            '-n',
            '-t',
            String(transactions),
            ...cluster.connArgs(),
            'postgres',
          ]);
          if (r.status !== 0) throw new Error(`pgbench failed: ${r.stderr.trim()}`);
        },
      },
      {
        name: 'rows',
        label: '1% of the rows in one range',
        change: async () => {
          await cluster.query(
            `UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid <= ${Math.ceil(accounts / 100)}`,
          );
        },
      },
    ] as const;
    const l1Notes: string[] = [];
    const l1Summary: string[] = [];
    for (const w of workloads) {
      const l1Wal: Timed[] = [];
      const brIncrs: Timed[] = [];
      let l1 = { bytes: 0, storedBytes: 0, spaces: [] as { imagePages: number }[] };
      let l1Scan: { t: Timed; bytes: number; storedBytes: number } | undefined;
      let brIncr = { delta: 0, stored: 0 };
      let changedBytes = 0;
      /** a new full / level 0 of each (not timed), then the change, CHECKPOINT, the archiver idle */
      const newBasesAndChange = async () => {
        await archiverIdle();
        await must('pgbackrest backup', pgbackrest, [`--config=${pgbr}`, '--stanza=bench', '--type=full', 'backup']);
        await must('openbar backup', process.execPath, [openbarBin, '--config', config, 'backup']);
        await w.change();
        await cluster.query('CHECKPOINT');
        await archiverIdle();
      };
      for (let i = 0; i < runs; i++) {
        await newBasesAndChange();
        coldData();
        // traced (one line per phase on stderr, kept beside the report) to see where a slow run lost its time
        const t = await timed(
          process.execPath,
          [openbarBin, '--config', config, '--set', 'incremental_method=wal', 'backup', '-L', '1', '--json'],
          { ...(as ?? {}), env: { OPENBAR_TRACE: '1' } },
        );
        if (t.status !== 0)
          throw new Error(`openbar backup -L 1 (wal) failed (${t.status}): ${t.stderr.trim() || t.stdout.trim()}`);
        writeReport(`level1-wal-trace-${w.name}-${i + 1}`, ['```', t.stderr.trim(), '```', ''].join('\n'));
        l1Wal.push(t);
        l1 = JSON.parse(t.stdout) as typeof l1;
        if (i === 0) {
          // the scan reads every page: what it keeps (pages newer than the base, files copied whole) is the change
          coldData();
          const s = await must('openbar backup -L 1 (scan)', process.execPath, [
            openbarBin,
            '--config',
            config,
            '--set',
            'incremental_method=scan',
            'backup',
            '-L',
            '1',
            '--json',
          ]);
          const r = JSON.parse(s.stdout) as { id: number; bytes: number; storedBytes: number };
          l1Scan = { t: s, ...r };
          // what it kept: the uncompressed size of its space save sets (pages and entries)
          const sets = JSON.parse(
            (
              await must('openbar sm savesets', process.execPath, [
                openbarBin,
                '--config',
                config,
                'sm',
                'savesets',
                '--json',
              ])
            ).stdout,
          ) as { kind: string; rawBytes: number; meta: { aid?: number } }[];
          changedBytes = sets
            .filter((x) => x.kind === 'space' && x.meta.aid === r.id)
            .reduce((a, x) => a + x.rawBytes, 0);
        }
        await archiverIdle(); // openbar's level 1 left WAL to archive: pgBackRest does not share the CPU with it
        coldData();
        brIncrs.push(
          await must('pgbackrest backup --type=incr', pgbackrest, [
            `--config=${pgbr}`,
            '--stanza=bench',
            '--type=incr',
            'backup',
          ]),
        );
        const info = JSON.parse(
          (await must('pgbackrest info', pgbackrest, [`--config=${pgbr}`, '--stanza=bench', '--output=json', 'info']))
            .stdout,
        ) as { backup: { type: string; info: { delta: number; repository: { delta: number } } }[] }[];
        const incr = info[0]!.backup.filter((b) => b.type === 'incr').pop()!;
        brIncr = { delta: incr.info.delta, stored: incr.info.repository.delta };
        process.stdout.write(
          `bench: level 1 (${w.name}) run ${i + 1}/${runs}: openbar (wal) ${fmt(t.ms / 1000, 2)} s, pgBackRest incr ${fmt(brIncrs[i]!.ms / 1000, 2)} s\n`,
        );
      }
      // once more after the pgbench run with the whole page cache dropped before each tool:
      // the programs, their libraries and openbar's modules cold too (a machine where
      // neither ran lately; the runs above evict only the data, see the report's head)
      let allCold: { ob: Timed; br: Timed } | undefined;
      if (w.name === 'pgbench' && dropCaches()) {
        await newBasesAndChange();
        dropCaches();
        const ob = await must('openbar backup -L 1 (all cold)', process.execPath, [
          openbarBin,
          '--config',
          config,
          '--set',
          'incremental_method=wal',
          'backup',
          '-L',
          '1',
          '--json',
        ]);
        await archiverIdle();
        dropCaches();
        const br = await must('pgbackrest backup --type=incr (all cold)', pgbackrest, [
          `--config=${pgbr}`,
          '--stanza=bench',
          '--type=incr',
          'backup',
        ]);
        allCold = { ob, br };
        process.stdout.write(
          `bench: level 1 (${w.name}) with the whole page cache dropped: openbar (wal) ${fmt(ob.ms / 1000, 2)} s, pgBackRest incr ${fmt(br.ms / 1000, 2)} s\n`,
        );
      }
      const what = `level 1 / incr, ${w.label}`;
      rows.push({ what, tool: 'openbar (wal)', t: l1Wal, bytes: l1.bytes, stored: l1.storedBytes });
      rows.push({ what, tool: 'openbar (scan)', t: [l1Scan!.t], bytes: l1Scan!.bytes, stored: l1Scan!.storedBytes });
      rows.push({ what, tool: 'pgBackRest', t: brIncrs, bytes: brIncr.delta, stored: brIncr.stored });
      const l1Ratios = l1Wal.map((t, i) => t.ms / brIncrs[i]!.ms);
      const ofMedians = median(l1Wal.map((t) => t.ms)) / median(brIncrs.map((t) => t.ms));
      l1Summary.push(
        `${w.label}: by WAL **${fmt(ofMedians, 3)}** (ratio of the medians), per pair **${spread(l1Ratios, 3)}** [${l1Ratios.map((r) => fmt(r, 3)).join(', ')}], ${l1Ratios.filter((r) => r <= 0.1).length} of ${l1Ratios.length} pairs at or under 0.10; by scan ${fmt(l1Scan!.t.ms / median(brIncrs.map((t) => t.ms)), 2)}.${allCold ? ` With the whole page cache dropped before each tool (programs cold too; one pair): openbar ${fmt(allCold.ob.ms / 1000, 2)} s, pgBackRest ${fmt(allCold.br.ms / 1000, 2)} s, ratio ${fmt(allCold.ob.ms / allCold.br.ms, 3)}.` : ''}`,
      );
      l1Notes.push(
        `${w.label}: changed bytes, as the scan method (which reads every page) kept them: ${fmt(changedBytes / 1e6, 1)} MB (pages newer than the base, files copied whole, entries). The WAL method copied ${fmt(l1.bytes / 1e6, 1)} MB (${fmt(l1.bytes / changedBytes, 2)}× that), of which ${fmt(imageBytes(l1) / 1e6, 1)} MB restored from full-page images in the WAL, so ${fmt((l1.bytes - imageBytes(l1)) / 1e6, 1)} MB read from the data files (${fmt((l1.bytes - imageBytes(l1)) / changedBytes, 2)}×); pgBackRest copied ${fmt(brIncr.delta / 1e6, 0)} MB (the changed files whole).`,
      );
    }
    incrementalNote = [
      `Each level 1 / incr run: a new level 0 / full (not timed), then the change, CHECKPOINT, data evicted from the page cache; each tool starts with the archiver idle. archive_command runs pgBackRest's archive-push, then openbar's log archive (which summarizes each WAL segment for levels 1/2). The pgbench run is ${transactions} TPC-B transactions (\`pgbench -n -t ${transactions}\`): accounts rows at random, so changed pages lie scattered over every file of the table and its index; the range update changes 1% of pgbench_accounts' rows with aid in one range (non-HOT: new row versions and index entries).`,
      ...l1Notes,
      `Where each level 1 by WAL spent its time (OPENBAR_TRACE): bench-report/level1-wal-trace-WORKLOAD-N.md.`,
      `For level 1 / incr, the MB/s column is those bytes per second.`,
    ].join('\n');
    await setArchive(pgbrArchive);
    await cluster.query('SELECT pg_switch_wal()');
    await new Promise((r) => setTimeout(r, 2000));
    cluster.stop();

    // restores of the latest backup of each (a level 1 chain / an incremental), into empty directories, alternating
    const brDir = path.join(dir, 'restore-pgbackrest');
    const obDir = path.join(dir, 'restore-openbar');
    const brRestores: Timed[] = [];
    const obRestores: Timed[] = [];
    let restoredBytes = 0;
    for (let i = 0; i < runs; i++) {
      coldData();
      brRestores.push(
        await must('pgbackrest restore', pgbackrest, [
          `--config=${pgbr}`,
          '--stanza=bench',
          `--pg1-path=${brDir}`,
          'restore',
        ]),
      );
      fs.rmSync(brDir, { recursive: true, force: true });
      coldData();
      obRestores.push(
        await must('openbar restore', process.execPath, [
          openbarBin,
          '--config',
          config,
          'restore',
          '--data-dir',
          obDir,
          '--archive-mode',
          'off',
        ]),
      );
      restoredBytes = duBytes(obDir);
      fs.rmSync(obDir, { recursive: true, force: true });
      process.stdout.write(
        `bench: restore run ${i + 1}/${runs}: pgBackRest ${fmt(brRestores[i]!.ms / 1000, 2)} s, openbar ${fmt(obRestores[i]!.ms / 1000, 2)} s\n`,
      );
    }
    rows.push({ what: 'restore', tool: 'pgBackRest', t: brRestores, bytes: restoredBytes });
    rows.push({ what: 'restore', tool: 'openbar', t: obRestores, bytes: restoredBytes });

    // what the eviction above leaves out: loading each program from disk. openbar is node
    // (~95 MB binary) and native modules; pgBackRest one small C binary
    const starts = { openbar: [] as number[], pgbackrest: [] as number[] };
    const canDropAll = dropCaches();
    for (let i = 0; canDropAll && i < 3; i++) {
      dropCaches();
      starts.openbar.push((await must('openbar --version', process.execPath, [openbarBin, '--version'])).ms);
      dropCaches();
      starts.pgbackrest.push((await must('pgbackrest version', pgbackrest, ['version'])).ms);
    }
    const startNote = canDropAll
      ? `Program start from a page cache dropped whole (not part of the runs above; median of 3): \`openbar --version\` ${fmt(median(starts.openbar) / 1000, 2)} s, \`pgbackrest version\` ${fmt(median(starts.pgbackrest) / 1000, 2)} s. A run that started with both programs out of memory would add at least that difference to openbar's time (a backup also loads openbar's native modules).`
      : 'Program start from a cold page cache: not measured (no permission to drop the page cache).';

    const find = (what: string, tool: string) => rows.find((r) => r.what === what && r.tool === tool)!;
    /** openbar / pgBackRest per run (the two ran back to back), then the median and range of those */
    const ratios = (what: string) => find(what, 'openbar').t.map((t, i) => t.ms / find(what, 'pgBackRest').t[i]!.ms);
    const table = markdownTable(
      ['operation', 'tool', 'seconds', 'MB/s', 'stored MB', 'peak RSS MiB'],
      rows.map((r) => [
        r.what,
        r.tool,
        spread(
          r.t.map((t) => t.ms / 1000),
          2,
        ),
        spread(
          r.t.map((t) => mbps(r.bytes, t.ms)),
          0,
        ),
        r.stored === undefined ? '-' : fmt(r.stored / 1e6, 1),
        spread(
          r.t.map((t) => t.peakRssKiB / 1024),
          0,
        ),
      ]),
    );
    const report = [
      '# openbar against pgBackRest',
      '',
      `${new Date().toISOString()} on ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${fmt(os.totalmem() / 1024 ** 3, 0)} GiB RAM.`,
      `pgbench scale ${scale}: ${fmt(dbBytes / 1e9, 2)} GB, data checksums on. zstd level 1 and ${streams} processes/streams for both; before each timed run the page cache of the data directory (WAL included), openbar's home and pgBackRest's repository was evicted${evictNote ? ` (not completely before ${evictMisses} run(s); first: ${evictNote})` : ''}; the programs stayed cached, as on a live server where both tools run as archive_command at every WAL segment.`,
      startNote,
      `Peak RSS is the whole process tree (pgBackRest's worker processes included). pgBackRest ${spawnSync(pgbackrest, ['version'], { encoding: 'utf8' }).stdout.trim()}.`,
      `${runs} run(s) of each backup, verify and restore, pgBackRest and openbar alternating, each backup started with the archiver idle; figures are the median (min–max).`,
      extraCaCerts
        ? `NODE_EXTRA_CA_CERTS (${extraCaCerts}) is set on this machine; the bench removed it from the environment of both tools and of the server (it costs every node start ~35 ms of certificate parsing).`
        : 'NODE_EXTRA_CA_CERTS is not set.',
      '',
      table,
      '',
      `Ratio openbar / pgBackRest per pair of runs (time, lower is better): backup **${spread(ratios('backup'), 2)}** [${ratios(
        'backup',
      )
        .map((r) => fmt(r, 2))
        .join(', ')}], restore **${spread(ratios('restore'), 2)}** [${ratios('restore')
        .map((r) => fmt(r, 2))
        .join(', ')}].`,

      `Verify, ratio per pair of runs: **${spread(ratios('verify'), 2)}** [${ratios('verify')
        .map((r) => fmt(r, 2))
        .join(', ')}].`,
      verifyNote,
      'Targets: backup ≤ 0.50, restore ≤ 1.00, verify ≤ 1.00 (openbar also checks every page; pgBackRest verify checks file checksums and WAL).',
      `Level 1 / incr against pgBackRest's incremental, time ratio (target by WAL ≤ 0.10, and bytes read within 2× of the changed bytes):`,
      ...l1Summary.map((x) => `- ${x}`),
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
