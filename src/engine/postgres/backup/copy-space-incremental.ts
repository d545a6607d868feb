// Level 1 and 2 copies of a space: relation files as page lists holding only the pages
// changed since the base backup (found from the WAL's block references, or by reading
// every page and comparing its LSN with the base's start), every other file whole.
// Every file that exists gets an entry (a page list may be empty): the newest level's
// entries say which files a restore creates and how long they are. What the base lacks
// (a file, the pages past the size it knew) is copied whatever the method finds
// (incremental-rules.ts). Pages are checked as they are read, like a level 0; pages
// newer than this backup's start are not judged.

import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { ByteSink, IncrementalSource, SpaceFile, SpaceInfo, SpaceReadOptions } from '../../engine.js';
import { parseLsn } from '../format/lsn.js';
import { checkChunk, checkPage, isAllZero, pageLsn, RELSEG_BLOCKS, stampChecksums } from '../format/page.js';
import type { FileImages, PageChanges } from '../wal/page-changes.js';
import { isMapFork, relationBlockBase } from '../format/relation-path.js';
import { copyBounds } from './spaces.js';
import { checkPages, copySmallFile, entryWithoutData, readChunk, recheckPage, rereadFrom, streamHeader } from './copy-space.js';
import { copiedWhole, newSinceBase, pagesKnownToBase, unchangedOnDisk } from './incremental-rules.js';
import { isSmallFile, type SmallFileCache } from './small-file-cache.js';
import { encodeEntry, encodeTrailer } from '../format/space-stream.js';
import { trace } from '../../../common/trace.js';
import { PAGE_SIZE } from '../format/page-size.js';

/** pages read at a time by the scan method; also the most pages one entry lists */
const WINDOW_PAGES = 256;
const WHOLE_CHUNK = 1024 * 1024;
/** reads of scattered changed pages in flight at once per fill (the thread pool is sized for it) */
const READS_IN_FLIGHT = 16;
/** files of a part whose page reads may still be landing while the next file's start */
const FILES_LANDING = 4;

interface Ctx {
  readonly space: SpaceInfo;
  readonly sink: ByteSink;
  readonly opts: SpaceReadOptions & { incremental: IncrementalSource };
  readonly startLsn: bigint;
  readonly baseLsn: bigint;
  bytes: number;
  badPages: number;
  /** pages restored from WAL images instead of read */
  imagePages: number;
  /** read buffer for the whole copy, reused file after file (the sink copies what it is given) */
  readonly buf: Buffer;
}

