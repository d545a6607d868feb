// Reads the files of a space (or one part of it) into a space stream, checking every
// relation page on the way (the archive scanner): header sanity and, on clusters with
// data checksums, the checksum. A page that fails is re-read once (it may have been
// caught mid-write); if it fails again it is reported and stored as read. Pages newer
// than the backup's start LSN are not judged: WAL replay rewrites them.

import fsp from 'node:fs/promises';
import path from 'node:path';
import type { SpaceFile, SpaceInfo, SpaceReadOptions } from '../engine.js';
import { parseLsn } from './lsn.js';
import { checkPage, checkShared, pageLsn, RELSEG_BLOCKS } from './page.js';
import { SlotPool, type Slot } from '../../common/io/slot-pool.js';
import { preferInThread, runTask } from '../../common/io/worker-pool.js';
import { relationBlockBase } from './spaces.js';
import { encodeEntry, encodeHeader, encodeTrailer, type FileEntry } from './space-stream.js';

const PAGE = 8192;
const CHUNK = 1024 * 1024;
const READ_AHEAD = 4;
const pageKernels = new URL('./page.js', import.meta.url);

/** The space stream, in chunks that are valid until the next one is asked for. */
export function readSpace(space: SpaceInfo, files: readonly SpaceFile[], opts: SpaceReadOptions): AsyncIterable<Buffer> {
  return generate(space, files, opts);
}

async function* generate(space: SpaceInfo, files: readonly SpaceFile[], opts: SpaceReadOptions): AsyncGenerator<Buffer> {
  const startLsn = parseLsn(opts.startLsn);
  yield encodeHeader({
    space: space.name, server: opts.server, systemId: opts.systemId, level: opts.level, part: opts.part, parts: opts.parts,
    startLsn: opts.startLsn, pageSize: PAGE, created: new Date().toISOString(),
  });
  let count = 0;
  let bytes = 0;
  let badPages = 0;
  // read buffers in shared memory, reused: the workers check pages in place
  const slots = new SlotPool(CHUNK, READ_AHEAD + 1);
  let lent: Slot | undefined;
  for (const f of files) {
    opts.signal?.throwIfAborted();
    if (f.type !== 'file') {
      yield encodeEntry({ path: f.path, type: f.type, mode: f.mode, mtimeMs: f.mtimeMs, size: 0, ...(f.target ? { target: f.target } : {}) });
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
      const entry: FileEntry = {
        path: f.path, type: 'file', mode: st.mode & 0o7777, mtimeMs: st.mtimeMs, size,
        ...(f.range ? { offset: from, length: Math.max(0, to - from) } : {}),
      };
      yield encodeEntry(entry);
      count++;
      // read ahead and check pages on the worker pool, a few chunks deep, yielding in order
      const ahead: Promise<{ slot: Slot; length: number; bad: number }>[] = [];
      let next = from;
      const launch = async () => {
        const off = next;
        const want = Math.min(CHUNK, to - off);
        next += want;
        const slot = await slots.acquire();
        const p = readChunk(fh, slot.view, off, want).then(async () => ({
          slot, length: want,
          bad: blockBase === undefined ? 0 : await checkPages(fh, slot, want, off, blockBase, startLsn, opts, space.name, f.path),
        }));
        p.catch(() => {});
        ahead.push(p);
      };
      if (lent) { slots.release(lent); lent = undefined; }
      while (next < to && ahead.length < READ_AHEAD) await launch();
      while (ahead.length > 0) {
        const { slot, length, bad } = await ahead.shift()!;
        if (lent) { slots.release(lent); lent = undefined; }
        if (next < to) await launch();
        badPages += bad;
        bytes += length;
        opts.onBytes(length);
        lent = slot;
        yield slot.view.subarray(0, length);
      }
    } finally {
      await fh.close();
    }
  }
  yield encodeTrailer({ files: count, bytes, badPages });
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

/** Checks a chunk's pages in place (on the worker pool when it runs), re-reading a failed page once. */
async function checkPages(fh: fsp.FileHandle, slot: Slot, length: number, fileOffset: number, blockBase: number, startLsn: bigint,
  opts: SpaceReadOptions, space: string, relPath: string): Promise<number> {
  const firstBlock = blockBase + fileOffset / PAGE;
  const failed = preferInThread(length)
    ? checkShared(slot.memory, length, firstBlock, `${startLsn}`, opts.checksums)
    : await runTask<{ index: number; problem: string }[]>(pageKernels, 'checkShared', [slot.memory, length, firstBlock, `${startLsn}`, opts.checksums]);
  let bad = 0;
  for (const { index } of failed) {
    const p = index * PAGE;
    const block = firstBlock + index;
    // re-read once: it may have been caught half-written
    const again = Buffer.allocUnsafe(PAGE);
    const { bytesRead } = await fh.read(again, 0, PAGE, fileOffset + p);
    if (bytesRead !== PAGE) continue; // truncated meanwhile: replay handles it
    again.copy(slot.view, p);
    if (pageLsn(again) >= startLsn) continue;
    const problem = checkPage(again, block, opts.checksums);
    if (problem === undefined) continue;
    opts.onBadPage({ space, path: relPath, block, problem: problem === 'checksum' ? 'checksum mismatch' : 'invalid page header' });
    bad++;
  }
  return bad;
}
