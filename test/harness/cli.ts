// Runs the real openbar binary in a child process, as users and scripts do.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const openbarBin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bundle/openbar.js');

/** openbar's `log archive` as a cluster's archive_command, for the openbar of `config` (unquoted). */
export function archiveCommand(config: string): string {
  return `${process.execPath} ${openbarBin} --config ${config} log archive %p`;
}

export interface RunResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function openbar(
  args: readonly string[],
  opts: { config?: string; env?: NodeJS.ProcessEnv; input?: string; cwd?: string } = {},
): RunResult {
  const env = { ...process.env, ...(opts.env ?? {}) };
  for (const k of Object.keys(env)) if (k.startsWith('OPENBAR_') && !(opts.env && k in opts.env)) delete env[k];
  const r = spawnSync(process.execPath, [openbarBin, ...(opts.config ? ['--config', opts.config] : []), ...args], {
    encoding: 'utf8',
    env,
    maxBuffer: 256 * 1024 * 1024,
    ...(opts.input !== undefined ? { input: opts.input } : {}),
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
  });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

export function openbarAsync(
  args: readonly string[],
  opts: { config?: string; env?: NodeJS.ProcessEnv } = {},
): ChildProcess {
  const env = { ...process.env, ...(opts.env ?? {}) };
  return spawn(process.execPath, [openbarBin, ...(opts.config ? ['--config', opts.config] : []), ...args], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(process.env.OPENBAR_TEST_TMP ?? os.tmpdir(), `openbar-${prefix}-`));
}

/** A fresh home with its config; `settings` are written into the config file. */
export function makeHome(
  prefix: string,
  settings: Record<string, string> = {},
): { dir: string; home: string; config: string } {
  const dir = tempDir(prefix);
  const home = path.join(dir, 'home');
  const config = path.join(dir, 'openbar.conf');
  const set = Object.entries(settings).flatMap(([k, v]) => ['--set', `${k}=${v}`]);
  const r = openbar([...set, 'init', '--home', home, '--server', 'test'], { config });
  if (r.status !== 0) throw new Error(`init failed: ${r.stderr}`);
  return { dir, home, config };
}

export function writeRandomFile(file: string, bytes: number): string {
  const fd = fs.openSync(file, 'w');
  const hash = createHash('sha256');
  try {
    for (let done = 0; done < bytes;) {
      const n = Math.min(8 << 20, bytes - done);
      const b = randomBytes(n);
      hash.update(b);
      fs.writeSync(fd, b);
      done += n;
    }
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest('hex');
}

export function sha256File(file: string): string {
  const hash = createHash('sha256');
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.allocUnsafe(8 << 20);
  try {
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      hash.update(buf.subarray(0, n));
    }
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest('hex');
}

/** The last line of stdout: where store and backup print the id. */
export function lastLine(out: string): string {
  return out.trim().split('\n').pop()!.trim();
}

export function savesets(
  config: string,
): { id: number; name: string; rawBytes: number; hash: string; volumes: string[]; pool: string; kind: string }[] {
  const r = openbar(['sm', 'savesets', '--json'], { config });
  if (r.status !== 0) throw new Error(`sm savesets failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** Flips one byte of `file` at `offset` (volumes are read-only once closed). */
export function flipByte(file: string, offset: number): void {
  fs.chmodSync(file, 0o640);
  const fd = fs.openSync(file, 'r+');
  const b = Buffer.alloc(1);
  fs.readSync(fd, b, 0, 1, offset);
  b[0] = b[0]! ^ 0x5a;
  fs.writeSync(fd, b, 0, 1, offset);
  fs.closeSync(fd);
}