export async function copySpaceIncremental(space: SpaceInfo, files: Iterable<SpaceFile>, sink: ByteSink, opts: SpaceReadOptions & { incremental: IncrementalSource }, smallFiles?: SmallFileCache): Promise<void> {
  await sink.write(streamHeader(space, opts, opts.incremental.baseLsn));
  const c: Ctx = { space, sink, opts, startLsn: parseLsn(opts.startLsn), baseLsn: parseLsn(opts.incremental.baseLsn), bytes: 0, badPages: 0, imagePages: 0, buf: Buffer.allocUnsafe(Math.max(WHOLE_CHUNK, WINDOW_PAGES * PAGE_SIZE)) };
  let count = 0;
  const tally = { unchanged: 0, small: 0, opened: 0 };
  // files whose listed pages are still being read (into the sink's buffers) while the next
  // file is opened and its reads start: each is closed once its reads have landed
  const landing: Promise<void>[] = [];
  try {
    await copyFiles();
    await settleAll(landing.splice(0));
  } finally {
    await Promise.allSettled(landing);
  }
  await sink.write(encodeTrailer({ files: count, bytes: c.bytes, badPages: c.badPages }));
  if (c.imagePages > 0) opts.onImagePages?.(c.imagePages);
  trace(`copy ${space.name} part ${opts.part}: ${count} files, ${tally.unchanged} unchanged since the base, ${tally.small} small read whole, ${tally.opened} opened, ${c.imagePages} pages from WAL images`);

  async function copyFiles(): Promise<void> {
    for (const f of files) {
      opts.signal?.throwIfAborted();
      if (f.type !== 'file') {
        await sink.write(entryWithoutData(f));
        count++;
        continue;
      }
      if (unchangedOnDisk(f, opts.incremental)) {
        // written last before the base read it: the base holds it as it is; older levels fill it in
        if ((f.range?.offset ?? 0) === 0) {
          const { size } = copyBounds(f, f.size, true, PAGE_SIZE);
          await sink.write(encodeEntry({ path: f.path, type: 'file', mode: f.mode & 0o7777, mtimeMs: f.mtimeMs, size, pages: [] }));
          opts.onFile?.(f.path, size);
          count++;
          tally.unchanged++;
        }
        continue;
      }
      if (smallFiles && isSmallFile(f) && copiedWhole(f, opts.incremental)) {
        const r = await copySmallFile(space, f, sink, c.startLsn, opts, smallFiles);
        if (r === 'dropped') continue;
        if (r !== 'grown') {
          c.badPages += r.bad;
          c.bytes += r.size;
          count++;
          tally.small++;
          continue;
        } // grown large since listed: copied below
      }
      let fh: fsp.FileHandle;
      try {
        fh = await fsp.open(path.join(space.root, f.path), 'r');
        tally.opened++;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // dropped since listed: WAL replay agrees
        throw err;
      }
      let reads: Promise<void> | undefined;
      try {
        const st = await fh.stat();
        const blockBase = relationBlockBase(f.path, RELSEG_BLOCKS);
        const { size, from, to } = copyBounds(f, st.size, blockBase !== undefined, PAGE_SIZE);
        const head = { path: f.path, type: 'file' as const, mode: st.mode & 0o7777, mtimeMs: st.mtimeMs, size };
        if (from === 0) opts.onFile?.(f.path, size);
        // free space and visibility maps change without new page LSNs: always whole (they are
        // small); so does a file the base lacks, whatever its pages' LSNs
        const pick = blockBase === undefined || isMapFork(f.path) || newSinceBase(f, opts.incremental) ? 'whole'
          : opts.incremental.method === 'wal' ? (opts.incremental.changes as PageChanges).pagesOf(space, f.path) : 'scan';
        const known = pagesKnownToBase(f, opts.incremental);
        if (pick === 'whole') await copyWhole(c, fh, head, from, to, f.range !== undefined, blockBase);
        else if (pick === 'scan') await copyScanned(c, fh, head, from, to, blockBase!, known);
        else reads = (await copyListed(c, fh, head, pick, from, to, blockBase!, known)).landed;
        count++;
      } finally {
        if (reads) {
          const open = fh;
          const closed = reads.finally(() => open.close());
          closed.catch(() => {}); // awaited below or at the end, after other files
          landing.push(closed);
        } else {
          await fh.close();
        }
      }
      // a few files at a time: their reads fill the thread pool, their descriptors stay few
      if (landing.length >= FILES_LANDING) await landing.shift();
    }
  }
}

