// npm run bench:ab — this build of openbar against another (BENCH_BASELINE: the path of
// another build's dist/bundle/openbar.js), on one generated database, in one run: a
// level-0 backup, a level 1 after a pgbench run, a restore and a verify --quick with
// each, the two builds alternating, the data evicted from the page cache before each
// run. For a redesign that must not change the figures: same machine, same data, same
// run. Both builds archive every WAL segment (archive_command runs one, then the other),
// each into its own home. Writes bench-report/ab.md.
//
// BENCH_BASELINE (required: a built checkout, its node_modules beside it), BENCH_SCALE (pgbench scale, default 50), BENCH_RUNS (default 5),
// BENCH_DIR (default /var/tmp).

import fs from 'node:fs';
import path from 'node:path';
import { giveToPostgres, runPg, SandboxCluster } from '../src/engine/postgres/server/sandbox.js';
import {
  archiveCommand,
  evictFiles,
  fmt,
  markdownTable,
  median,
  openbarBin,
  pgUser,
  timed,
  writeReport,
  type Timed,
} from './harness.js';

const baseline = process.env.BENCH_BASELINE;
const scale = Number(process.env.BENCH_SCALE ?? 50);
const runs = Math.max(1, Number(process.env.BENCH_RUNS ?? 5));

const spread = (xs: readonly number[]) =>
  `${fmt(median(xs), 2)} (${fmt(Math.min(...xs), 2)}–${fmt(Math.max(...xs), 2)})`;

interface Build {
  readonly name: string;
  readonly bin: string;
  readonly config: string;
  readonly home: string;
}

async function main(): Promise<void> {
  if (!baseline || !fs.existsSync(baseline)) {
    process.stderr.write('bench:ab: set BENCH_BASELINE to the dist/bundle/openbar.js of the build to compare with\n');
    process.exit(2);
  }
  const as = pgUser();
  const dir = fs.mkdtempSync(path.join(process.env.BENCH_DIR ?? '/var/tmp', 'openbar-ab-'));
  giveToPostgres(dir);
  const builds: Build[] = [
    { name: 'baseline', bin: path.resolve(baseline), config: path.join(dir, 'a.conf'), home: path.join(dir, 'home-a') },
    { name: 'this build', bin: openbarBin, config: path.join(dir, 'b.conf'), home: path.join(dir, 'home-b') },
  ];
  const archive = `'${builds.map((b) => archiveCommand(b.config, b.bin)).join(' && ')}'`;
  const cluster = await SandboxCluster.create({
    dir: path.join(dir, 'pg'),
    settings: { archive_mode: 'on', archive_command: archive, max_wal_size: '4GB' },
  });
  const must = async (what: string, b: Build, args: string[]): Promise<Timed> => {
    const t = await timed(process.execPath, [b.bin, '--config', b.config, ...args], as ?? {});
    if (t.status !== 0)
      throw new Error(`${b.name}: ${what} failed (${t.status}): ${t.stderr.trim() || t.stdout.trim()}`);
    return t;
  };
  const results = new Map<string, Map<string, number[]>>();
  const note = (what: string, b: Build, t: Timed) => {
    const byBuild = results.get(what) ?? new Map<string, number[]>();
    byBuild.set(b.name, [...(byBuild.get(b.name) ?? []), t.ms / 1000]);
    results.set(what, byBuild);
  };
  const cold = () => evictFiles([cluster.dataDir, ...builds.map((b) => b.home)]);
  try {
    for (const b of builds) {
      await must('init', b, [
        '--set',
        'compression=zstd',
        '--set',
        'compression_level=1',
        '--set',
        'max_backup=2',
        'init',
        '--home',
        b.home,
        '--server',
        'bench',
        ...cluster.pgFlags(),
      ]);
    }
    giveToPostgres(dir);
    cluster.start();
    process.stdout.write(`bench:ab: pgbench scale ${scale} in ${dir} …\n`);
    cluster.pgbenchInit(scale);
    await cluster.query('CHECKPOINT');
    for (let i = 0; i < runs; i++) {
      // alternate which build goes first
      const order = i % 2 === 0 ? builds : [...builds].reverse();
      for (const b of order) {
        cold();
        note('backup level 0', b, await must('backup', b, ['backup']));
      }
      runPg(cluster.clientBin, 'pgbench', ['-n', '-t', '500', '-c', '2', ...cluster.connArgs(), 'postgres'], {
        stdio: 'ignore',
      });
      await cluster.query('CHECKPOINT');
      for (const b of order) {
        cold();
        note('backup level 1 (wal)', b, await must('backup -L 1', b, ['backup', '-L', '1']));
      }
      for (const b of order) {
        cold();
        note('verify --quick', b, await must('verify --quick', b, ['verify', 'latest', '--quick']));
      }
      for (const b of order) {
        const target = path.join(dir, `restore-${b.name.replace(' ', '-')}`);
        fs.rmSync(target, { recursive: true, force: true });
        cold();
        note(
          'restore (level 1 chain)',
          b,
          await must('restore', b, ['restore', '--data-dir', target, '--archive-mode', 'off', '--no-salvage']),
        );
        fs.rmSync(target, { recursive: true, force: true });
      }
      process.stdout.write(`bench:ab: run ${i + 1}/${runs} done\n`);
    }
    const rows = [...results].map(([what, by]) => {
      const a = by.get('baseline')!;
      const b = by.get('this build')!;
      const ratios = a.map((x, i) => b[i]! / x);
      return [
        what,
        spread(a),
        spread(b),
        `${fmt(median(b) / median(a), 2)} (pairs ${fmt(Math.min(...ratios), 2)}–${fmt(Math.max(...ratios), 2)})`,
      ];
    });
    const report = [
      `# openbar against another build of itself`,
      '',
      `Baseline ${builds[0]!.bin}, this build ${builds[1]!.bin}; pgbench scale ${scale}, ${runs} runs alternating, the data evicted before each.`,
      '',
      markdownTable(['seconds', 'baseline', 'this build', 'this / baseline (median)'], rows),
      '',
    ].join('\n');
    process.stdout.write(`\n${report}\nwritten to ${writeReport('ab', report)}\n`);
  } finally {
    cluster.stop('immediate');
    if (!process.env.BENCH_KEEP) fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`bench:ab: ${(err as Error).message}\n`);
  process.exit(1);
});
