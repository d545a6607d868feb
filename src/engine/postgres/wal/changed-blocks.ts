// The entry point for a page-level incremental backup: the blocks changed between two LSNs,
// from WAL segment files (or any source of whole segments) read in order, one segment in
// memory at a time with the next one read ahead. Reads WAL only; never writes anything.

import fs from 'node:fs';
import path from 'node:path';
import { parseWalFileName, type Lsn } from '../lsn.js';
import { BlockRefCollector, type BlockRefOptions, type WalChanges } from './block-refs.js';
import { WAL } from './wal-format.js';

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
export async function collectChangedBlocks(segments: AsyncIterable<WalSegmentInput> | Iterable<WalSegmentInput>, opts: BlockRefOptions): Promise<WalChanges> {
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
  const out: string[] = [];
  const size = BigInt(segSize);
  const perLog = 0x100000000n / size;
  const hex8 = (n: bigint | number) => n.toString(16).toUpperCase().padStart(8, '0');
  for (let s = startLsn / size; s <= endLsn / size; s++) out.push(path.join(dir, `${hex8(timeline)}${hex8(s / perLog)}${hex8(s % perLog)}`));
  return out;
}

type ReadResult = { buf: Buffer } | { missing: true } | { error: unknown };

/**
 * Reads segment files one after the other, the next one while the caller works on the
 * current one; two buffers in turn. A missing file is skipped (the reader then reports the
 * gap); other read errors are thrown. A yielded buffer is reused two steps later.
 */
export async function* readSegmentFiles(files: readonly string[]): AsyncGenerator<WalSegmentInput> {
  let spare: Buffer | undefined;
  let segSize = 0;
  let pending: Promise<ReadResult> | undefined = files.length > 0 ? readWhole(files[0]!, undefined) : undefined;
  for (let i = 0; i < files.length; i++) {
    const r = await pending!;
    pending = i + 1 < files.length ? readWhole(files[i + 1]!, spare) : undefined;
    if ('error' in r) throw r.error;
    if ('missing' in r) continue;
    const buf = r.buf;
    // xlp_info has XLP_LONG_HEADER: xlp_seg_size tells how to read the file name
    if (buf.length >= WAL.LONG_PAGE_HEADER && (buf.readUInt16LE(2) & WAL.XLP_LONG_HEADER)) segSize = buf.readUInt32LE(32) || segSize;
    const named = segSize > 0 ? parseWalFileName(path.basename(files[i]!).slice(0, 24), segSize) : undefined;
    yield named ? { data: buf, segno: Number(named.segno) } : { data: buf };
    spare = buf;
  }
}

async function readWhole(file: string, reuse: Buffer | undefined): Promise<ReadResult> {
  let fh: fs.promises.FileHandle;
  try {
    fh = await fs.promises.open(file, 'r');
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? { missing: true } : { error: err };
  }
  try {
    const { size } = await fh.stat();
    const buf = reuse && reuse.length === size ? reuse : Buffer.allocUnsafe(size);
    let off = 0;
    while (off < size) {
      const { bytesRead } = await fh.read(buf, off, size - off, off);
      if (bytesRead === 0) break;
      off += bytesRead;
    }
    return { buf: off === size ? buf : buf.subarray(0, off) };
  } catch (err) {
    return { error: err };
  } finally {
    await fh.close();
  }
}