/** Waits for every promise to settle, then throws the first failure. */
async function settleAll(all: readonly Promise<void>[]): Promise<void> {
  const failed = (await Promise.allSettled(all)).find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

type Head = { path: string; type: 'file'; mode: number; mtimeMs: number; size: number };

/** A file copied in full (or its range), as a level 0 does. */
async function copyWhole(c: Ctx, fh: fsp.FileHandle, head: Head, from: number, to: number, ranged: boolean, blockBase: number | undefined): Promise<void> {
  await c.sink.write(encodeEntry({ ...head, ...(ranged ? { offset: from, length: Math.max(0, to - from) } : {}) }));
  const buf = c.buf.subarray(0, WHOLE_CHUNK);
  for (let pos = from; pos < to;) {
    const n = Math.min(WHOLE_CHUNK, to - pos);
    await readChunk(fh, buf, pos, n);
    const chunk = buf.subarray(0, n);
    if (blockBase !== undefined) await checkRun(c, fh, chunk, pos, blockBase, head.path);
    await c.sink.write(chunk);
    pos += n;
    c.bytes += n;
    c.opts.onBytes(n);
  }
}

/**
 * Method wal: the listed blocks (within this part's range and the file's size), and every
 * block from `known` on (past what the base holds), read in runs. Returns once the reads
 * are under way: `landed` settles when they have landed (the file must stay open until
 * then), rejected if one failed.
 */
async function copyListed(c: Ctx, fh: fsp.FileHandle, head: Head, blocks: Uint32Array, from: number, to: number, blockBase: number, known: number): Promise<{ landed: Promise<void> }> {
  const lo = from / PAGE_SIZE;
  const hi = to / PAGE_SIZE;
  const past = Math.max(lo, Math.min(hi, known));
  const mine: number[] = [];
  for (const b of blocks) if (b >= lo && b < past) mine.push(b);
  for (let b = past; b < hi; b++) mine.push(b);
  // the file's tail: pages added after this backup started (or truncated and re-grown
  // since the base) are in no WAL range this level reads; walk back from the end while
  // pages are newer than the base or all zero (about one page read per unchanged file).
  // A full segment file (1 GB) grows no more: pages are added to the next one.
  if (to === head.size && head.size < RELSEG_BLOCKS * PAGE_SIZE) {
    const tail: number[] = [];
    const page = Buffer.allocUnsafe(PAGE_SIZE);
    // `mine` is ascending: walking back, the listed blocks come in descending order too
    let nextListed = mine.length - 1;
    for (let b = hi - 1; b >= lo; b--) {
      while (nextListed >= 0 && mine[nextListed]! > b) nextListed--;
      if (nextListed >= 0 && mine[nextListed] === b) continue;
      await readChunk(fh, page, b * PAGE_SIZE, PAGE_SIZE);
      if (!(pageLsn(page) >= c.baseLsn || isAllZero(page))) break;
      tail.push(b);
    }
    if (tail.length > 0) {
      mine.push(...tail);
      mine.sort((a, b) => a - b);
      for (let i = mine.length - 1; i > 0; i--) if (mine[i] === mine[i - 1]) mine.splice(i, 1);
    }
  }
  // a file with no change still gets its entry, in the part holding its start
  if (mine.length === 0) {
    if (from === 0) await c.sink.write(encodeEntry({ ...head, pages: [] }));
    return { landed: Promise.resolve() };
  }
  // an entry per window of pages; the pages are read straight into the sink's buffers,
  // several fills in flight (the next is read while one is compressed)
  const arriving: Promise<void>[] = [];
  try {
    // pages the WAL's full-page images restore (their blocks' last references) are not read
    const images = c.opts.incremental.method === 'wal' ? (c.opts.incremental.changes as PageChanges).imagesOf(c.space, head.path) : undefined;
    await pourListed(c, fh, head, mine, blockBase, arriving, images);
  } catch (err) {
    // reads still on their way land before the file is closed (they read by descriptor)
    await Promise.allSettled(arriving);
    throw err;
  }
  const landed = settleAll(arriving).then(() => c.opts.onBytes(to - from > 0 ? mine.length * PAGE_SIZE : 0));
  landed.catch(() => {}); // awaited by the caller, which may first finish another file
  return { landed };
}

async function pourListed(c: Ctx, fh: fsp.FileHandle, head: Head, mine: readonly number[], blockBase: number, arriving: Promise<void>[], images: FileImages | undefined): Promise<void> {
  for (let i = 0; i < mine.length; i += WINDOW_PAGES) {
    const list = mine.slice(i, i + WINDOW_PAGES);
    await c.sink.write(encodeEntry({ ...head, pages: list }));
    for (let done = 0; done < list.length;) {
      const at = done;
      const n = c.sink.pourAhead ? await c.sink.pourAhead((room) => {
        const take = Math.min(Math.floor(room.length / PAGE_SIZE), list.length - at);
        if (take === 0) return { bytes: 0, arrived: Promise.resolve() };
        const arrived = readListed(c, fh, list.slice(at, at + take), room.subarray(0, take * PAGE_SIZE), blockBase, head.path, images);
        arriving.push(arrived);
        return { bytes: take * PAGE_SIZE, arrived };
      }) : 0;
      // no room for a whole page in this buffer (or no pourAhead): the pages go through a buffer of ours
      const pages = n > 0 ? n / PAGE_SIZE : Math.min(list.length - at, WINDOW_PAGES);
      if (n === 0) {
        const buf = c.buf.subarray(0, pages * PAGE_SIZE);
        await readListed(c, fh, list.slice(at, at + pages), buf, blockBase, head.path, images);
        await c.sink.write(buf);
      }
      done += pages;
      c.bytes += pages * PAGE_SIZE;
    }
  }
}

/**
 * Reads the listed pages into `buf` and checks them: consecutive blocks together, several
 * runs at once (changed pages lie scattered, and one read at a time would wait out each
 * one's latency in turn), then all checked in one pass. A level 1 reads thousands of
 * scattered pages: per page, the main thread does one read call and no promise.
 */
async function readListed(c: Ctx, fh: fsp.FileHandle, list: readonly number[], buf: Buffer, blockBase: number, relPath: string, images?: FileImages): Promise<void> {
  const blocks = list.map((b) => blockBase + b);
  let filled: Uint8Array | undefined;
  if (images) {
    filled = new Uint8Array(list.length);
    let n = 0;
    for (let i = 0; i < list.length; i++) {
      const page = images.page(list[i]!);
      if (!page) continue;
      buf.set(page, i * PAGE_SIZE);
      filled[i] = 1;
      n++;
    }
    if (n > 0 && c.opts.checksums) stampChecksums(buf, blocks, filled);
    c.imagePages += n;
  }
  await readScattered(fh.fd, buf, list, READS_IN_FLIGHT, filled);
  for (const { index } of checkChunk(buf, blocks, `${c.startLsn}`, c.opts.checksums).bad) {
    const page = buf.subarray(index * PAGE_SIZE, (index + 1) * PAGE_SIZE);
    if (await recheckPage(rereadFrom(fh), page, list[index]! * PAGE_SIZE, blocks[index]!, c.startLsn, c.opts, c.space.name, relPath)) c.badPages++;
  }
}

/**
 * Reads block `list[i]` of the file into page i of `buf`, runs of consecutive blocks in one
 * read, at most `limit` reads at once, by Node's callback API; pages marked in `filled` are
 * there already. Settles only when no read is running (the descriptor may be closed next).
 * A file cut short while it is read leaves zeros where its pages were: the truncation is
 * in the WAL.
 */
export function readScattered(fd: number, buf: Buffer, list: readonly number[], limit: number, filled?: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    let next = 0;
    let running = 0;
    let failed: NodeJS.ErrnoException | undefined;
    const read = (at: number, length: number, position: number): void => {
      running++;
      fs.read(fd, buf, at, length, position, (err, n) => {
        running--;
        if (err) failed ??= err;
        else if (n === 0) buf.fill(0, at, at + length);
        else if (n < length) read(at + n, length - n, position + n);
        pump();
      });
    };
    const pump = (): void => {
      while (failed === undefined && running < limit && next < list.length) {
        if (filled?.[next]) { next++; continue; }
        let k = next + 1;
        while (k < list.length && list[k] === list[k - 1]! + 1 && !filled?.[k]) k++;
        read(next * PAGE_SIZE, (k - next) * PAGE_SIZE, list[next]! * PAGE_SIZE);
        next = k;
      }
      if (running === 0 && (failed !== undefined || next >= list.length)) {
        if (failed) reject(failed);
        else resolve();
      }
    };
    pump();
  });
}

