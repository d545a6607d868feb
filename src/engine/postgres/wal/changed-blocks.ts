// The entry point for a page-level incremental backup: the blocks changed between two LSNs,
// from WAL segment files (or any source of whole segments) read in order, one segment in
// memory at a time with the next one read ahead. Reads WAL only; never writes anything.

import fs from 'node:fs';
import path from 'node:path';
import { fail } from '../../../common/errors.js';
import { parseWalFileName, walFilesBetween, walSegmentName, type Lsn } from '../format/lsn.js';
import { BlockRefCollector, type BlockRefOptions, type WalChanges } from './block-ref-collector.js';
import { WAL } from '../format/wal-format.js';

export interface WalSegmentInput {
  readonly data: Uint8Array;
  /** the segment number, from the file name; else read from its first page header */
  readonly segno?: number;
}

/**
 * Blocks changed by the records that start in [startLsn, endLsn), from segments given in
 * order (the one holding startLsn first). A gap, a bad record or the end of the WAL before
 * endLsn gives `complete: false` with `stop` saying where and why: back up in full then.
 */
export async function collectChangedBlocks(
  segments: AsyncIterable<WalSegmentInput> | Iterable<WalSegmentInput>,
  opts: BlockRefOptions,
): Promise<WalChanges> {
  const c = new BlockRefCollector(opts);
  for await (const s of segments) {
    c.push(s.data, s.segno);
    if (c.done) break; // leaving the loop closes the source: no more segments are read
  }
  return c.finish();
}

/** `collectChangedBlocks` over segment files, e.g. `walFilesBetween(...)` joined to a directory. */
export function changedBlocksFromFiles(files: readonly string[], opts: BlockRefOptions): Promise<WalChanges> {
  return collectChangedBlocks(readSegmentFiles(files), opts);
}

/** The files of `dir` holding [startLsn, endLsn] on `timeline`, in order (whether or not they exist). */
export function segmentPaths(dir: string, timeline: number, startLsn: Lsn, endLsn: Lsn, segSize: number): string[] {
  return walFilesBetween(timeline, startLsn, endLsn, segSize).map((name) => path.join(dir, name));
}

type Opened = { fh: fs.promises.FileHandle; buf: Buffer; file: string } | { missing: true };

/**
 * Reads segment files one after the other: the next file's read is issued before the
 * current one is handed over, so the disk (or page cache copy) works while the caller
 * parses. Two buffers in turn: a yielded buffer is overwritten two steps later. A missing
 * file is skipped (the reader then reports the gap); other read errors are thrown.
 */
export async function* readSegmentFiles(files: readonly string[]): AsyncGenerator<WalSegmentInput> {
  let spare: Buffer | undefined;
  let segSize = 0;
  let reading = files.length > 0 ? startRead(await open(files[0]!, undefined)) : undefined;
  reading?.catch(() => {}); // awaited below; this only keeps an early failure from counting as unhandled
  for (let i = 0; i < files.length; i++) {
    const buf = await reading!;
    reading = i + 1 < files.length ? startRead(await open(files[i + 1]!, spare)) : undefined;
    reading?.catch(() => {});
    if (!buf) continue;
    // xlp_info has XLP_LONG_HEADER: xlp_seg_size tells how to read the file name
    if (buf.length >= WAL.LONG_PAGE_HEADER && buf.readUInt16LE(2) & WAL.XLP_LONG_HEADER)
      segSize = buf.readUInt32LE(32) || segSize;
    const named = segSize > 0 ? parseWalFileName(walSegmentName(path.basename(files[i]!)), segSize) : undefined;
    yield named ? { data: buf, segno: Number(named.segno) } : { data: buf };
    spare = buf;
  }
}

async function open(file: string, reuse: Buffer | undefined): Promise<Opened> {
  let fh: fs.promises.FileHandle;
  try {
    fh = await fs.promises.open(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { missing: true };
    return ioError(file, err);
  }
  try {
    const { size } = await fh.stat();
    return { fh, buf: reuse && reuse.length === size ? reuse : Buffer.allocUnsafe(size), file };
  } catch (err) {
    await fh.close();
    return ioError(file, err);
  }
}

/** Issues the read at once (the first fh.read goes to the thread pool on call); undefined for a missing file. */
async function startRead(o: Opened): Promise<Buffer | undefined> {
  if ('missing' in o) return undefined;
  const { fh, buf, file } = o;
  try {
    let off = 0;
    while (off < buf.length) {
      const { bytesRead } = await fh.read(buf, off, buf.length - off, off);
      if (bytesRead === 0) break;
      off += bytesRead;
    }
    return off === buf.length ? buf : buf.subarray(0, off);
  } catch (err) {
    return ioError(file, err);
  } finally {
    await fh.close();
  }
}

function ioError(file: string, err: unknown): never {
  fail('IO', `cannot read WAL segment ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
}
