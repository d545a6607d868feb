// Restores one space from a chain of levels (2, 1, 0), newest level first, writing each
// page once: the newest level decides which files exist and how long they are, and an
// older level writes only the pages no newer level wrote. Parts of one level may run in
// parallel; levels run strictly in order. Paths never leave the root; nothing is ever
// written beyond a file's final size, and no file the newest level lacks is created.
// As in a one-level restore, page-aligned runs of large files go to disk with O_DIRECT
// straight from the transfer buffers, and small files are written with synchronous calls.

import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { fail } from '../../common/errors.js';
import { faultPoint } from '../../common/fault.js';
import { isPageAligned } from '../../common/io/shared-memory.js';
import { safeJoin } from '../../common/names.js';
import { runParallel } from '../../common/run-parallel.js';
import { PageLedger } from './page-ledger.js';
import { contentLength, SpaceStreamDecoder, type FileEntry } from './space-stream.js';
import { DIRECT_ALIGN, DIRECT_MIN, SMALL_SYNC, writeDirect } from './space-restorer.js';
import type { RestoreLevel } from '../engine.js';

const PAGE = 8192;

export interface ChainRestoreOptions {
  /** parts of one level restored at once */
  readonly parallel?: number;
  readonly onBytes?: (n: number) => void;
  readonly signal?: AbortSignal;
  /** stream path -> the name to write it under (pg_control until the restore is complete) */
  readonly writeAs?: ReadonlyMap<string, string>;
}

export interface ChainRestoreResult {
  /** files (and directories, links) of the restored space */
  readonly files: number;
  /** stream content bytes read, every level */
  readonly bytes: number;
  /** bytes written to files */
  readonly written: number;
}

/** `levels` newest first (each its save sets, opened when their turn comes); the last is the level 0 the chain rests on. */
export async function restoreChainStreams(levels: readonly RestoreLevel[], root: string, opts: ChainRestoreOptions = {}): Promise<ChainRestoreResult> {
  if (levels.length === 0) fail('INTERNAL', 'a chain restore needs at least one level');
  const ledger = new PageLedger(levels.length, PAGE);
  const totals = { entries: 0, bytes: 0, written: 0 };
  await fsp.mkdir(root, { recursive: true });
  const dirs = new Set<string>([root]);
  for (const [depth, level] of levels.entries()) {
    opts.signal?.throwIfAborted();
    await runParallel(level.parts, Math.max(1, opts.parallel ?? 1), (open) => restorePart(open(), { root, depth, level: level.level, ledger, opts, totals, dirs }));
    faultPoint('restore-chain-level');
  }
  return { files: totals.entries, bytes: totals.bytes, written: totals.written };
}

interface PartContext {
  readonly root: string;
  readonly depth: number;
  readonly level: number;
  readonly ledger: PageLedger;
  readonly opts: ChainRestoreOptions;
  readonly totals: { entries: number; bytes: number; written: number };
  /** directories known to exist (made once, not for every file) */
  readonly dirs: Set<string>;
}

/**
 * The file entry being written: the handle is opened on the first byte to write; `fd` is
 * set instead for a small file written with synchronous calls; `direct` is opened on the
 * first aligned run of a large file (null: the file system does not do direct writes).
 */
interface Current {
  readonly entry: FileEntry;
  readonly target: string;
  fh: fsp.FileHandle | undefined;
  readonly write: boolean;
  fd?: number | undefined;
  direct?: fsp.FileHandle | null | undefined;
}

async function ensureDir(dir: string, c: PartContext): Promise<void> {
  if (c.dirs.has(dir)) return;
  await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
  c.dirs.add(dir);
}

async function restorePart(source: AsyncIterable<Buffer>, c: PartContext): Promise<void> {
  const decoder = new SpaceStreamDecoder();
  let cur: Current | undefined;
  let sawHeader = false;
  let sawTrailer = false;
  const finish = async () => {
    if (!cur) return;
    const done = cur;
    cur = undefined;
    if (done.fd !== undefined) fs.closeSync(done.fd);
    await Promise.all([done.fh?.close(), done.direct?.close()]);
    if (!done.write) return;
    if (done.entry.pages) c.ledger.markWritten(done.entry.path, done.entry.pages, c.depth);
    // the newest level's mode is the file's (created 0600: only another mode needs a chmod)
    if (c.depth === 0 && done.entry.mode !== 0o600) await fsp.chmod(done.target, done.entry.mode).catch(() => {});
  };
  try {
    for await (const chunk of source) {
      c.opts.signal?.throwIfAborted();
      for (const ev of decoder.push(chunk)) {
        if (ev.kind === 'header') {
          if (ev.header.pageSize !== PAGE) fail('FORMAT', `space stream of level ${c.level}: page size ${ev.header.pageSize} is not supported (only ${PAGE})`);
          sawHeader = true;
        } else if (ev.kind === 'entry') {
          await finish();
          cur = await startEntry(ev.entry, c);
        } else if (ev.kind === 'data') {
          if (!cur) fail('FORMAT', 'space stream: data outside a file');
          c.totals.bytes += ev.data.length;
          c.opts.onBytes?.(ev.data.length);
          if (cur.write) c.totals.written += cur.entry.pages ? await writePages(cur, ev.data, ev.offset, c) : await writeWhole(cur, ev.data, ev.offset, c);
        } else {
          await finish();
          sawTrailer = true;
        }
      }
    }
    decoder.end();
  } finally {
    if (cur?.fd !== undefined) fs.closeSync(cur.fd);
    await Promise.all([cur?.fh?.close().catch(() => {}), cur?.direct?.close().catch(() => {})]);
  }
  if (!sawHeader || !sawTrailer) fail('TRUNCATED', `space stream of level ${c.level} ended early`);
}