/**
 * Method scan: every page is read; kept when it is past what the base holds (block
 * `known` on), when its LSN is at or after the base's start, when it is all zero (a page
 * the base may hold older content for) or when it fails its check (reported, and kept as read).
 */
async function copyScanned(c: Ctx, fh: fsp.FileHandle, head: Head, from: number, to: number, blockBase: number, known: number): Promise<void> {
  const buf = c.buf.subarray(0, WINDOW_PAGES * PAGE_SIZE);
  let entries = 0;
  for (let pos = from; pos < to;) {
    const n = Math.min(buf.length, to - pos);
    await readChunk(fh, buf, pos, n);
    const window = buf.subarray(0, n);
    await checkRun(c, fh, window, pos, blockBase, head.path);
    const pages: number[] = [];
    for (let p = 0; p < n; p += PAGE_SIZE) {
      const page = window.subarray(p, p + PAGE_SIZE);
      const block = (pos + p) / PAGE_SIZE;
      if (block >= known || pageLsn(page) >= c.baseLsn || isAllZero(page) || checkPage(page, blockBase + block, false) !== undefined) pages.push(block);
    }
    if (pages.length > 0) {
      await c.sink.write(encodeEntry({ ...head, pages }));
      for (const b of pages) await c.sink.write(window.subarray(b * PAGE_SIZE - pos, b * PAGE_SIZE - pos + PAGE_SIZE));
      c.bytes += pages.length * PAGE_SIZE;
      entries++;
    }
    pos += n;
    c.opts.onBytes(n);
  }
  if (entries === 0 && from === 0) await c.sink.write(encodeEntry({ ...head, pages: [] }));
}


/** Checks consecutive pages read at `fileOffset`; a failing page is re-read once, then reported. */
async function checkRun(c: Ctx, fh: fsp.FileHandle, run: Buffer, fileOffset: number, blockBase: number, relPath: string): Promise<void> {
  c.badPages += await checkPages(rereadFrom(fh), run, fileOffset, blockBase, c.startLsn, c.opts, c.space.name, relPath);
}
