#!/usr/bin/env node
// The `openbar` of the bundle (dist/bundle/openbar.js): runs the bundled CLI beside it
// (openbar-cli.js) with a V8 code cache, as Node 22's module.enableCompileCache does for
// modules. Every command is a new process (archive_command: one per WAL segment), and
// compiling the CLI's code is a good part of its start: with the cache, a command spends
// ~25 ms less CPU (`openbar status`: 85 against 113 ms of user time, 40 runs).
//
// The cache is V8's serialized bytecode, taken once the command has run (so it holds the
// functions that command used), one file per command and set of flags (a level 0 and a
// level 1 run different code: `backup` and `backup.L`), in a directory only this user
// can write: $OPENBAR_CODE_CACHE, else <tmpdir>/openbar-code-cache-<uid>; `off` disables
// it. V8 rejects a cache made by another V8 or with other flags; the file's name holds
// the node version and the bundle's inode, size and change time, so a rebuilt bundle
// never meets an old cache. Nothing about the cache can fail a command: whatever goes
// wrong, the CLI is compiled as it would be without it.

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';
import { commandShape, readsWalForLevel } from './command-word.js';
import { prestartWorker } from '../common/io/prestarted-worker.js';

/** bytes of the SHA-256 at the head of a cache file */
const SUM_BYTES = 32;
const here = path.dirname(fileURLToPath(import.meta.url));
const cli = path.join(here, 'openbar-cli.js');
// a level 1 or 2's WAL thread starts now, beside the CLI's compiling (src/common/io/prestarted-worker.ts)
if (readsWalForLevel(process.argv)) prestartWorker(new URL('./wal-changes-worker.js', import.meta.url));
const source = fs.readFileSync(cli, 'utf8').replace(/^#!.*/, '');
const cacheFile = codeCacheFile(fs.statSync(cli));
const cached = cacheFile ? readOwnFile(cacheFile) : undefined;
const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
  filename: cli,
  cachedData: cached,
});
if (cacheFile && (cached === undefined || script.cachedDataRejected)) {
  process.on('exit', () => writeCodeCache(cacheFile, script));
}
const cliModule = { exports: {} };
(script.runInThisContext() as (...a: unknown[]) => void).call(
  cliModule.exports,
  cliModule.exports,
  createRequire(cli),
  cliModule,
  cli,
  here,
);

/** The cache file for this bundle, node and command; undefined when there is no private place for it. */
function codeCacheFile(st: fs.Stats): string | undefined {
  const setting = process.env.OPENBAR_CODE_CACHE;
  if (setting === 'off' || process.getuid === undefined) return undefined;
  const dir = setting || path.join(os.tmpdir(), `openbar-code-cache-${process.getuid()}`);
  try {
    fs.mkdirSync(dir, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') return undefined;
  }
  try {
    if (!privateTo(fs.lstatSync(dir), true)) return undefined;
  } catch {
    return undefined;
  }
  return path.join(dir, `${bundleKey(st)}-${commandShape(process.argv)}.bin`);
}

/** The part of a cache file's name that ties it to this node and this build of the bundle. */
function bundleKey(st: fs.Stats): string {
  return `${process.version}-${process.arch}-${st.ino}-${st.size}-${Math.floor(st.ctimeMs)}`;
}

/** Owned by this user, and writable by nobody else (a cache others can write is code they could run as us). */
function privateTo(st: fs.Stats | undefined, dir: boolean): boolean {
  return (
    st !== undefined &&
    (dir ? st.isDirectory() : st.isFile()) &&
    st.uid === process.getuid!() &&
    (st.mode & 0o022) === 0
  );
}

function readOwnFile(file: string): Buffer | undefined {
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    if (!privateTo(fs.fstatSync(fd), false)) return undefined;
    // V8 checks what it can (version, flags, source length) but not every byte of the
    // bytecode: the file carries its own SHA-256
    const b = fs.readFileSync(fd);
    const data = b.subarray(SUM_BYTES);
    return b.length > SUM_BYTES && sha256(data).equals(b.subarray(0, SUM_BYTES)) ? data : undefined;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/**
 * Writes the cache (via a temporary name, renamed whole), and removes caches of other
 * builds not written for a day (another install of openbar run by the same user keeps its
 * own; at worst it writes it again).
 */
function writeCodeCache(file: string, s: vm.Script): void {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    const data = s.createCachedData();
    fs.writeFileSync(tmp, Buffer.concat([sha256(data), data]), { mode: 0o600, flag: 'wx' });
    fs.renameSync(tmp, file);
    const dir = path.dirname(file);
    const mine = path.basename(file).slice(0, path.basename(file).lastIndexOf('-') + 1);
    for (const name of fs.readdirSync(dir)) {
      if (!name.endsWith('.bin') || name.startsWith(mine)) continue;
      const st = fs.lstatSync(path.join(dir, name), { throwIfNoEntry: false });
      if (st && Date.now() - st.mtimeMs > 86_400_000) fs.rmSync(path.join(dir, name), { force: true });
    }
  } catch {
    fs.rmSync(tmp, { force: true });
  }
}

function sha256(b: Buffer): Buffer {
  return createHash('sha256').update(b).digest();
}
