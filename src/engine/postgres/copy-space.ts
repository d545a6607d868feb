// Writes the files of a space (or one part of it) as a space stream, checking every
// relation page on the way (the archive scanner): header sanity and, on clusters with
// data checksums, the checksum. A page that fails is re-read once (it may have been
// caught mid-write); if it fails again it is reported and stored as read. Pages newer
// than the backup's start LSN are not judged: WAL replay rewrites them.

import fsp from 'node:fs/promises';
import path from 'node:path';
import type { ByteSink, SpaceFile, SpaceInfo, SpaceReadOptions } from '../engine.js';
import { parseLsn } from './lsn.js';
import { checkChunk, checkPage, pageLsn, RELSEG_BLOCKS } from './page.js';
import { relationBlockBase } from './spaces.js';
import { encodeEntry, encodeHeader, encodeTrailer } from './space-stream.js';

const PAGE = 8192;

/**
 * Writes the space stream into `sink`. File data is read straight into the sink's buffers
 * and its pages checked there (on the worker pool when it runs): no copy on this thread.
 */
export async function copySpace(space: SpaceInfo, files: readonly SpaceFile[], sink: ByteSink, opts: SpaceReadOptions): Promise<void> {
  const startLsn = parseLsn(opts.startLsn);
  await sink.write(encodeHeader({
    space: space.name, server: opts.server, systemId: opts.systemId, level: opts.level, part: opts.part, parts: opts.parts,
    startLsn: opts.startLsn, pageSize: PAGE, created: new Date().toISOString(),
  }));
  let count = 0;
  let bytes = 0;
  let badPages = 0;
  for (const f of files) {
    opts.signal?.throwIfAborted();
    if (f.type !== 'file') {
      await sink.write(encodeEntry({ path: f.path, type: f.type, mode: f.mode, mtimeMs: f.mtimeMs, size: 0, ...(f.target ? { target: f.target } : {}) }));
      count++;
      continue;
    }
    let fh: fsp.FileHandle;
    try {
      fh = await fsp.open(path.join(space.root, f.path), 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // dropped since listed: WAL replay agrees
      throw err;
    }
    try {
      const st = await fh.stat();
      const blockBase = relationBlockBase(f.path, RELSEG_BLOCKS);
      // a relation is copied in whole pages; a concurrent extension is in the WAL
      const whole = f.range ? f.size : st.size;
      const size = blockBase === undefined ? whole : whole - (whole % PAGE);
      const from = f.range?.offset ?? 0;
      const to = f.range ? Math.min(size, f.range.offset + f.range.length) : size;
      await sink.write(encodeEntry({
        path: f.path, type: 'file', mode: st.mode & 0o7777, mtimeMs: st.mtimeMs, size,
        ...(f.range ? { offset: from, length: Math.max(0, to - from) } : {}),
      }));
      count++;
      for (let pos = from; pos < to;) {
        const n = await sink.pour(async (room) => {
          let want = Math.min(room.length, to - pos);
          if (blockBase !== undefined) {
            if (want < PAGE) return 0; // the buffer ends inside a page: that page goes whole, below
            want -= want % PAGE;
          }
          await readChunk(fh, room, pos, want);
          if (blockBase !== undefined) badPages += await checkPages(fh, room.subarray(0, want), pos, blockBase, startLsn, opts, space.name, f.path);
          return want;
        });
        if (n === 0) {
          // a page that straddles two buffers is read and checked on its own, then written
          const page = Buffer.allocUnsafe(PAGE);
          await readChunk(fh, page, pos, PAGE);
          badPages += await checkPages(fh, page, pos, blockBase!, startLsn, opts, space.name, f.path);
          await sink.write(page);
          pos += PAGE;
          bytes += PAGE;
          opts.onBytes(PAGE);
          continue;
        }
        pos += n;
        bytes += n;
        opts.onBytes(n);
      }
    } finally {
      await fh.close();
    }
  }
  await sink.write(encodeTrailer({ files: count, bytes, badPages }));
}

async function readChunk(fh: fsp.FileHandle, into: Buffer, off: number, want: number): Promise<void> {
  let got = 0;
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
async function checkPages(fh: fsp.FileHandle, chunk: Buffer, fileOffset: number, blockBase: number, startLsn: bigint,
  opts: SpaceReadOptions, space: string, relPath: string): Promise<number> {
  const firstBlock = blockBase + fileOffset / PAGE;
  const failed = checkChunk(chunk, firstBlock, `${startLsn}`, opts.checksums).bad;
  let bad = 0;
  for (const { index } of failed) {
    const p = index * PAGE;
    const block = firstBlock + index;
    // re-read once: it may have been caught half-written
    const again = Buffer.allocUnsafe(PAGE);
    const { bytesRead } = await fh.read(again, 0, PAGE, fileOffset + p);
    if (bytesRead !== PAGE) continue; // truncated meanwhile: replay handles it
    again.copy(chunk, p);
    if (pageLsn(again) >= startLsn) continue;
    const problem = checkPage(again, block, opts.checksums);
    if (problem === undefined) continue;
    opts.onBadPage({ space, path: relPath, block, problem: problem === 'checksum' ? 'checksum mismatch' : 'invalid page header' });
    bad++;
  }
  return bad;
}
