// Shared pieces of the benchmarks: timing a child process with its peak memory,
// emptying the page cache between runs when allowed (all of it, or only the files of
// the data directory and the repositories), and writing the report.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const openbarBin = path.join(repoRoot, 'dist/bundle/openbar.js');

/** The postgres user's uid and gid when we are root (the bench runs openbar as postgres, as archive_command does), else undefined. */
export function pgUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout.trim());
  return { uid: id('-u'), gid: id('-g') };
}

/** openbar's `log archive` (the build `openbar`) as a cluster's archive_command, for `config` (unquoted). */
export function archiveCommand(config: string, openbar = openbarBin): string {
  return `${process.execPath} ${openbar} --config ${config} log archive %p`;
}

export interface Timed {
  ms: number;
  peakRssKiB: number;
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Resident memory of `pid` and all its descendants, in KiB. */
function treeRssKiB(pid: number): number {
  const parent = new Map<number, number>();
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      parent.set(Number(d), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      /* gone */
    }
  }
  let total = 0;
  for (const p of parent.keys()) {
    let q: number | undefined = p;
    while (q !== undefined && q !== pid && q > 1) q = parent.get(q);
    if (q !== pid) continue;
    try {
      const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${p}/status`, 'utf8'));
      if (m) total += Number(m[1]);
    } catch {
      /* gone */
    }
  }
  return total;
}

/** Runs a command, sampling the peak resident memory of its whole process tree until it exits. */
export function timed(
  cmd: string,
  args: readonly string[],
  opts: { env?: NodeJS.ProcessEnv; uid?: number; gid?: number } = {},
): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(cmd, args, {
      env: { ...process.env, ...(opts.env ?? {}) },
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(opts.uid !== undefined ? { uid: opts.uid, gid: opts.gid } : {}),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    let peak = 0;
    const sample = () => {
      try {
        const m = /VmHWM:\s+(\d+)/.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) peak = Math.max(peak, Number(m[1]));
        peak = Math.max(peak, treeRssKiB(child.pid!));
      } catch {
        /* exited */
      }
    };
    const timer = setInterval(sample, 50);
    child.on('error', reject);
    child.on('exit', (status) => {
      clearInterval(timer);
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      resolve({ ms, peakRssKiB: peak, status, stdout, stderr });
    });
  });
}

let canDrop: boolean | undefined;

/** Empties the page cache so each run reads from disk; false when not permitted. */
export function dropCaches(): boolean {
  if (canDrop === false) return false;
  try {
    spawnSyncQuiet('sync');
    fs.writeFileSync('/proc/sys/vm/drop_caches', '3\n');
    canDrop = true;
  } catch {
    canDrop = false;
  }
  return canDrop;
}

/**
 * Evicts the files under `dirs` from the page cache (POSIX_FADV_DONTNEED through
 * coreutils' `dd iflag=nocache count=0`, after a sync so that no page is dirty), leaving
 * everything else cached: the programs, their libraries and openbar's node_modules stay
 * in memory, as on a live server where both tools run as archive_command at every WAL
 * segment. Undefined when done; else what went wrong: pages of the largest file stayed
 * resident (checked with util-linux's fincore; the running server may have read some
 * since), or the tools are missing.
 */
export function evictFiles(dirs: readonly string[]): string | undefined {
  const present = dirs.filter((d) => fs.existsSync(d));
  if (present.length === 0) return undefined;
  spawnSyncQuiet('sync');
  const r = spawnSync(
    'sh',
    [
      '-c',
      'find "$@" -type f -print0 | xargs -0 -r -P2 -n 64 sh -c \'for f; do dd if="$f" iflag=nocache count=0 status=none 2>/dev/null; done\' sh',
      'sh',
      ...present,
    ],
    { stdio: 'ignore' },
  );
  if (r.status !== 0) return 'find/xargs/dd failed';
  let largest = { file: '', size: -1 };
  for (const d of present) {
    for (const e of fs.readdirSync(d, { recursive: true, withFileTypes: true })) {
      if (!e.isFile()) continue;
      const file = path.join(e.parentPath, e.name);
      try {
        const size = fs.statSync(file).size;
        if (size > largest.size) largest = { file, size };
      } catch {
        /* gone */
      }
    }
  }
  if (largest.size <= 0) return undefined;
  const res = spawnSync('fincore', ['--bytes', '--noheadings', '--output', 'RES', largest.file], { encoding: 'utf8' });
  if (res.status !== 0) return 'fincore is missing';
  const resident = Number(res.stdout.trim());
  return resident === 0 ? undefined : `${largest.file}: ${resident} of ${largest.size} bytes stayed resident`;
}

function spawnSyncQuiet(cmd: string): void {
  spawnSync(cmd, [], { stdio: 'ignore' });
}

export function mbps(bytes: number, ms: number): number {
  return bytes / 1e6 / (ms / 1000);
}

/** The median of `xs` (the mean of the middle two when their number is even). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function fmt(n: number, digits = 1): string {
  return n.toFixed(digits);
}

export function writeReport(name: string, text: string): string {
  const dir = path.join(repoRoot, 'bench-report');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}.md`);
  fs.writeFileSync(file, text);
  return file;
}

export function markdownTable(head: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}
