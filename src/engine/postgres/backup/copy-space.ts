// Writes the files of a space (or one part of it) as a space stream, checking every
// relation page on the way (the archive scanner): header sanity and, on clusters with
// data checksums, the checksum. A page that fails is re-read once (it may have been
// caught mid-write); if it fails again it is reported and stored as read. Pages newer
// than the backup's start LSN are not judged: WAL replay rewrites them. Large relation
// files are read with O_DIRECT straight into the sink's page-aligned buffers: no copy out
// of the page cache (the kernel's most expensive part of the read) and no cache pollution.

import fsp from 'node:fs/promises';
import path from 'node:path';
import { openDirect } from '../../../common/io/direct-file.js';
import type { ByteSink, SpaceFile, SpaceInfo, SpaceReadOptions } from '../../engine.js';
import { parseLsn } from '../format/lsn.js';
import { checkChunk, checkPage, pageLsn, pageProblemText, RELSEG_BLOCKS } from '../format/page.js';
import { relationBlockBase } from '../format/relation-path.js';
import { copyBounds } from './spaces.js';
import { encodeEntry, encodeHeader, encodeTrailer, type FileEntry } from '../format/space-stream.js';
import { isSmallFile, readSmallFile, type SmallFileCache } from './small-file-cache.js';
import { isoTime } from '../../../common/units.js';
import { PAGE_SIZE } from '../format/page-size.js';

const mod = (a: number, m: number): number => ((a % m) + m) % m;

/** relation files (or ranges) at least this large are read with O_DIRECT when the sink allows */
const DIRECT_MIN = 1024 * 1024;
/** the memory alignment direct reads need (the largest logical block size in use) */
const DIRECT_ALIGN = 4096;

/**
 * Writes the space stream into `sink`. File data is read straight into the sink's buffers
 * and its pages checked there (on the worker pool when it runs): no copy on this thread.
 */
