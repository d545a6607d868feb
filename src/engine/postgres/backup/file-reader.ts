// How a copy reads the files of a space, for every level: a file opened once with what
// its copy needs to know (its size now, the bounds of its piece, its first block), ranges
// read whole (one O_DIRECT read where everything is aligned, buffered otherwise), page
// lists read scattered by Node's callback API, small files taken from the read-ahead
// cache. A file cut short while it is read leaves zeros: the truncation is in the WAL.
// Never writes to a file, and never keeps one open past its copy's reads.

import type { Stats } from 'node:fs';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { SpaceFile, SpaceInfo } from '../../engine.js';
import { RELSEG_BLOCKS } from '../format/page.js';
import { relationBlockBase } from '../format/relation-path.js';
import { PAGE_SIZE } from '../format/page-size.js';
import { copyBounds } from './spaces.js';
import { openIfThere, readSmallFile, type SmallFile, type SmallFileCache } from './small-file-cache.js';
import type { Reread } from './page-check.js';

/** A regular file of a space, opened for its copy. */
export interface OpenedFile {
  readonly f: SpaceFile;
  /** its path on disk */
  readonly file: string;
  readonly fh: fsp.FileHandle;
  readonly st: Stats;
  /** its first block in its relation; undefined: not a relation file (copied as bytes) */
  readonly blockBase: number | undefined;
  /** its length as restored (whole pages for a relation), and the piece [from, to) this copy holds */
  readonly size: number;
  readonly from: number;
  readonly to: number;
  readonly reread: Reread;
}

/** The start of every entry of an opened file: as it is now. */
export const entryHead = (o: OpenedFile) => ({
  path: o.f.path,
  type: 'file' as const,
  mode: o.st.mode & 0o7777,
  mtimeMs: o.st.mtimeMs,
  size: o.size,
});

/** `f` opened; undefined when it is gone (dropped since listed: WAL replay agrees). */
export async function openSpaceFile(space: SpaceInfo, f: SpaceFile): Promise<OpenedFile | undefined> {
  const file = path.join(space.root, f.path);
  const fh = await openIfThere(file);
  if (!fh) return undefined;
  try {
    const st = await fh.stat();
    const blockBase = relationBlockBase(f.path, RELSEG_BLOCKS);
    const { size, from, to } = copyBounds(f, st.size, blockBase !== undefined, PAGE_SIZE);
    return { f, file, fh, st, blockBase, size, from, to, reread: rereadFrom(fh) };
  } catch (err) {
    await fh.close();
    throw err;
  }
}

export const rereadFrom =
  (fh: fsp.FileHandle): Reread =>
  async (into, offset) =>
    (await fh.read(into, 0, into.length, offset)).bytesRead;

/**
 * Reads `want` bytes at `off` into `into`. With `direct` (all aligned), one direct read does
 * it; anything it leaves (a file truncated meanwhile, a refused read) is read buffered.
 */
export async function readChunk(
  fh: fsp.FileHandle,
  into: Buffer,
  off: number,
  want: number,
  direct?: fsp.FileHandle,
): Promise<void> {
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
 * Reads block `list[i]` of the file into page i of `buf`, runs of consecutive blocks in one
 * read, at most `limit` reads at once, by Node's callback API (per page, the main thread
 * does one read call and no promise); pages marked in `filled` are there already. Settles
 * only when no read is running (the descriptor may be closed next).
 */
export function readScattered(
  fd: number,
  buf: Buffer,
  list: readonly number[],
  limit: number,
  filled?: Uint8Array,
): Promise<void> {
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
        if (filled?.[next]) {
          next++;
          continue;
        }
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
 * A small file whole, read ahead while other files were copied (or now), with how to
 * read a page of it again; undefined when it is gone, 'grown' when it is no longer small.
 */
export async function readSmall(
  space: SpaceInfo,
  f: SpaceFile,
  cache: SmallFileCache | undefined,
): Promise<(SmallFile & { reread: Reread }) | 'grown' | undefined> {
  const file = path.join(space.root, f.path);
  const small = await (cache?.take(f.path) ?? readSmallFile(file));
  if (small === undefined || small === 'grown') return small;
  const reread: Reread = async (into, offset) => {
    const fh = await fsp.open(file, 'r');
    try {
      return (await fh.read(into, 0, into.length, offset)).bytesRead;
    } finally {
      await fh.close();
    }
  };
  return { ...small, reread };
}
