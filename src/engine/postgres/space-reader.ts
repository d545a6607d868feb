// Reads the files of a space (or one part of it) into a space stream, checking every
// relation page on the way (the archive scanner): header sanity and, on clusters with
// data checksums, the checksum. A page that fails is re-read once (it may have been
// caught mid-write); if it fails again it is reported and stored as read. Pages newer
// than the backup's start LSN are not judged: WAL replay rewrites them.

import fsp from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { SpaceFile, SpaceInfo, SpaceReadOptions } from '../engine.js';
import { parseLsn } from './lsn.js';
import { checkChunk, checkPage, pageLsn, RELSEG_BLOCKS } from './page.js';
import { preferInThread, runTask } from '../../common/io/worker-pool.js';
import { relationBlockBase } from './spaces.js';
import { encodeEntry, encodeHeader, encodeTrailer, type FileEntry } from './space-stream.js';

const PAGE = 8192;
const CHUNK = 1024 * 1024;
const READ_AHEAD = 4;
const pageKernels = new URL('./page.js', import.meta.url);

export function readSpace(space: SpaceInfo, files: readonly SpaceFile[], opts: SpaceReadOptions): Readable {
  return Readable.from(generate(space, files, opts), { objectMode: false, highWaterMark: CHUNK });
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
      const ahead: Promise<{ buf: Buffer; off: number; bad: number }>[] = [];
      let next = from;
      const launch = () => {
        const off = next;
        const want = Math.min(CHUNK, to - off);
        next += want;
        const p = readChunk(fh, off, want).then(async (buf) => (blockBase === undefined
          ? { buf, off, bad: 0 }
          : { off, ...(await checkPages(fh, buf, off, blockBase, startLsn, opts, space.name, f.path)) }));
        p.catch(() => {});
        ahead.push(p);
      };
      while (next < to && ahead.length < READ_AHEAD) launch();
      while (ahead.length > 0) {
        const { buf, bad } = await ahead.shift()!;
        if (next < to) launch();
        badPages += bad;
        bytes += buf.length;
        opts.onBytes(buf.length);
        yield buf;
      }
    } finally {
      await fh.close();
    }
  }
  yield encodeTrailer({ files: count, bytes, badPages });
}

async function readChunk(fh: fsp.FileHandle, off: number, want: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafeSlow(want);
  let got = 0;
  while (got < want) {
    const { bytesRead } = await fh.read(buf, got, want - got, off + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  if (got < want) buf.fill(0, got); // truncated while we read: the truncation is in the WAL
  return buf;
}

/** Checks a chunk's pages (on the worker pool when it runs), re-reading a failed page once. */
async function checkPages(fh: fsp.FileHandle, buf: Buffer, fileOffset: number, blockBase: number, startLsn: bigint,
  opts: SpaceReadOptions, space: string, relPath: string): Promise<{ buf: Buffer; bad: number }> {
  const firstBlock = blockBase + fileOffset / PAGE;
  let result: { chunk: Uint8Array; bad: { index: number; problem: string }[] };
  if (preferInThread(buf.length)) {
    result = checkChunk(buf, firstBlock, `${startLsn}`, opts.checksums);
  } else {
    // the buffer is moved to a worker and comes back with the verdict
    result = await runTask(pageKernels, 'checkChunk', [buf, firstBlock, `${startLsn}`, opts.checksums]);
    buf = Buffer.from(result.chunk.buffer, result.chunk.byteOffset, result.chunk.byteLength);
  }
  let bad = 0;
  for (const { index } of result.bad) {
    const p = index * PAGE;
    const block = firstBlock + index;
    // re-read once: it may have been caught half-written
    const again = Buffer.allocUnsafe(PAGE);
    const { bytesRead } = await fh.read(again, 0, PAGE, fileOffset + p);
    if (bytesRead !== PAGE) continue; // truncated meanwhile: replay handles it
    again.copy(buf, p);
    if (pageLsn(again) >= startLsn) continue;
    const problem = checkPage(again, block, opts.checksums);
    if (problem === undefined) continue;
    opts.onBadPage({ space, path: relPath, block, problem: problem === 'checksum' ? 'checksum mismatch' : 'invalid page header' });
    bad++;
  }
  return { buf, bad };
}