export async function copySpace(space: SpaceInfo, files: Iterable<SpaceFile>, sink: ByteSink, opts: SpaceReadOptions, smallFiles?: SmallFileCache): Promise<void> {
  const startLsn = parseLsn(opts.startLsn);
  await sink.write(streamHeader(space, opts));
  let count = 0;
  let bytes = 0;
  let badPages = 0;
  /** direct reads in flight into the sink's buffers (pourAhead) */
  const reading: Promise<void>[] = [];
  for (const f of files) {
    opts.signal?.throwIfAborted();
    if (isSmallFile(f)) {
      const r = await copySmallFile(space, f, sink, startLsn, opts, smallFiles);
      if (r === 'dropped') continue;
      if (r !== 'grown') {
        badPages += r.bad;
        bytes += r.size;
        count++;
        continue;
      } // grown large since listed: streamed like the large ones, below
    }
    if (f.type !== 'file') {
      await sink.write(entryWithoutData(f));
      count++;
      continue;
    }
    let fh: fsp.FileHandle;
    let direct: fsp.FileHandle | undefined;
    try {
      fh = await fsp.open(path.join(space.root, f.path), 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // dropped since listed: WAL replay agrees
      throw err;
    }
    try {
      const st = await fh.stat();
      const blockBase = relationBlockBase(f.path, RELSEG_BLOCKS);
      const { size, from, to } = copyBounds(f, st.size, blockBase !== undefined, PAGE_SIZE);
      if (from === 0) opts.onFile?.(f.path, size);
      const entry: FileEntry = {
        path: f.path, type: 'file', mode: st.mode & 0o7777, mtimeMs: st.mtimeMs, size,
        ...(f.range ? { offset: from, length: Math.max(0, to - from) } : {}),
      };
      // the entry is padded so that the file's pages start page-aligned in the sink's buffer
      const gap = blockBase !== undefined && to - from >= DIRECT_MIN ? sink.gapToAligned?.(PAGE_SIZE) : undefined;
      if (gap !== undefined) direct = await openDirect(path.join(space.root, f.path), 'read');
      const natural = encodeEntry(entry);
      await sink.write(direct && gap !== undefined ? encodeEntry(entry, natural.length + mod(gap - natural.length, PAGE_SIZE)) : natural);
      count++;
      for (let pos = from; pos < to;) {
        if (direct && sink.pourAhead) {
          // direct reads go ahead: the next one starts while this one is still on its way
          const at = pos;
          const n = await sink.pourAhead((room) => {
            const want = Math.min(room.length, to - at) - (Math.min(room.length, to - at) % PAGE_SIZE);
            if (want === 0 || room.byteOffset % DIRECT_ALIGN !== 0 || at % DIRECT_ALIGN !== 0) return { bytes: 0, arrived: Promise.resolve() };
            const arrived = (async () => {
              await readChunk(fh, room, at, want, direct);
              badPages += await checkPages(rereadFrom(fh), room.subarray(0, want), at, blockBase!, startLsn, opts, space.name, f.path);
            })();
            reading.push(arrived);
            return { bytes: want, arrived };
          });
          if (n > 0) {
            pos += n;
            bytes += n;
            opts.onBytes(n);
            continue;
          }
        }
        const n = await sink.pour(async (room) => {
          let want = Math.min(room.length, to - pos);
          if (blockBase !== undefined) {
            if (want < PAGE_SIZE) return 0; // the buffer ends inside a page: that page goes whole, below
            want -= want % PAGE_SIZE;
          }
          const aligned = direct !== undefined && room.byteOffset % DIRECT_ALIGN === 0 && pos % DIRECT_ALIGN === 0;
          await readChunk(fh, room, pos, want, aligned ? direct : undefined);
          if (blockBase !== undefined) badPages += await checkPages(rereadFrom(fh), room.subarray(0, want), pos, blockBase, startLsn, opts, space.name, f.path);
          return want;
        });
        if (n === 0) {
          // a page that straddles two buffers is read and checked on its own, then written
          const page = Buffer.allocUnsafe(PAGE_SIZE);
          await readChunk(fh, page, pos, PAGE_SIZE);
          badPages += await checkPages(rereadFrom(fh), page, pos, blockBase!, startLsn, opts, space.name, f.path);
          await sink.write(page);
          pos += PAGE_SIZE;
          bytes += PAGE_SIZE;
          opts.onBytes(PAGE_SIZE);
          continue;
        }
        pos += n;
        bytes += n;
        opts.onBytes(n);
      }
    } finally {
      // reads still on their way land before the file is closed (a failed one fails the sink too)
      await Promise.allSettled(reading.splice(0));
      await Promise.all([fh.close(), direct?.close()]);
    }
  }
  await sink.write(encodeTrailer({ files: count, bytes, badPages }));
}

/** The stream header of a copy of `space`; a level 1 or 2 names its base's start. */
export function streamHeader(space: SpaceInfo, opts: SpaceReadOptions, baseLsn?: string): Buffer {
  return encodeHeader({
    space: space.name, server: opts.server, systemId: opts.systemId, level: opts.level, part: opts.part, parts: opts.parts,
    startLsn: opts.startLsn, pageSize: PAGE_SIZE, created: isoTime(), ...(baseLsn !== undefined ? { baseLsn } : {}),
  });
}

/** The entry of a directory or a symbolic link: no bytes follow it. */
export function entryWithoutData(f: SpaceFile): Buffer {
  return encodeEntry({ path: f.path, type: f.type, mode: f.mode, mtimeMs: f.mtimeMs, size: 0, ...(f.target ? { target: f.target } : {}) });
}

/**
 * A small file into the stream, read whole (ahead while other files were copied, or now):
 * the same entry as any file copied whole. 'dropped' when it is gone since listed (WAL
 * replay agrees), 'grown' when it is no longer small (the caller streams it).
 */
export async function copySmallFile(space: SpaceInfo, f: SpaceFile, sink: ByteSink, startLsn: bigint,
  opts: SpaceReadOptions, cache: SmallFileCache | undefined): Promise<{ bad: number; size: number } | 'dropped' | 'grown'> {
  const file = path.join(space.root, f.path);
  const small = await (cache?.take(f.path) ?? readSmallFile(file));
  if (!small) return 'dropped';
  if (small === 'grown') return small;
  const { st, data } = small;
  const blockBase = relationBlockBase(f.path, RELSEG_BLOCKS);
  // a relation is copied in whole pages; a concurrent extension is in the WAL
  const { size } = copyBounds(f, data.length, blockBase !== undefined, PAGE_SIZE);
  await sink.write(encodeEntry({ path: f.path, type: 'file', mode: st.mode & 0o7777, mtimeMs: st.mtimeMs, size }));
  opts.onFile?.(f.path, size);
  const body = data.subarray(0, size);
  const reread = async (into: Buffer, offset: number): Promise<number> => {
    const fh = await fsp.open(file, 'r');
    try {
      return (await fh.read(into, 0, into.length, offset)).bytesRead;
    } finally {
      await fh.close();
    }
  };
  const bad = blockBase === undefined || size === 0 ? 0 : await checkPages(reread, body, 0, blockBase, startLsn, opts, space.name, f.path);
  await sink.write(body);
  opts.onBytes(size);
  return { bad, size };
}

/** Reads a page again into `into` from `offset` of its file; how many bytes came. */
export type Reread = (into: Buffer, offset: number) => Promise<number>;

export const rereadFrom = (fh: fsp.FileHandle): Reread => async (into, offset) => (await fh.read(into, 0, into.length, offset)).bytesRead;

/**
 * Reads `want` bytes at `off` into `into`. With `direct` (all aligned), one direct read does
 * it; anything it leaves (a file truncated meanwhile, a refused read) is read buffered.
 */
export async function readChunk(fh: fsp.FileHandle, into: Buffer, off: number, want: number, direct?: fsp.FileHandle): Promise<void> {
  let got = 0;
  if (direct) {
    try {
      got = (await direct.read(into, 0, want, off)).bytesRead;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EINVAL') throw err;
    }
  }
  while (got < want) {
    const { bytesRead } = await fh.read(into, got, want - got, off + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  if (got < want) into.fill(0, got, want); // truncated while we read: the truncation is in the WAL
}

/**
 * Checks the pages of `chunk` in place, re-reading a failed page once. On this thread: with
 * SIMD checksums (5 GB/s) a worker round trip costs more latency than the check itself.
 */
export async function checkPages(reread: Reread, chunk: Buffer, fileOffset: number, blockBase: number,
  startLsn: bigint, opts: SpaceReadOptions, space: string, relPath: string): Promise<number> {
  const firstBlock = blockBase + fileOffset / PAGE_SIZE;
  const failed = checkChunk(chunk, firstBlock, `${startLsn}`, opts.checksums).bad;
  let bad = 0;
  for (const { index } of failed) {
    const p = index * PAGE_SIZE;
    if (await recheckPage(reread, chunk.subarray(p, p + PAGE_SIZE), fileOffset + p, firstBlock + index, startLsn, opts, space, relPath)) bad++;
  }
  return bad;
}

/**
 * A page that failed its check, read again once into `page` (it may have been caught
 * half-written) and reported if it fails again: true when it did.
 */
export async function recheckPage(reread: Reread, page: Buffer, fileOffset: number, block: number,
  startLsn: bigint, opts: SpaceReadOptions, space: string, relPath: string): Promise<boolean> {
  const again = Buffer.allocUnsafe(PAGE_SIZE);
  if (await reread(again, fileOffset) !== PAGE_SIZE) return false; // truncated meanwhile: replay handles it
  again.copy(page);
  if (pageLsn(again) >= startLsn) return false;
  const problem = checkPage(again, block, opts.checksums);
  if (problem === undefined) return false;
  opts.onBadPage({ space, path: relPath, block, problem: pageProblemText(problem) });
  return true;
}