/** Directories and links come from the newest level only; a file as the ledger says. */
async function startEntry(e: FileEntry, c: PartContext): Promise<Current | undefined> {
  const target = safeJoin(c.root, c.opts.writeAs?.get(e.path) ?? e.path);
  if (e.type !== 'file') {
    if (c.depth > 0) return undefined;
    c.totals.entries++;
    if (e.type === 'dir') {
      await fsp.mkdir(target, { recursive: true, mode: e.mode || 0o700 });
      c.dirs.add(target);
    } else {
      await fsp.rm(target, { force: true });
      await fsp.symlink(e.target ?? '', target);
    }
    return undefined;
  }
  const claim = c.ledger.claim(e, c.depth);
  if (!claim.write) return { entry: e, target, fh: undefined, write: false };
  let fh: fsp.FileHandle | undefined;
  if (claim.create) {
    // first sight in the newest level: the file exists from now on, at its final size
    c.totals.entries++;
    await ensureDir(path.dirname(target), c);
    if (e.pages === undefined && e.offset === undefined && claim.size <= SMALL_SYNC) {
      const fd = fs.openSync(target, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600);
      fs.ftruncateSync(fd, claim.size);
      return { entry: e, target, fh: undefined, write: true, fd };
    }
    fh = await fsp.open(target, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600);
    await fh.truncate(claim.size);
  }
  return { entry: e, target, fh, write: true };
}

async function handle(cur: Current): Promise<fsp.FileHandle> {
  if (cur.fh) return cur.fh;
  const open = () => fsp.open(cur.target, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600);
  try {
    cur.fh = await open();
  } catch (err) {
    // another part of the newest level registered the file and is still making its directory
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    await fsp.mkdir(path.dirname(cur.target), { recursive: true, mode: 0o700 });
    cur.fh = await open();
  }
  return cur.fh;
}

/** Page-list content: the n-th page of the list is block pages[n]; runs of wanted, consecutive blocks go in one write. */
async function writePages(cur: Current, data: Buffer, offset: number, c: PartContext): Promise<number> {
  const pages = cur.entry.pages!;
  let written = 0;
  let runData = -1; // start of the pending run in `data`
  let runFile = 0; // its file offset
  let runLen = 0;
  const flush = async () => {
    if (runLen > 0) { await writeAll(await handle(cur), data.subarray(runData, runData + runLen), runFile); written += runLen; }
    runLen = 0;
  };
  for (let done = 0; done < data.length;) {
    const pos = offset + done;
    const index = Math.floor(pos / PAGE);
    const within = pos % PAGE;
    const n = Math.min(PAGE - within, data.length - done);
    const block = pages[index];
    if (block === undefined) fail('FORMAT', `space stream: ${cur.entry.path} carries more pages than it lists`);
    const fileAt = block * PAGE + within;
    if (c.ledger.wants(cur.entry.path, block, c.depth)) {
      if (runLen > 0 && runFile + runLen !== fileAt) await flush();
      if (runLen === 0) { runData = done; runFile = fileAt; }
      runLen += n;
    } else {
      await flush();
    }
    done += n;
  }
  await flush();
  return written;
}

/** Whole-file content (or a range of it): the parts below the final size that no newer level wrote. */
async function writeWhole(cur: Current, data: Buffer, offset: number, c: PartContext): Promise<number> {
  const at = (cur.entry.offset ?? 0) + offset;
  let written = 0;
  for (const [from, to] of c.ledger.byteRanges(cur.entry.path, at, at + data.length, c.depth)) {
    const run = data.subarray(from - at, to - at);
    if (cur.fd !== undefined) {
      for (let done = 0; done < run.length;) done += fs.writeSync(cur.fd, run, done, run.length - done, from + done);
    } else {
      const direct = aligned(run, from) ? await directHandle(cur, c) : undefined;
      const done = direct ? await writeDirect(direct, run, from) : 0;
      if (done < run.length) await writeAll(await handle(cur), run.subarray(done), from + done);
    }
    written += to - from;
  }
  return written;
}

/** Whether `run` can go to file offset `at` by direct I/O: memory, offset and length all aligned. */
function aligned(run: Buffer, at: number): boolean {
  return isPageAligned(run.buffer) && run.byteOffset % DIRECT_ALIGN === 0 && at % DIRECT_ALIGN === 0 && run.length % DIRECT_ALIGN === 0;
}

/** The file opened for direct writes when it is large enough to be worth it; undefined otherwise or where refused. */
async function directHandle(cur: Current, c: PartContext): Promise<fsp.FileHandle | undefined> {
  if (cur.direct !== undefined) return cur.direct ?? undefined;
  cur.direct = null;
  const flag = fs.constants.O_DIRECT;
  if (flag === undefined || contentLength(cur.entry, PAGE) < DIRECT_MIN) return undefined;
  try {
    cur.direct = await fsp.open(cur.target, fs.constants.O_WRONLY | flag);
  } catch (err) {
    // not there yet: another part of the newest level registered the file and makes its directory
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') await ensureDir(path.dirname(cur.target), c);
    return undefined; // EINVAL on tmpfs and the like: buffered writes do it all
  }
  return cur.direct;
}


async function writeAll(fh: fsp.FileHandle, data: Buffer, position: number): Promise<void> {
  for (let done = 0; done < data.length;) {
    const { bytesWritten } = await fh.write(data, done, data.length - done, position + done);
    done += bytesWritten;
  }
}
