// Restores one space from a chain of levels (2, 1, 0), newest level first, writing each
// page once: the newest level decides which files exist and how long they are, and an
// older level writes only the pages no newer level wrote. Parts of one level may run in
// parallel; levels run strictly in order. What a stream names is checked by its decoder;
// below the root nothing is reached through a symbolic link and no link is made from a
// stream (TargetDir, as in a one-level restore). Nothing is ever written beyond a file's
// final size, and no file the newest level lacks is created.
// As in a one-level restore, page-aligned runs of large files go to disk with O_DIRECT
// straight from the transfer buffers, and small files are written with synchronous calls.

import fs from 'node:fs';
import type fsp from 'node:fs/promises';
import { fail } from '../../../common/errors.js';
import { faultPoint } from '../../../common/fault.js';
import { isPageAligned } from '../../../common/io/shared-memory.js';
import { TargetDir } from '../../../common/io/target-dir.js';
import { runParallel } from '../../../common/run-parallel.js';
import { PageLedger } from './page-ledger.js';
import { contentLength, restoredLinkAs, SpaceStreamDecoder, type FileEntry } from '../format/space-stream.js';
import { DIRECT_ALIGN, DIRECT_MIN, SMALL_SYNC, writeDirect } from './space-restorer.js';
import type { RestoreLevel } from '../../engine.js';
import { PAGE_SIZE } from '../format/page-size.js';

const { O_CREAT, O_RDWR } = fs.constants;

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

/**
 * `levels` newest first (each its save sets, opened when their turn comes); the last is the
 * level 0 the chain rests on. `root`: a directory (made when missing; it may be a link), or
 * one checked below a data directory.
 */
export async function restoreChainStreams(levels: readonly RestoreLevel[], root: string | TargetDir, opts: ChainRestoreOptions = {}): Promise<ChainRestoreResult> {
  if (levels.length === 0) fail('INTERNAL', 'a chain restore needs at least one level');
  const ledger = new PageLedger(levels.length, PAGE_SIZE);
  const totals = { entries: 0, bytes: 0, written: 0 };
  const tree = typeof root === 'string' ? TargetDir.open(root) : root;
  for (const [depth, level] of levels.entries()) {
    opts.signal?.throwIfAborted();
    await runParallel(level.parts, Math.max(1, opts.parallel ?? 1), (open) => restorePart(open(), { tree, depth, level: level.level, ledger, opts, totals }));
    faultPoint('restore-chain-level');
  }
  return { files: totals.entries, bytes: totals.bytes, written: totals.written };
}

interface PartContext {
  /** shared by the parts: directories are checked once */
  readonly tree: TargetDir;
  readonly depth: number;
  readonly level: number;
  readonly ledger: PageLedger;
  readonly opts: ChainRestoreOptions;
  readonly totals: { entries: number; bytes: number; written: number };
}

/**
 * The file entry being written: the handle is opened on the first byte to write; `fd` is
 * set instead for a small file written with synchronous calls; `direct` is opened on the
 * first aligned run of a large file (null: the file system does not do direct writes).
 */
interface Current {
  readonly entry: FileEntry;
  /** the path written, relative to the root */
  readonly rel: string;
  fh: fsp.FileHandle | undefined;
  readonly write: boolean;
  fd?: number | undefined;
  direct?: fsp.FileHandle | null | undefined;
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
    try {
      // the newest level's mode is the file's (created 0600: only another mode needs a
      // chmod), set through the descriptor of the entry that made it; permission bits only
      const mode = done.entry.mode & 0o777;
      if (done.write && c.depth === 0 && done.entry.mode !== 0o600) {
        if (done.fd !== undefined) fs.fchmodSync(done.fd, mode);
        else await done.fh?.chmod(mode);
      }
    } finally {
      if (done.fd !== undefined) fs.closeSync(done.fd);
      await Promise.all([done.fh?.close(), done.direct?.close()]);
    }
    if (done.write && done.entry.pages) c.ledger.markWritten(done.entry.path, done.entry.pages, c.depth);
  };
  try {
    for await (const chunk of source) {
      c.opts.signal?.throwIfAborted();
      for (const ev of decoder.push(chunk)) {
        if (ev.kind === 'header') {
          if (ev.header.pageSize !== PAGE_SIZE) fail('FORMAT', `space stream of level ${c.level}: page size ${ev.header.pageSize} is not supported (only ${PAGE_SIZE})`);
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
  const rel = c.opts.writeAs?.get(e.path) ?? e.path;
  if (e.type !== 'file') {
    if (c.depth > 0) return undefined;
    c.totals.entries++;
    if (e.type === 'dir') c.tree.dir(rel, e.mode || 0o700);
    else if (restoredLinkAs(e) === 'dir') c.tree.dir(rel);
    return undefined;
  }
  const claim = c.ledger.claim(e, c.depth);
  if (!claim.write) return { entry: e, rel, fh: undefined, write: false };
  let fh: fsp.FileHandle | undefined;
  if (claim.create) {
    // first sight in the newest level: the file exists from now on, at its final size
    c.totals.entries++;
    if (e.pages === undefined && e.offset === undefined && claim.size <= SMALL_SYNC) {
      const fd = c.tree.openSync(rel, O_RDWR | O_CREAT);
      fs.ftruncateSync(fd, claim.size);
      return { entry: e, rel, fh: undefined, write: true, fd };
    }
    fh = await c.tree.open(rel, O_RDWR | O_CREAT);
    await fh.truncate(claim.size);
  }
  return { entry: e, rel, fh, write: true };
}

/** The file opened when first written (another part of the newest level may be the one that registered it). */
async function handle(cur: Current, c: PartContext): Promise<fsp.FileHandle> {
  cur.fh ??= await c.tree.open(cur.rel, O_RDWR | O_CREAT);
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
    if (runLen > 0) { await writeAll(await handle(cur, c), data.subarray(runData, runData + runLen), runFile); written += runLen; }
    runLen = 0;
  };
  for (let done = 0; done < data.length;) {
    const pos = offset + done;
    const index = Math.floor(pos / PAGE_SIZE);
    const within = pos % PAGE_SIZE;
    const n = Math.min(PAGE_SIZE - within, data.length - done);
    const block = pages[index];
    if (block === undefined) fail('FORMAT', `space stream: ${cur.entry.path} carries more pages than it lists`);
    const fileAt = block * PAGE_SIZE + within;
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
      if (done < run.length) await writeAll(await handle(cur, c), run.subarray(done), from + done);
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
  if (contentLength(cur.entry, PAGE_SIZE) < DIRECT_MIN) return undefined;
  // undefined where refused (EINVAL on tmpfs and the like; not made yet by the part that
  // registered it): buffered writes do it all
  cur.direct = (await c.tree.openDirect(cur.rel)) ?? null;
  return cur.direct ?? undefined;
}


async function writeAll(fh: fsp.FileHandle, data: Buffer, position: number): Promise<void> {
  for (let done = 0; done < data.length;) {
    const { bytesWritten } = await fh.write(data, done, data.length - done, position + done);
    done += bytesWritten;
  }
}
